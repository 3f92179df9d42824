// Per-ISA paths of silu_mul (activation.h), each compiled in its own .cc
// with a target pragma; silu_mul picks the best one with cpu_features().
// Tests call each path this machine can run against silu_mul_scalar.
#pragma once

#include <cstdint>

#include "yun/compute/cpu/isa_paths.h"

namespace yun::internal {

using SiluMulFn = void (*)(float* g, const float* u, int64_t n);

// The float32 reference: std::exp, one element at a time.
void silu_mul_scalar(float* g, const float* u, int64_t n);
void silu_mul_avx2(float* g, const float* u, int64_t n);    // REQUIRES avx2+fma
void silu_mul_avx512(float* g, const float* u, int64_t n);  // REQUIRES avx512f

using SiluMulPath = IsaPath<SiluMulFn>;
// Paths this CPU can run, best first (honours YUN_CPU_LIMIT).
int available_silu_mul_paths(SiluMulPath* out, int max_out);

}  // namespace yun::internal
