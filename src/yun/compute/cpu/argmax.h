// Index of the largest float in a row (greedy sampling over a 150k-entry
// vocabulary runs once per sequence per step, on the engine thread).
#pragma once

#include <cstdint>

namespace yun {

// The first index of the maximum of x[0, n), as std::max_element: NaN never
// wins a comparison (a NaN at 0 stays the answer). n <= 0 gives 0.
// SIMD (AVX-512 or AVX2) where the CPU has it, chosen at run time.
int64_t argmax_f32(const float* x, int64_t n);

namespace internal {
int64_t argmax_scalar(const float* x, int64_t n);
int64_t argmax_avx2(const float* x, int64_t n);    // REQUIRES avx2
int64_t argmax_avx512(const float* x, int64_t n);  // REQUIRES avx512f
}  // namespace internal

}  // namespace yun
