// AVX-512 (F/BW/VL) matmul path: 16 f32 lanes, 32 vector registers.
// Compiled for avx512 via the pragma below only; chosen at run time.
// Large-M register tile: 12 rows x 32 columns = 24 zmm accumulators.
#include <immintrin.h>

#include <cstdint>

#include "yun/compute/cpu/matmul_kernels.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")
#endif
// GCC 12 false positives inside avx512fintrin.h (its undefined-vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace yun::internal {
namespace {

using V = __m512;
constexpr int kLanes = 16;
constexpr int kNumRegs = 32;
constexpr int kMaxDotRows = 4;
constexpr int kSmallM = 4;  // M > 4: the mid-M tiles measured faster (M=8: down 0.63 vs 1.1 ms)
constexpr int kMR = 12;
constexpr int kDR = 3;  // mid-M tile: 3 x rows by 8 W rows (24 accumulators)
constexpr int kDC = 8;
constexpr int kMidM = 64;

inline V vzero() { return _mm512_setzero_ps(); }
inline V vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
inline V vbcast(const float* p) { return _mm512_set1_ps(*p); }
inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
inline float vreduce(V v) { return _mm512_reduce_add_ps(v); }
inline V vload_bf16(const uint16_t* p) {
  __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}
inline V vload_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
// 2*kLanes bf16 at p: even-indexed elements (as f32) to `even`, odd to `odd`.
inline void vload_bf16_pairs(const uint16_t* p, V& even, V& odd) {
  __m512i u = _mm512_loadu_si512(p);
  even = _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
  odd = _mm512_castsi512_ps(_mm512_and_si512(u, _mm512_set1_epi32(int(0xffff0000u))));
}
// out[c] = sum of the lanes of a[c], c < 8.
inline void vreduce8(const V* a, float* out) {
  __m256 h[8];
  for (int c = 0; c < 8; ++c)
    h[c] = _mm256_add_ps(_mm512_castps512_ps256(a[c]),
                         _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a[c]), 1)));
  __m256 s01 = _mm256_hadd_ps(h[0], h[1]), s23 = _mm256_hadd_ps(h[2], h[3]);
  __m256 s45 = _mm256_hadd_ps(h[4], h[5]), s67 = _mm256_hadd_ps(h[6], h[7]);
  __m256 s0123 = _mm256_hadd_ps(s01, s23), s4567 = _mm256_hadd_ps(s45, s67);
  __m256 lo = _mm256_permute2f128_ps(s0123, s4567, 0x20);
  __m256 hi = _mm256_permute2f128_ps(s0123, s4567, 0x31);
  _mm256_storeu_ps(out, _mm256_add_ps(lo, hi));
}

#include "yun/compute/cpu/matmul_simd.inc"

}  // namespace

void matmul_avx512(const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
                   const float* bias) {
  run_matmul(x, M, W, y, pool, bias);
}

void matmul_multi_avx512(const float* x, int64_t M, const MatmulJob* jobs, int num_jobs,
                       ThreadPool& pool) {
  run_matmul_multi(x, M, jobs, num_jobs, pool);
}

}  // namespace yun::internal

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
