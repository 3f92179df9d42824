// Greedy under an allowed-token mask without copying the row: the argmax of
// x over the ids a bitmask allows (a grammar's mask, allowed_token_ids). Per
// constrained row and step, this replaces "copy 151,936 logits, set the
// disallowed ones to -inf, argmax" with one read of the row and the mask.
#pragma once

#include <cstddef>
#include <cstdint>

#include "yun/compute/cpu/isa_paths.h"

namespace yun {

// The first id t in [0, n) with bit t % 32 of mask[t / 32] set (ids at or
// past words * 32 are not allowed) whose x[t] is the largest of the allowed
// (strict >, so the lowest id wins ties; NaN never wins). When no allowed
// value is above -inf (all -inf or NaN): the first allowed id. -1 when no
// id is allowed. Whenever some allowed value is finite and none is NaN, this
// is argmax_f32 of the row with the disallowed entries set to -inf.
// SIMD (AVX-512 or AVX2) where the CPU has it, chosen at run time; all-zero
// mask words are skipped without reading the row.
int64_t masked_argmax_f32(const float* x, int64_t n, const uint32_t* mask, size_t words);

namespace internal {
using MaskedArgmaxFn = int64_t (*)(const float*, int64_t, const uint32_t*, size_t);
int64_t masked_argmax_scalar(const float* x, int64_t n, const uint32_t* mask, size_t words);
int64_t masked_argmax_avx2(const float* x, int64_t n, const uint32_t* mask, size_t words);    // REQUIRES avx2
int64_t masked_argmax_avx512(const float* x, int64_t n, const uint32_t* mask, size_t words);  // REQUIRES avx512f

using MaskedArgmaxPath = IsaPath<MaskedArgmaxFn>;
// Paths this CPU can run, best first (honours YUN_CPU_LIMIT).
int available_masked_argmax_paths(MaskedArgmaxPath* out, int max_out);
}  // namespace internal

}  // namespace yun
