// Residual add + RMSNorm: one block per row, two passes over the row (the
// second from L1/L2). Memory-bound: ~12 bytes per element with the add.
#include "yun/compute/cuda/reduce.cuh"
#include "yun/compute/cuda/rms_norm.cuh"

namespace yun::cuda {
namespace {

__global__ void add_rms_norm_kernel(float* __restrict__ residual, const bf16* __restrict__ add,
                                    const bf16* __restrict__ weight, float eps,
                                    bf16* __restrict__ out, int64_t H) {
  const int64_t row = blockIdx.x;
  float* r = residual + row * H;
  float ss = 0.f;
  if (add != nullptr) {
    const bf16* a = add + row * H;
    for (int64_t i = threadIdx.x; i < H; i += blockDim.x) {
      float v = r[i] + __bfloat162float(a[i]);
      r[i] = v;
      ss += v * v;
    }
  } else {
    for (int64_t i = threadIdx.x; i < H; i += blockDim.x) ss += r[i] * r[i];
  }
  const float inv = rsqrtf(block_sum(ss) / float(H) + eps);
  bf16* o = out + row * H;
  for (int64_t i = threadIdx.x; i < H; i += blockDim.x)
    o[i] = __float2bfloat16(r[i] * inv * __bfloat162float(weight[i]));
}

}  // namespace

Status add_rms_norm(float* residual, const bf16* add, const bf16* weight, float eps, bf16* out,
                    int64_t T, int64_t H, cudaStream_t stream) {
  YUN_CUDA_REQUIRE(H > 0 && T >= 0 && residual && weight && out, "add_rms_norm");
  if (T == 0) return Status::ok();
  const int threads = H >= 2048 ? 512 : (H >= 512 ? 256 : 64);
  add_rms_norm_kernel<<<unsigned(T), threads, 0, stream>>>(residual, add, weight, eps, out, H);
  YUN_CUDA_CHECK_LAUNCH();
  return Status::ok();
}

}  // namespace yun::cuda
