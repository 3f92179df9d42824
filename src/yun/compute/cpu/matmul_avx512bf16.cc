// The bf16-activation matmul path (MatmulPrecision::kBF16, `--dtype bfloat16`):
// x is rounded to bf16 (round-to-nearest-even, vcvtneps2bf16) and multiplied
// with BF16 weights by vdpbf16ps, which does 32 bf16 products per 512-bit
// instruction into 16 float32 sums: twice the multiply-adds of the f32 FMA per
// instruction, with no bf16 -> f32 widening of W. Accumulation stays float32.
// Compiled for avx512bf16 only (isa_begin.inc); chosen at run time.
//
// One strategy for every M (callers use it for M > 4 only, where the products
// are compute bound; at M <= 4 the f32 path is already memory bound):
//  * x is converted once per call into a thread-local [M, Kp] bf16 copy (Kp =
//    K rounded up to 32, zero padded), shared by all jobs of a multi call;
//  * a register tile is kR rows of x times kC rows of W (24 zmm accumulators),
//    each a vector of partial sums over K, summed by hsum8 at the end;
//  * the threads split N; within its rows, a thread walks K in chunks of kKc
//    and W in blocks of ~256 KB (L2 resident), every kR-row strip of x
//    (kR * kKc * 2 bytes, L1 resident) passing over the block. y is
//    overwritten (+ bias) by the first K chunk and added to by the others.
// W rows are read in place (K need not be even: a row's pairs straddle rows
// when K is odd, which vdpbf16ps does not mind); the K % 32 tail is a masked
// load of W, so nothing past the row is ever read.
#include <immintrin.h>

#include <cstdint>

#include "yun/compute/cpu/matmul_kernels.h"

#define YUN_ISA_TARGET "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma"
#include "yun/compute/cpu/isa_begin.inc"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace yun::internal {
namespace {

#include "yun/compute/cpu/matmul_hsum8.inc"
#include "yun/compute/cpu/matmul_scratch.inc"
#include "yun/compute/cpu/simd_avx512.inc"

constexpr int kR = 3;          // x rows per tile
constexpr int kC = 8;          // W rows per tile
constexpr int64_t kStep = 32;  // bf16 elements per vdpbf16ps
constexpr int64_t kKc = 1024;  // K per pass (a multiple of kStep)
constexpr int64_t kMidM = 64;  // up to here, range_by_tile
constexpr int64_t kWBlockBytes = 256 << 10;

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

inline __m512bh as_bh(__m512i v) { return (__m512bh)v; }

thread_local GrowBuffer<uint16_t> tls_xb;  // x in bf16

// xb[m, :] = bf16(x[m, :]) padded with zeros to Kp (a multiple of 32).
void convert_x(const float* x, int64_t M, int64_t K, int64_t Kp, uint16_t* xb, ThreadPool& pool) {
  pool.parallel_for(
      M,
      [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
          const float* xr = x + m * K;
          uint16_t* br = xb + m * Kp;
          for (int64_t k = 0; k < Kp; k += 16) {
            const int64_t left = K - k;
            const __mmask16 mask =
                left >= 16 ? __mmask16(0xffff) : __mmask16(left > 0 ? (1u << left) - 1 : 0);
            __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, xr + k));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(br + k), (__m256i)h);
          }
        }
      },
      imax(1, 16384 / imax(1, K)));
}

