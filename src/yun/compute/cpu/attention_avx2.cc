// The avx2 attention path (see attention_kernels.h): 8 float lanes.
// Compiled for avx2 only (isa_begin.inc); chosen at run time.
#include <immintrin.h>

#include <cstdint>

#include "yun/compute/cpu/attention_kernels.h"

#define YUN_ISA_TARGET "avx2,fma"
#include "yun/compute/cpu/isa_begin.inc"

namespace yun::internal {
namespace {

#include "yun/compute/cpu/simd_avx2.inc"

// Ops first, then the body that uses it.
// clang-format off
#include "yun/compute/cpu/matmul_hsum8.inc"
#include "yun/compute/cpu/attention_simd_ops.inc"
#include "yun/compute/cpu/attention_impl.inc"
// clang-format on

}  // namespace

void attend_avx2(const AttendUnit& u) { attend_impl(u); }

}  // namespace yun::internal

#include "yun/compute/cpu/isa_end.inc"
