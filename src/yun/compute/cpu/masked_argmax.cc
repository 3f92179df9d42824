// masked_argmax_f32: per-lane running maxima (strict >, lanes start at -inf)
// over the 32 ids of each nonzero mask word, then the best lane (lowest id
// on ties); a partial last word in scalar. Same answer as the scalar loop.
#include "yun/compute/cpu/masked_argmax.h"

#include <immintrin.h>

#include <algorithm>

namespace yun {
namespace internal {

namespace {

constexpr float kNegInf = -__builtin_inff();

// The first allowed id below n, -1 when none.
int64_t first_allowed(int64_t n, const uint32_t* mask, size_t words) {
  for (size_t w = 0; w < words && int64_t(w) * 32 < n; ++w) {
    if (mask[w] == 0) continue;
    const int64_t t = int64_t(w) * 32 + __builtin_ctz(mask[w]);
    return t < n ? t : -1;
  }
  return -1;
}

// Ids [w * 32, n) of word w, in scalar, into (best, bv).
void scalar_word(const float* x, int64_t n, uint32_t bits, size_t w, int64_t* best, float* bv) {
  for (; bits; bits &= bits - 1) {
    const int64_t t = int64_t(w) * 32 + __builtin_ctz(bits);
    if (t >= n) break;
    if (x[t] > *bv) *bv = x[t], *best = t;
  }
}

// Words [from, words) below n, in scalar, into (best, bv).
void scalar_words(const float* x, int64_t n, const uint32_t* mask, size_t from, size_t words,
                  int64_t* best, float* bv) {
  for (size_t w = from; w < words && int64_t(w) * 32 < n; ++w) scalar_word(x, n, mask[w], w, best, bv);
}

// Lane results (val, idx; idx -1: never set) plus the scalar part -> answer.
int64_t finish(const float* val, const int32_t* idx, int lanes, int64_t best, float bv,
               int64_t n, const uint32_t* mask, size_t words) {
  for (int l = 0; l < lanes; ++l) {
    if (idx[l] < 0) continue;
    if (val[l] > bv || (val[l] == bv && idx[l] < best)) bv = val[l], best = idx[l];
  }
  return best >= 0 ? best : first_allowed(n, mask, words);
}

}  // namespace

int64_t masked_argmax_scalar(const float* x, int64_t n, const uint32_t* mask, size_t words) {
  int64_t best = -1;
  float bv = kNegInf;
  scalar_words(x, n, mask, 0, words, &best, &bv);
  return best >= 0 ? best : first_allowed(n, mask, words);
}

__attribute__((target("avx2"))) int64_t masked_argmax_avx2(const float* x, int64_t n,
                                                            const uint32_t* mask, size_t words) {
  if (n > INT32_MAX) return masked_argmax_scalar(x, n, mask, words);
  const size_t full = std::min(words, size_t(n / 32));  // words whose 32 ids are all < n
  __m256 best = _mm256_set1_ps(kNegInf);
  __m256i bidx = _mm256_set1_epi32(-1);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  for (size_t w = 0; w < full; ++w) {
    const uint32_t m = mask[w];
    if (m == 0) continue;
    for (int q = 0; q < 4; ++q) {
      const uint32_t m8 = (m >> (8 * q)) & 0xffu;
      if (m8 == 0) continue;
      const int32_t base = int32_t(w * 32) + 8 * q;
      const __m256i on = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(int32_t(m8)), bit), bit);
      const __m256 v = _mm256_loadu_ps(x + base);
      const __m256 gt = _mm256_and_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_castsi256_ps(on));
      best = _mm256_blendv_ps(best, v, gt);
      bidx = _mm256_blendv_epi8(bidx, _mm256_add_epi32(_mm256_set1_epi32(base), lane),
                                _mm256_castps_si256(gt));
    }
  }
  int64_t sbest = -1;
  float sbv = kNegInf;
  scalar_words(x, n, mask, full, words, &sbest, &sbv);
  alignas(32) float val[8];
  alignas(32) int32_t idx[8];
  _mm256_store_ps(val, best);
  _mm256_store_si256(reinterpret_cast<__m256i*>(idx), bidx);
  return finish(val, idx, 8, sbest, sbv, n, mask, words);
}

__attribute__((target("avx512f"))) int64_t masked_argmax_avx512(const float* x, int64_t n,
                                                                const uint32_t* mask, size_t words) {
  if (n > INT32_MAX) return masked_argmax_scalar(x, n, mask, words);
  const size_t full = std::min(words, size_t(n / 32));
  __m512 best = _mm512_set1_ps(kNegInf);
  __m512i bidx = _mm512_set1_epi32(-1);
  const __m512i lane =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (size_t w = 0; w < full; ++w) {
    const uint32_t m = mask[w];
    if (m == 0) continue;
    for (int h = 0; h < 2; ++h) {
      const __mmask16 m16 = __mmask16(m >> (16 * h));
      if (m16 == 0) continue;
      const int32_t base = int32_t(w * 32) + 16 * h;
      const __m512 v = _mm512_loadu_ps(x + base);
      const __mmask16 gt = _mm512_mask_cmp_ps_mask(m16, v, best, _CMP_GT_OQ);
      best = _mm512_mask_mov_ps(best, gt, v);
      bidx = _mm512_mask_mov_epi32(bidx, gt, _mm512_add_epi32(_mm512_set1_epi32(base), lane));
    }
  }
  int64_t sbest = -1;
  float sbv = kNegInf;
  scalar_words(x, n, mask, full, words, &sbest, &sbv);
  alignas(64) float val[16];
  alignas(64) int32_t idx[16];
  _mm512_store_ps(val, best);
  _mm512_store_si512(idx, bidx);
  return finish(val, idx, 16, sbest, sbv, n, mask, words);
}

int available_masked_argmax_paths(MaskedArgmaxPath* out, int max_out) {
  return isa_paths<MaskedArgmaxFn>(out, max_out, masked_argmax_avx512, masked_argmax_avx2,
                                   masked_argmax_scalar);
}

}  // namespace internal

int64_t masked_argmax_f32(const float* x, int64_t n, const uint32_t* mask, size_t words) {
  static const internal::MaskedArgmaxFn fn =
      internal::best_isa_path(internal::available_masked_argmax_paths);
  return n <= 0 ? -1 : fn(x, n, mask, words);
}

}  // namespace yun
