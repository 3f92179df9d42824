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

struct Ops {
  static float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }
  // Two independent partial sums, then the tail in scalar.
  static float dot(const float* a, const float* b, int64_t n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 2 * 16 <= n; i += 2 * 16) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), a1);
    }
    for (; i + 16 <= n; i += 16)
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), a0);
    float s = hsum(_mm512_add_ps(a0, a1));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
  }
  static void axpy(float w, const float* x, float* y, int64_t n) {
    const __m512 wv = _mm512_set1_ps(w);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
      _mm512_storeu_ps(y + i, _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += w * x[i];
  }
};

#include "yun/compute/cpu/attention_impl.inc"

}  // namespace

void attend_avx512(const AttendUnit& u) { attend_impl(u); }

}  // namespace yun::internal

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
