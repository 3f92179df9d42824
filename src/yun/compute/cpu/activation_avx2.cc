// The avx2 silu_mul path (see activation_kernels.h): 8 float lanes.
// Compiled for avx2 only (isa_begin.inc); chosen at run time.
#include <immintrin.h>

#include <cstdint>

#include "yun/compute/cpu/activation_kernels.h"

#define YUN_ISA_TARGET "avx2,fma"
#include "yun/compute/cpu/isa_begin.inc"

namespace yun::internal {
namespace {

#include "yun/compute/cpu/simd_avx2.inc"
#include "yun/compute/cpu/activation_impl.inc"

}  // namespace

void silu_mul_avx2(float* g, const float* u, int64_t n) { silu_mul_impl(g, u, n); }

}  // namespace yun::internal

#include "yun/compute/cpu/isa_end.inc"
