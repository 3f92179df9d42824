// The avx512 attention path (see attention_kernels.h): 16 float lanes.
// Compiled for avx512 only (isa_begin.inc); chosen at run time.
#include <immintrin.h>

#include <cstdint>

#include "yun/compute/cpu/attention_kernels.h"

#define YUN_ISA_TARGET "avx512f,avx2,fma"
#include "yun/compute/cpu/isa_begin.inc"
// GCC 12 false positives inside avx512fintrin.h (its undefined-vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace yun::internal {
namespace {

#include "yun/compute/cpu/simd_avx512.inc"

// Ops first, then the body that uses it.
// clang-format off
#include "yun/compute/cpu/matmul_hsum8.inc"
#include "yun/compute/cpu/attention_simd_ops.inc"
#include "yun/compute/cpu/attention_impl.inc"
// clang-format on

}  // namespace

void attend_avx512(const AttendUnit& u) { attend_impl(u); }

}  // namespace yun::internal

#include "yun/compute/cpu/isa_end.inc"
