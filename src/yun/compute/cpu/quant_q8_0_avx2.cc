// Q8_0, Q4_0, Q5_0, Q4_K and Q6_K x Q8_0 row kernels, AVX2 (vpmaddubsw + vpmaddwd). Compiled for
// those features only (isa_begin.inc); chosen at run time (quant_kernels).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "yun/compute/cpu/quant_matmul.h"

#define YUN_ISA_TARGET "avx2,fma,f16c"
#include "yun/compute/cpu/isa_begin.inc"

namespace yun::internal {
namespace {

inline __m256i block_dot(__m256i aw, __m256i sx) {
  // vpmaddubsw: pairs to int16 (|w| <= 128, |x| <= 127: no saturation), then to int32.
  return _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), _mm256_set1_epi16(1));
}

#include "yun/compute/cpu/quant_q8_0.inc"
#include "yun/compute/cpu/quant_kq.inc"

}  // namespace

void q8_0_rows_avx2(const QuantArgs& a, int64_t n0, int64_t n1) {
  q8_rows_body<WFmt::kQ8_0>(a, n0, n1);
}
void q4_0_rows_avx2(const QuantArgs& a, int64_t n0, int64_t n1) {
  q8_rows_body<WFmt::kQ4_0>(a, n0, n1);
}

void q5_0_rows_avx2(const QuantArgs& a, int64_t n0, int64_t n1) {
  q8_rows_body<WFmt::kQ5_0>(a, n0, n1);
}
void q4_k_rows_avx2(const QuantArgs& a, int64_t n0, int64_t n1) {
  kq_rows_body<KFmt::kQ4_K>(a, n0, n1);
}
void q6_k_rows_avx2(const QuantArgs& a, int64_t n0, int64_t n1) {
  kq_rows_body<KFmt::kQ6_K>(a, n0, n1);
}

}  // namespace yun::internal

#include "yun/compute/cpu/isa_end.inc"
