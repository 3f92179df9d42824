// argmax_f32: per-lane running maxima and their indices (strict >, so each
// lane keeps its first maximum; lanes start at -inf, index 0), then the best
// lane, lowest index on ties; the n % lanes tail in scalar. Same answer as
// the scalar loop, NaNs included.
#include "yun/compute/cpu/argmax.h"

#include <immintrin.h>

#include "yun/base/cpu_features.h"

namespace yun {
namespace internal {

int64_t argmax_scalar(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

namespace {

// Lane results -> the first index of the maximum, then the scalar tail from i.
int64_t finish(const float* val, const int32_t* idx, int lanes, const float* x, int64_t n,
               int64_t i) {
  int64_t best = idx[0];
  float bv = val[0];
  for (int l = 1; l < lanes; ++l)
    if (val[l] > bv || (val[l] == bv && idx[l] < best)) {
      bv = val[l];
      best = idx[l];
    }
  if (!(x[0] == x[0])) return 0;  // NaN first: max_element keeps it
  for (; i < n; ++i)
    if (x[i] > bv) {
      bv = x[i];
      best = i;
    }
  return best;
}

}  // namespace

__attribute__((target("avx2"))) int64_t argmax_avx2(const float* x, int64_t n) {
  if (n < 16 || n > INT32_MAX) return argmax_scalar(x, n);
  // Lanes start at -inf with index 0, so that a NaN never enters them.
  __m256 best = _mm256_set1_ps(-__builtin_inff());
  __m256i bidx = _mm256_setzero_si256();
  __m256i cur = _mm256_setr_epi32(-8, -7, -6, -5, -4, -3, -2, -1);
  const __m256i step = _mm256_set1_epi32(8);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    cur = _mm256_add_epi32(cur, step);
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 gt = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, v, gt);
    bidx = _mm256_blendv_epi8(bidx, cur, _mm256_castps_si256(gt));
  }
  alignas(32) float val[8];
  alignas(32) int32_t idx[8];
  _mm256_store_ps(val, best);
  _mm256_store_si256(reinterpret_cast<__m256i*>(idx), bidx);
  return finish(val, idx, 8, x, n, i);
}

__attribute__((target("avx512f"))) int64_t argmax_avx512(const float* x, int64_t n) {
  if (n < 32 || n > INT32_MAX) return argmax_scalar(x, n);
  __m512 best = _mm512_set1_ps(-__builtin_inff());
  __m512i bidx = _mm512_setzero_si512();
  __m512i cur =
      _mm512_setr_epi32(-16, -15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1);
  const __m512i step = _mm512_set1_epi32(16);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    cur = _mm512_add_epi32(cur, step);
    const __m512 v = _mm512_loadu_ps(x + i);
    const __mmask16 gt = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
    best = _mm512_mask_mov_ps(best, gt, v);
    bidx = _mm512_mask_mov_epi32(bidx, gt, cur);
  }
  alignas(64) float val[16];
  alignas(64) int32_t idx[16];
  _mm512_store_ps(val, best);
  _mm512_store_si512(idx, bidx);
  return finish(val, idx, 16, x, n, i);
}

}  // namespace internal

int64_t argmax_f32(const float* x, int64_t n) {
  using Fn = int64_t (*)(const float*, int64_t);
  static const Fn fn = [] {
    const CpuFeatures& f = cpu_features();
    if (f.avx512f) return Fn(internal::argmax_avx512);
    if (f.avx2) return Fn(internal::argmax_avx2);
    return Fn(internal::argmax_scalar);
  }();
  return n <= 0 ? 0 : fn(x, n);
}

}  // namespace yun
