// Tiled prefill attention. Block = 4 warps over a tile of up to 16 rows
// (warp w owns rows 4w..4w+3) of one query head. Per K/V tile of 32 keys:
// lane j scores key j against the warp's 4 rows (K row from shared memory,
// query broadcast), a warp max/sum per row updates the running softmax, and
// each lane accumulates its output dims (d = lane + 32 i) from the P row
// broadcast through shared memory.
#include <cfloat>

#include "yun/compute/cuda/prefill_attention.cuh"
#include "yun/compute/cuda/reduce.cuh"

namespace yun::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kRowsPerWarp = kPrefillTileRows / kWarps;  // 4
constexpr int kKeys = 32;

template <int DPL>  // output dims per lane: head_dim <= 32 * DPL
__global__ void __launch_bounds__(kWarps * 32)
    prefill_attention_kernel(PagedAttentionArgs a, const int32_t* __restrict__ tiles) {
  extern __shared__ float smem[];
  const int hd = a.head_dim, kstride = hd + 1;
  float* Qs = smem;                                // [16][hd]
  float* Ks = Qs + kPrefillTileRows * hd;          // [32][hd + 1]
  float* Vs = Ks + kKeys * kstride;                // [32][hd]
  float* Ps = Vs + kKeys * hd;                     // [4 warps][4 rows][32]
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int first = tiles[2 * blockIdx.x], n_rows = tiles[2 * blockIdx.x + 1];
  const int qh = blockIdx.y;
  const int kvh = qh / (a.num_q_heads / a.num_kv_heads);
  const int32_t* bt = a.block_tables + int64_t(a.token_seq[first]) * a.bt_stride;

  for (int idx = threadIdx.x; idx < kPrefillTileRows * hd; idx += blockDim.x) {
    const int r = idx / hd, d = idx - r * hd;
    Qs[idx] = r < n_rows ? __bfloat162float(a.q[int64_t(first + r) * a.q_stride + int64_t(qh) * hd + d]) * a.scale : 0.f;
  }
  int pos[kRowsPerWarp];
  float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][DPL];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int row = warp * kRowsPerWarp + r;
    pos[r] = row < n_rows ? a.positions[first + row] : -1;  // -1: no keys (padding row)
    m[r] = -FLT_MAX;
    l[r] = 0.f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) acc[r][i] = 0.f;
  }
  const int n_keys = a.positions[first + n_rows - 1] + 1;
  float* P = Ps + warp * kRowsPerWarp * kKeys;

  for (int k0 = 0; k0 < n_keys; k0 += kKeys) {
    __syncthreads();  // previous tile fully consumed (and Qs written, first time)
    for (int idx = threadIdx.x; idx < kKeys * hd; idx += blockDim.x) {
      const int j = idx / hd, d = idx - j * hd;
      const int key = k0 + j;
      float kv = 0.f, vv = 0.f;
      if (key < n_keys) {
        const int64_t slot = int64_t(bt[key / a.block_size]) * a.block_size + key % a.block_size;
        const int64_t off = (slot * a.num_kv_heads + kvh) * hd + d;
        kv = __bfloat162float(a.k_cache[off]);
        vv = __bfloat162float(a.v_cache[off]);
      }
      Ks[j * kstride + d] = kv;
      Vs[j * hd + d] = vv;
    }
    __syncthreads();
    // Scores: lane = key.
    float s[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) s[r] = 0.f;
    const float* krow = Ks + lane * kstride;
    const float* q0 = Qs + (warp * kRowsPerWarp) * hd;
    for (int d = 0; d < hd; ++d) {
      const float kd = krow[d];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) s[r] += q0[r * hd + d] * kd;
    }
    const int key = k0 + lane;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const bool valid = key <= pos[r];
      const float tile_max = warp_max(valid ? s[r] : -FLT_MAX);
      const float m_new = fmaxf(m[r], tile_max);
      const float corr = __expf(m[r] - m_new);
      const float p = valid ? __expf(s[r] - m_new) : 0.f;
      l[r] = l[r] * corr + p;  // per-lane partial sum, reduced at the end
      m[r] = m_new;
#pragma unroll
      for (int i = 0; i < DPL; ++i) acc[r][i] *= corr;
      P[r * kKeys + lane] = p;
    }
    __syncwarp();
    const int jmax = min(kKeys, n_keys - k0);
    for (int j = 0; j < jmax; ++j) {
      float v[DPL];
#pragma unroll
      for (int i = 0; i < DPL; ++i) {
        const int d = lane + 32 * i;
        v[i] = d < hd ? Vs[j * hd + d] : 0.f;
      }
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float p = P[r * kKeys + j];
#pragma unroll
        for (int i = 0; i < DPL; ++i) acc[r][i] += p * v[i];
      }
    }
    __syncwarp();
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int row = warp * kRowsPerWarp + r;
    const float L = warp_sum(l[r]);
    if (row >= n_rows) continue;
    bf16* o = a.out + int64_t(first + row) * a.out_stride + int64_t(qh) * hd;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      if (d < hd) o[d] = __float2bfloat16(L > 0.f ? acc[r][i] / L : 0.f);
    }
  }
}

template <int DPL>
Status launch(const PagedAttentionArgs& a, const int32_t* tiles, int64_t num_tiles, cudaStream_t stream) {
  const size_t smem = (size_t(kPrefillTileRows) * a.head_dim + size_t(kKeys) * (a.head_dim + 1) +
                       size_t(kKeys) * a.head_dim + size_t(kWarps) * kRowsPerWarp * kKeys) * sizeof(float);
  if (smem > 48 * 1024) {
    YUN_CUDA_CHECK(cudaFuncSetAttribute(prefill_attention_kernel<DPL>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  }
  prefill_attention_kernel<DPL><<<dim3(unsigned(num_tiles), unsigned(a.num_q_heads)), kWarps * 32, smem, stream>>>(a, tiles);
  YUN_CUDA_CHECK_LAUNCH();
  return Status::ok();
}

}  // namespace

Status prefill_attention(const PagedAttentionArgs& a, const int32_t* tiles, int64_t num_tiles,
                         cudaStream_t stream) {
  const char* op = "prefill_attention";
  YUN_CUDA_REQUIRE(a.head_dim > 0 && a.head_dim <= 256, op);
  YUN_CUDA_REQUIRE(a.num_kv_heads > 0 && a.num_q_heads % a.num_kv_heads == 0, op);
  YUN_CUDA_REQUIRE(a.block_size > 0 && a.bt_stride > 0 && num_tiles >= 0, op);
  YUN_CUDA_REQUIRE(a.q_stride >= int64_t(a.num_q_heads) * a.head_dim, op);
  YUN_CUDA_REQUIRE(a.out_stride >= int64_t(a.num_q_heads) * a.head_dim, op);
  YUN_CUDA_REQUIRE(a.q && a.k_cache && a.v_cache && a.positions && a.token_seq && a.block_tables && a.out && tiles, op);
  if (num_tiles == 0) return Status::ok();
  if (a.head_dim <= 32) return launch<1>(a, tiles, num_tiles, stream);
  if (a.head_dim <= 64) return launch<2>(a, tiles, num_tiles, stream);
  if (a.head_dim <= 128) return launch<4>(a, tiles, num_tiles, stream);
  return launch<8>(a, tiles, num_tiles, stream);
}

}  // namespace yun::cuda
