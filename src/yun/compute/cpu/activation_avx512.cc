// The avx512 silu_mul path (see activation_kernels.h): 16 float lanes.
// Compiled for avx512 only (isa_begin.inc); chosen at run time.
#include <immintrin.h>

#include <cstdint>

#include "yun/compute/cpu/activation_kernels.h"

#define YUN_ISA_TARGET "avx512f,avx2,fma"
#include "yun/compute/cpu/isa_begin.inc"
// GCC 12 false positives inside avx512fintrin.h (its undefined-vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace yun::internal {
namespace {

#include "yun/compute/cpu/simd_avx512.inc"
#include "yun/compute/cpu/activation_impl.inc"

}  // namespace

void silu_mul_avx512(float* g, const float* u, int64_t n) { silu_mul_impl(g, u, n); }

}  // namespace yun::internal

#include "yun/compute/cpu/isa_end.inc"