// y[r, c] (+)= x[r, k0:k1] . W[n + c, k0:k1] for r < R, c < C. x: bf16 rows of
// stride ldx (zero padded past K); w: W's first row of the tile, stride K.
// pf: pf_n rows (pf, pf + pf_step, ...) whose [k0, k1) is prefetched into L1
// meanwhile, a cache line of each per step (see range_by_tile).
template <int R, int C>
inline void tile(const uint16_t* x, int64_t ldx, const uint16_t* w, int64_t K, int64_t k0,
                 int64_t k1, float* y, int64_t ldy, bool first, const float* bias,
                 const uint16_t* pf, int64_t pf_n, int64_t pf_step) {
  __m512 acc[C][R];
  for (int c = 0; c < C; ++c)
    for (int r = 0; r < R; ++r) acc[c][r] = _mm512_setzero_ps();
  int64_t k = k0;
  for (; k + kStep <= k1; k += kStep) {
    for (int64_t j = 0; j < pf_n; ++j)
      _mm_prefetch(reinterpret_cast<const char*>(pf + j * pf_step + k), _MM_HINT_T0);
    __m512i xv[R];
    for (int r = 0; r < R; ++r) xv[r] = _mm512_loadu_si512(x + r * ldx + k);
    for (int c = 0; c < C; ++c) {
      const __m512bh wv = as_bh(_mm512_loadu_si512(w + c * K + k));
      for (int r = 0; r < R; ++r) acc[c][r] = _mm512_dpbf16_ps(acc[c][r], as_bh(xv[r]), wv);
    }
  }
  if (k < k1) {  // the last K % 32 elements: W masked, x is zero padded
    const __mmask32 mask = __mmask32((uint64_t(1) << (k1 - k)) - 1);
    __m512i xv[R];
    for (int r = 0; r < R; ++r) xv[r] = _mm512_loadu_si512(x + r * ldx + k);
    for (int c = 0; c < C; ++c) {
      const __m512bh wv = as_bh(_mm512_maskz_loadu_epi16(mask, w + c * K + k));
      for (int r = 0; r < R; ++r) acc[c][r] = _mm512_dpbf16_ps(acc[c][r], as_bh(xv[r]), wv);
    }
  }
  for (int r = 0; r < R; ++r) {
    float s[C];
    if constexpr (C == 8) {
      __m256 h[8];
      for (int c = 0; c < 8; ++c) h[c] = vfold256(acc[c][r]);
      hsum8(h, s);
    } else {
      for (int c = 0; c < C; ++c) s[c] = _mm512_reduce_add_ps(acc[c][r]);
    }
    float* yr = y + r * ldy;
    for (int c = 0; c < C; ++c) yr[c] = (first ? (bias ? bias[c] : 0.0f) : yr[c]) + s[c];
  }
}

// Rows [m0, M) of x, kR (then 2, then 1) at a time, against the C rows of W
// at n, over [k0, k1). With S strips, strip s prefetches rows s, s + S, ... of
// `next` (C rows, null: none), so that all C rows come in however few strips.
template <int C>
inline void strips(const uint16_t* xb, int64_t Kp, int64_t M, const uint16_t* w, int64_t K,
                   int64_t k0, int64_t k1, int64_t n, float* y, int64_t N, bool first,
                   const float* bias, const uint16_t* next) {
  const float* b = bias ? bias + n : nullptr;
  const uint16_t* wn = w + n * K;
  const int64_t S = (M + kR - 1) / kR;
  auto pf_n = [&](int64_t s) { return next && s < C ? (C - s + S - 1) / S : 0; };
  const int64_t step = S * K;
  int64_t m = 0, s = 0;
  for (; m + kR <= M; m += kR, ++s)
    tile<kR, C>(xb + m * Kp, Kp, wn, K, k0, k1, y + m * N + n, N, first, b,
                next ? next + s * K : nullptr, pf_n(s), step);
  if (M - m == 2)
    tile<2, C>(xb + m * Kp, Kp, wn, K, k0, k1, y + m * N + n, N, first, b,
               next ? next + s * K : nullptr, pf_n(s), step);
  if (M - m == 1)
    tile<1, C>(xb + m * Kp, Kp, wn, K, k0, k1, y + m * N + n, N, first, b,
               next ? next + s * K : nullptr, pf_n(s), step);
}

// Rows [n0, n1) of y = xb · Wᵀ (+ bias), for few rows of x (M <= kMidM, batched
// decode): W comes from DRAM and is used M times, x (M * K * 2 bytes) sits in
// L2. One W tile (kC rows, L1 resident) at a time meets every strip of x, and
// while it does, the strips prefetch the next tile one row each, so that the
// DRAM stream overlaps the products instead of stalling the first strip.
void range_by_tile(const uint16_t* xb, int64_t Kp, int64_t M, const uint16_t* w, int64_t N,
                   int64_t K, float* y, const float* bias, int64_t n0, int64_t n1) {
  for (int64_t k0 = 0; k0 < K; k0 += kKc) {
    const int64_t k1 = imin(K, k0 + kKc);
    const bool first = k0 == 0;
    int64_t n = n0;
    for (; n + kC <= n1; n += kC) {
      const uint16_t* next = n + 2 * kC <= n1 ? w + (n + kC) * K : nullptr;
      strips<kC>(xb, Kp, M, w, K, k0, k1, n, y, N, first, bias, next);
    }
    for (; n < n1; ++n) strips<1>(xb, Kp, M, w, K, k0, k1, n, y, N, first, bias, nullptr);
  }
}

