// Rotary position embedding as Hugging Face Qwen2/Qwen3/Llama apply it
// ("rotate_half" / neox style: element i pairs with i + head_dim/2), on the
// CPU. The frequency table comes from compute/rope_freqs.h.
#pragma once

#include <cstdint>
#include <vector>

#include "yun/compute/rope_freqs.h"

namespace yun {

// cos/sin of one position: cos_out/sin_out hold head_dim/2 floats each,
// already multiplied by attention_scale. The angle is pos * inv_freq in
// float32, as HF computes it.
void rope_cos_sin(const RopeFreqs& f, int64_t pos, float* cos_out, float* sin_out);

// Rotates `num_heads` heads of `head_dim` floats at `x` (contiguous) in place.
void apply_rope(float* x, int64_t num_heads, int64_t head_dim, const float* cos_v,
                const float* sin_v);

// Partial rotary (Qwen3.5): rotates only the first `rotary_dim` floats of
// each head (pairs i, i + rotary_dim/2); the rest pass through. cos/sin hold
// rotary_dim/2 floats. apply_rope is the case rotary_dim == head_dim.
void apply_rope_partial(float* x, int64_t num_heads, int64_t head_dim, int64_t rotary_dim,
                        const float* cos_v, const float* sin_v);

}  // namespace yun
