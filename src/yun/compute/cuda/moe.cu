// MoE routing (one warp per token) and weighted combination (one block per token).
#include <cfloat>

#include "yun/compute/cuda/moe.cuh"
#include "yun/compute/cuda/reduce.cuh"

namespace yun::cuda {
namespace {

constexpr int kRouteWarps = 4;

__global__ void moe_route_kernel(const float* __restrict__ logits, int64_t T, int E, int k,
                                 bool renorm, int32_t* __restrict__ ids, float* __restrict__ w) {
  extern __shared__ float probs_all[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t t = int64_t(blockIdx.x) * kRouteWarps + warp;
  if (t >= T) return;
  float* p = probs_all + warp * E;
  const float* l = logits + t * E;
  float mx = -FLT_MAX;
  for (int e = lane; e < E; e += 32) mx = fmaxf(mx, l[e]);
  mx = warp_max(mx);
  float sum = 0.f;
  for (int e = lane; e < E; e += 32) {
    float v = expf(l[e] - mx);
    p[e] = v;
    sum += v;
  }
  sum = warp_sum(sum);
  __syncwarp();
  float chosen_sum = 0.f;
  for (int j = 0; j < k; ++j) {
    float best = -1.f;
    int best_e = E;
    for (int e = lane; e < E; e += 32) {
      float v = p[e];
      if (v > best || (v == best && e < best_e)) best = v, best_e = e;
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      float ov = __shfl_xor_sync(0xffffffffu, best, o);
      int oe = __shfl_xor_sync(0xffffffffu, best_e, o);
      if (ov > best || (ov == best && oe < best_e)) best = ov, best_e = oe;
    }
    if (lane == 0) {
      ids[t * k + j] = best_e;
      w[t * k + j] = best / sum;
      p[best_e] = -2.f;  // taken
    }
    chosen_sum += best / sum;
    __syncwarp();
  }
  if (renorm && lane < k) w[t * k + lane] /= chosen_sum;
}

__global__ void moe_combine_kernel(const bf16* __restrict__ out, int64_t n_rows,
                                   const int32_t* __restrict__ rows, const float* __restrict__ w,
                                   int k, int64_t H, float* __restrict__ residual) {
  const int64_t t = blockIdx.x;
  for (int64_t i = threadIdx.x; i < H; i += blockDim.x) {
    float acc = 0.f;
    for (int j = 0; j < k; ++j) {
      const int64_t r = rows[t * k + j];
      if (r >= 0 && r < n_rows) acc += w[t * k + j] * __bfloat162float(out[r * H + i]);
    }
    residual[t * H + i] += acc;
  }
}

}  // namespace

Status moe_route(const float* router_logits, int64_t T, int E, int k, bool renormalize,
                 int32_t* topk_ids, float* topk_w, cudaStream_t stream) {
  YUN_CUDA_REQUIRE(k >= 1 && k <= E && E <= 1024 && k <= 32 && T >= 0, "moe_route");
  if (T == 0) return Status::ok();
  const size_t smem = size_t(kRouteWarps) * E * sizeof(float);
  moe_route_kernel<<<unsigned(ceil_div(T, kRouteWarps)), 32 * kRouteWarps, smem, stream>>>(
      router_logits, T, E, k, renormalize, topk_ids, topk_w);
  YUN_CUDA_CHECK_LAUNCH();
  return Status::ok();
}

Status moe_combine(const bf16* expert_out, int64_t n_rows, const int32_t* rows,
                   const float* topk_w, int64_t T, int k, int64_t H, float* residual,
                   cudaStream_t stream) {
  YUN_CUDA_REQUIRE(k >= 1 && H > 0 && T >= 0, "moe_combine");
  if (T == 0) return Status::ok();
  moe_combine_kernel<<<unsigned(T), H >= 1024 ? 256 : 64, 0, stream>>>(expert_out, n_rows, rows,
                                                                       topk_w, k, H, residual);
  YUN_CUDA_CHECK_LAUNCH();
  return Status::ok();
}

}  // namespace yun::cuda
