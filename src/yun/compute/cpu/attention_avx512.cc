// The avx512 attention path (see attention_kernels.h): 16 float lanes.
// Compiled for avx512 via the pragma below only; chosen at run time.
#include <immintrin.h>

#include <cstdint>

#include "yun/compute/cpu/attention_kernels.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#endif
// GCC 12 false positives inside avx512fintrin.h (its undefined-vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace yun::internal {
namespace {

using V = __m512;
constexpr int64_t kLanes = 16;
inline V vzero() { return _mm512_setzero_ps(); }
inline V vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V vset1(float f) { return _mm512_set1_ps(f); }
inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
inline float vhsum(V v) { return _mm512_reduce_add_ps(v); }
inline __m256 vfold256(V v) {
  return _mm256_add_ps(_mm512_castps512_ps256(v),
                       _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

// Ops first, then the body that uses it.
// clang-format off
#include "yun/compute/cpu/matmul_hsum8.inc"
#include "yun/compute/cpu/attention_simd_ops.inc"
#include "yun/compute/cpu/attention_impl.inc"
// clang-format on

}  // namespace

void attend_avx512(const AttendUnit& u) { attend_impl(u); }

}  // namespace yun::internal

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
