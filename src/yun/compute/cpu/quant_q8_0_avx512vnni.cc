// Q8_0 and Q4_0 x Q8_0 row kernels, AVX-512 VNNI (vpdpbusd on 256-bit registers, EVEX). Compiled for
// those features only (isa_begin.inc); chosen at run time (quant_kernels).
#include <immintrin.h>

#include <cstdint>

#include "yun/compute/cpu/quant_matmul.h"

#define YUN_ISA_TARGET "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
#include "yun/compute/cpu/isa_begin.inc"

namespace yun::internal {
namespace {

inline __m256i block_dot(__m256i aw, __m256i sx) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), aw, sx);
}

#include "yun/compute/cpu/quant_q8_0.inc"

}  // namespace

void q8_0_rows_avx512vnni(const QuantArgs& a, int64_t n0, int64_t n1) {
  q8_rows_body<WFmt::kQ8_0>(a, n0, n1);
}
void q4_0_rows_avx512vnni(const QuantArgs& a, int64_t n0, int64_t n1) {
  q8_rows_body<WFmt::kQ4_0>(a, n0, n1);
}

}  // namespace yun::internal

#include "yun/compute/cpu/isa_end.inc"
