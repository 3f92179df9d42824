// silu(g) * u, grid-stride over T*I elements; memory-bound (6 bytes/element).
#include "yun/compute/cuda/silu_mul.cuh"

namespace yun::cuda {
namespace {

__global__ void silu_mul_kernel(const bf16* __restrict__ gu, bf16* __restrict__ out, int64_t T,
                                int64_t I) {
  const int64_t n = T * I;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < n;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = idx / I, i = idx - t * I;
    const float g = __bfloat162float(gu[t * 2 * I + i]);
    const float u = __bfloat162float(gu[t * 2 * I + I + i]);
    out[idx] = __float2bfloat16(g / (1.f + __expf(-g)) * u);
  }
}

}  // namespace

Status silu_mul(const bf16* gate_up, bf16* out, int64_t T, int64_t I, cudaStream_t stream) {
  YUN_CUDA_REQUIRE(T >= 0 && I > 0, "silu_mul");
  if (T == 0) return Status::ok();
  const int64_t n = T * I;
  int64_t blocks = ceil_div(n, 256);
  if (blocks > 65535) blocks = 65535;
  silu_mul_kernel<<<unsigned(blocks), 256, 0, stream>>>(gate_up, out, T, I);
  YUN_CUDA_CHECK_LAUNCH();
  return Status::ok();
}

}  // namespace yun::cuda
