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

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