// The same for many rows of x (prefill): W in blocks of ~kWBlockBytes (L2
// resident), every kR-row strip of x (L1 resident) passing over a block.
void range_by_block(const uint16_t* xb, int64_t Kp, int64_t M, const uint16_t* w, int64_t N,
                    int64_t K, float* y, const float* bias, int64_t n0, int64_t n1) {
  for (int64_t k0 = 0; k0 < K; k0 += kKc) {
    const int64_t k1 = imin(K, k0 + kKc);
    const bool first = k0 == 0;
    const int64_t block = imax(kC, kWBlockBytes / ((k1 - k0) * 2) / kC * kC);
    for (int64_t nb = n0; nb < n1; nb += block) {
      const int64_t ne = imin(n1, nb + block);
      for (int64_t m = 0; m < M; m += kR) {
        const int64_t rows = imin(kR, M - m);
        const uint16_t* xm = xb + m * Kp;
        float* ym = y + m * N;
        int64_t n = nb;
        for (; n + kC <= ne; n += kC) {
          const float* b = bias ? bias + n : nullptr;
          if (rows == kR)
            tile<kR, kC>(xm, Kp, w + n * K, K, k0, k1, ym + n, N, first, b, nullptr, 0, 0);
          if (rows == 2)
            tile<2, kC>(xm, Kp, w + n * K, K, k0, k1, ym + n, N, first, b, nullptr, 0, 0);
          if (rows == 1)
            tile<1, kC>(xm, Kp, w + n * K, K, k0, k1, ym + n, N, first, b, nullptr, 0, 0);
        }
        for (; n < ne; ++n) {
          const float* b = bias ? bias + n : nullptr;
          if (rows == kR)
            tile<kR, 1>(xm, Kp, w + n * K, K, k0, k1, ym + n, N, first, b, nullptr, 0, 0);
          if (rows == 2)
            tile<2, 1>(xm, Kp, w + n * K, K, k0, k1, ym + n, N, first, b, nullptr, 0, 0);
          if (rows == 1)
            tile<1, 1>(xm, Kp, w + n * K, K, k0, k1, ym + n, N, first, b, nullptr, 0, 0);
        }
      }
    }
  }
}

void run_job(const uint16_t* xb, int64_t Kp, int64_t M, const WeightMatrix& W, float* y,
             const float* bias, ThreadPool& pool) {
  const int64_t N = W.rows, K = W.cols;
  const auto* w = static_cast<const uint16_t*>(W.data);
  const int64_t groups = (N + kC - 1) / kC;
  pool.parallel_for(
      groups,
      [&](int64_t g0, int64_t g1) {
        const int64_t n0 = g0 * kC, n1 = imin(N, g1 * kC);
        if (M <= kMidM) return range_by_tile(xb, Kp, M, w, N, K, y, bias, n0, n1);
        range_by_block(xb, Kp, M, w, N, K, y, bias, n0, n1);
      },
      imax(1, 1024 / K));
}

}  // namespace

void matmul_multi_avx512bf16(const float* x, int64_t M, const MatmulJob* jobs, int num_jobs,
                             ThreadPool& pool) {
  if (M <= 0 || num_jobs <= 0) return;
  const int64_t K = jobs[0].W.cols;
  if (K <= 0) {
    for (int i = 0; i < num_jobs; ++i)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < jobs[i].W.rows; ++n)
          jobs[i].y[m * jobs[i].W.rows + n] = jobs[i].bias ? jobs[i].bias[n] : 0.0f;
    return;
  }
  const int64_t Kp = (K + kStep - 1) / kStep * kStep;
  uint16_t* xb = tls_xb.get(M * Kp);
  convert_x(x, M, K, Kp, xb, pool);
  for (int i = 0; i < num_jobs; ++i)
    if (jobs[i].W.rows > 0) run_job(xb, Kp, M, jobs[i].W, jobs[i].y, jobs[i].bias, pool);
}

void matmul_avx512bf16(const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
                       const float* bias) {
  const MatmulJob job{W, y, bias};
  matmul_multi_avx512bf16(x, M, &job, 1, pool);
}

}  // namespace yun::internal

#include "yun/compute/cpu/isa_end.inc"
