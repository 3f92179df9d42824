// RoPE (+ optional q/k RMSNorm): one block per token, one warp per head.
#include "yun/compute/cuda/reduce.cuh"
#include "yun/compute/cuda/rope.cuh"

namespace yun::cuda {
namespace {

__global__ void rope_kernel(bf16* __restrict__ qkv, int64_t stride, int nq, int nkv, int hd,
                            const int32_t* __restrict__ positions,
                            const float* __restrict__ inv_freq, float attn_scaling,
                            const bf16* __restrict__ q_norm, const bf16* __restrict__ k_norm,
                            float eps) {
  const int64_t t = blockIdx.x;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  const float pos = float(positions[t]);
  const int half = hd / 2;
  for (int h = warp; h < nq + nkv; h += nwarps) {
    bf16* x = qkv + t * stride + int64_t(h) * hd;
    const bf16* nw = h < nq ? q_norm : k_norm;
    float inv = 1.f;
    if (nw != nullptr) {
      float ss = 0.f;
      for (int i = lane; i < hd; i += 32) {
        float v = __bfloat162float(x[i]);
        ss += v * v;
      }
      inv = rsqrtf(warp_sum(ss) / float(hd) + eps);  // the shuffles order reads before writes
    }
    for (int i = lane; i < half; i += 32) {
      float x1 = __bfloat162float(x[i]), x2 = __bfloat162float(x[i + half]);
      if (nw != nullptr) {
        x1 = x1 * inv * __bfloat162float(nw[i]);
        x2 = x2 * inv * __bfloat162float(nw[i + half]);
      }
      float s, c;
      sincosf(pos * inv_freq[i], &s, &c);
      c *= attn_scaling;
      s *= attn_scaling;
      x[i] = __float2bfloat16(x1 * c - x2 * s);
      x[i + half] = __float2bfloat16(x2 * c + x1 * s);
    }
  }
}

}  // namespace

Status rope_qk(bf16* qkv, int64_t T, int64_t stride, int nq, int nkv, int head_dim,
               const int32_t* positions, const float* inv_freq, float attn_scaling,
               const bf16* q_norm, const bf16* k_norm, float eps, cudaStream_t stream) {
  YUN_CUDA_REQUIRE(head_dim > 0 && head_dim % 2 == 0 && nq > 0 && nkv >= 0 && T >= 0, "rope_qk");
  YUN_CUDA_REQUIRE(stride >= int64_t(nq + nkv) * head_dim, "rope_qk");
  if (T == 0) return Status::ok();
  const int warps = (nq + nkv) < 8 ? (nq + nkv) : 8;
  rope_kernel<<<unsigned(T), 32 * warps, 0, stream>>>(qkv, stride, nq, nkv, head_dim, positions,
                                                      inv_freq, attn_scaling, q_norm, k_norm, eps);
  YUN_CUDA_CHECK_LAUNCH();
  return Status::ok();
}

}  // namespace yun::cuda
