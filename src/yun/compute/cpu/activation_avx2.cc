// The avx2 silu_mul path (see activation_kernels.h): 8 float lanes.
// Compiled for avx2 via the pragma below only; chosen at run time.
#include <immintrin.h>

#include <cstdint>

#include "yun/compute/cpu/activation_kernels.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace yun::internal {
namespace {

#include "yun/compute/cpu/simd_avx2.inc"
#include "yun/compute/cpu/activation_impl.inc"

}  // namespace

void silu_mul_avx2(float* g, const float* u, int64_t n) { silu_mul_impl(g, u, n); }

}  // namespace yun::internal

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
