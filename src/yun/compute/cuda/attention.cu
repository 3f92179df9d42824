// Paged attention kernel. Each warp walks every 4th key of its split; lane l
// owns dims l, l+32, ... of the head; per key one warp-reduced dot product per
// query head, then an online-softmax update. Warps (and splits) are merged
// with their running max / sum at the end.
#include <cfloat>

#include "yun/compute/cuda/attention.cuh"
#include "yun/compute/cuda/reduce.cuh"

namespace yun::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxGroup = 8;  // query heads per block

template <int DPL>  // dims per lane: head_dim <= 32 * DPL
__global__ void __launch_bounds__(kWarps * 32)
    paged_attention_kernel(PagedAttentionArgs a, int group_chunks) {
  extern __shared__ float smem[];  // [kWarps][kMaxGroup][head_dim] acc, then m, l
  const int hd = a.head_dim;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t t = blockIdx.x;
  const int kvh = blockIdx.y / group_chunks, gc = blockIdx.y % group_chunks;
  const int group = a.num_q_heads / a.num_kv_heads;
  const int h0 = kvh * group + gc * kMaxGroup;
  const int ng = min(kMaxGroup, group - gc * kMaxGroup);
  const int split = blockIdx.z;

  const int nkeys = a.positions[t] + 1;
  const int chunk = (nkeys + a.num_splits - 1) / a.num_splits;
  const int kbegin = split * chunk;
  const int kend = min(nkeys, kbegin + chunk);
  const int32_t* bt = a.block_tables + int64_t(a.token_seq[t]) * a.bt_stride;

  float q[kMaxGroup][DPL];
  float acc[kMaxGroup][DPL];
  float m[kMaxGroup], l[kMaxGroup];
#pragma unroll
  for (int h = 0; h < kMaxGroup; ++h) {
    m[h] = -FLT_MAX;
    l[h] = 0.f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      acc[h][i] = 0.f;
      q[h][i] = (h < ng && d < hd)
                    ? __bfloat162float(a.q[t * a.q_stride + int64_t(h0 + h) * hd + d]) * a.scale
                    : 0.f;
    }
  }

  for (int j = kbegin + warp; j < kend; j += kWarps) {
    const int64_t slot = int64_t(bt[j / a.block_size]) * a.block_size + j % a.block_size;
    const int64_t base = (slot * a.num_kv_heads + kvh) * hd;
    float k[DPL], v[DPL];
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      k[i] = d < hd ? __bfloat162float(a.k_cache[base + d]) : 0.f;
      v[i] = d < hd ? __bfloat162float(a.v_cache[base + d]) : 0.f;
    }
#pragma unroll
    for (int h = 0; h < kMaxGroup; ++h) {
      if (h < ng) {
        float s = 0.f;
#pragma unroll
        for (int i = 0; i < DPL; ++i) s += q[h][i] * k[i];
        s = warp_sum(s);
        const float m_new = fmaxf(m[h], s);
        const float corr = __expf(m[h] - m_new);
        const float p = __expf(s - m_new);
        l[h] = l[h] * corr + p;
#pragma unroll
        for (int i = 0; i < DPL; ++i) acc[h][i] = acc[h][i] * corr + p * v[i];
        m[h] = m_new;
      }
    }
  }

  // Merge the warps.
  float* s_acc = smem;                                  // [kWarps][kMaxGroup][hd]
  float* s_m = smem + kWarps * kMaxGroup * hd;          // [kWarps][kMaxGroup]
  float* s_l = s_m + kWarps * kMaxGroup;                // [kWarps][kMaxGroup]
#pragma unroll
  for (int h = 0; h < kMaxGroup; ++h) {
    if (h < ng) {
#pragma unroll
      for (int i = 0; i < DPL; ++i) {
        const int d = lane + 32 * i;
        if (d < hd) s_acc[(warp * kMaxGroup + h) * hd + d] = acc[h][i];
      }
      if (lane == 0) {
        s_m[warp * kMaxGroup + h] = l[h] > 0.f ? m[h] : -FLT_MAX;
        s_l[warp * kMaxGroup + h] = l[h];
      }
    }
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < ng * hd; idx += blockDim.x) {
    const int h = idx / hd, d = idx - h * hd;
    float M = -FLT_MAX;
    for (int w = 0; w < kWarps; ++w)
      if (s_l[w * kMaxGroup + h] > 0.f) M = fmaxf(M, s_m[w * kMaxGroup + h]);
    float L = 0.f, A = 0.f;
    for (int w = 0; w < kWarps; ++w) {
      const float lw = s_l[w * kMaxGroup + h];
      if (lw > 0.f) {
        const float c = __expf(s_m[w * kMaxGroup + h] - M);
        L += lw * c;
        A += s_acc[(w * kMaxGroup + h) * hd + d] * c;
      }
    }
    const int qh = h0 + h;
    if (a.num_splits == 1) {
      a.out[t * a.out_stride + int64_t(qh) * hd + d] = __float2bfloat16(L > 0.f ? A / L : 0.f);
    } else {
      // workspace: acc [T, nq, splits, hd], then (m, l) [T, nq, splits, 2]
      const int64_t rec = (t * a.num_q_heads + qh) * a.num_splits + split;
      a.workspace[rec * hd + d] = A;
      if (d == 0) {
        float* ml = a.workspace + a.T * a.num_q_heads * a.num_splits * hd;
        ml[rec * 2] = M;
        ml[rec * 2 + 1] = L;
      }
    }
  }
}

