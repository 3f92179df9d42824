// The avx2 attention path (see attention_kernels.h): 8 float lanes.
// Compiled for avx2 via the pragma below only; chosen at run time.
#include <immintrin.h>

#include <cstdint>

#include "yun/compute/cpu/attention_kernels.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace yun::internal {
namespace {

using V = __m256;
constexpr int64_t kLanes = 8;
inline V vzero() { return _mm256_setzero_ps(); }
inline V vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V vset1(float f) { return _mm256_set1_ps(f); }
inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
inline __m256 vfold256(V v) { return v; }
inline float vhsum(V v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// Ops first, then the body that uses it.
// clang-format off
#include "yun/compute/cpu/matmul_hsum8.inc"
#include "yun/compute/cpu/attention_simd_ops.inc"
#include "yun/compute/cpu/attention_impl.inc"
// clang-format on

}  // namespace

void attend_avx2(const AttendUnit& u) { attend_impl(u); }

}  // namespace yun::internal

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