__global__ void combine_splits_kernel(PagedAttentionArgs a) {
  const int64_t t = blockIdx.x;
  const int qh = blockIdx.y;
  const int hd = a.head_dim, S = a.num_splits;
  const float* ml = a.workspace + a.T * a.num_q_heads * S * hd;
  const int64_t rec0 = (t * a.num_q_heads + qh) * S;
  float M = -FLT_MAX;
  for (int s = 0; s < S; ++s)
    if (ml[(rec0 + s) * 2 + 1] > 0.f) M = fmaxf(M, ml[(rec0 + s) * 2]);
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    float L = 0.f, A = 0.f;
    for (int s = 0; s < S; ++s) {
      const float ls = ml[(rec0 + s) * 2 + 1];
      if (ls > 0.f) {
        const float c = __expf(ml[(rec0 + s) * 2] - M);
        L += ls * c;
        A += a.workspace[(rec0 + s) * hd + d] * c;
      }
    }
    a.out[t * a.out_stride + int64_t(qh) * hd + d] = __float2bfloat16(L > 0.f ? A / L : 0.f);
  }
}

}  // namespace

int64_t attention_workspace_floats(int64_t T, int num_q_heads, int head_dim, int num_splits) {
  if (num_splits <= 1) return 0;
  return T * num_q_heads * num_splits * (int64_t(head_dim) + 2);
}

Status paged_attention(const PagedAttentionArgs& a, cudaStream_t stream) {
  const char* op = "paged_attention";
  YUN_CUDA_REQUIRE(a.head_dim > 0 && a.head_dim <= 256, op);
  YUN_CUDA_REQUIRE(a.num_kv_heads > 0 && a.num_q_heads % a.num_kv_heads == 0, op);
  YUN_CUDA_REQUIRE(a.block_size > 0 && a.bt_stride > 0 && a.T >= 0, op);
  YUN_CUDA_REQUIRE(a.q_stride >= int64_t(a.num_q_heads) * a.head_dim, op);
  YUN_CUDA_REQUIRE(a.out_stride >= int64_t(a.num_q_heads) * a.head_dim, op);
  YUN_CUDA_REQUIRE(a.num_splits >= 1 && a.num_splits <= 64, op);
  YUN_CUDA_REQUIRE(a.num_splits == 1 || a.workspace != nullptr, op);
  YUN_CUDA_REQUIRE(a.q && a.k_cache && a.v_cache && a.positions && a.token_seq && a.block_tables && a.out, op);
  if (a.T == 0) return Status::ok();
  const int group = a.num_q_heads / a.num_kv_heads;
  const int chunks = (group + kMaxGroup - 1) / kMaxGroup;
  const dim3 grid(unsigned(a.T), unsigned(a.num_kv_heads * chunks), unsigned(a.num_splits));
  const size_t smem = (size_t(kWarps) * kMaxGroup * a.head_dim + 2 * kWarps * kMaxGroup) * sizeof(float);
  if (a.head_dim <= 32) {
    paged_attention_kernel<1><<<grid, kWarps * 32, smem, stream>>>(a, chunks);
  } else if (a.head_dim <= 64) {
    paged_attention_kernel<2><<<grid, kWarps * 32, smem, stream>>>(a, chunks);
  } else if (a.head_dim <= 128) {
    paged_attention_kernel<4><<<grid, kWarps * 32, smem, stream>>>(a, chunks);
  } else {
    paged_attention_kernel<8><<<grid, kWarps * 32, smem, stream>>>(a, chunks);
  }
  YUN_CUDA_CHECK_LAUNCH();
  if (a.num_splits > 1) {
    combine_splits_kernel<<<dim3(unsigned(a.T), unsigned(a.num_q_heads)), 64, 0, stream>>>(a);
    YUN_CUDA_CHECK_LAUNCH();
  }
  return Status::ok();
}

}  // namespace yun::cuda
