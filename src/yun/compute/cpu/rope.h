// Rotary position embedding as Hugging Face Qwen2/Qwen3/Llama apply it
// ("rotate_half" / neox style: element i pairs with i + head_dim/2).
//
// inv_freq follows transformers' ROPE_INIT_FUNCTIONS for default, linear,
// dynamic (NTK), yarn and llama3; `attention_scale` (yarn's attention factor)
// multiplies cos and sin.
#pragma once

#include <cstdint>
#include <vector>

#include "yun/model/config.h"

namespace yun {

struct RopeFreqs {
  std::vector<float> inv_freq;  // [head_dim / 2]
  float attention_scale = 1.0f;
};

// inv_freq for `config`. `seq_len` only matters for dynamic scaling (the
// sequence length seen so far; 0 = not past max_position_embeddings).
RopeFreqs compute_rope_freqs(const ModelConfig& config, int64_t seq_len = 0);

// cos/sin of one position: cos_out/sin_out hold head_dim/2 floats each,
// already multiplied by attention_scale. The angle is pos * inv_freq in
// float32, as HF computes it.
void rope_cos_sin(const RopeFreqs& f, int64_t pos, float* cos_out, float* sin_out);

// Rotates `num_heads` heads of `head_dim` floats at `x` (contiguous) in place.
void apply_rope(float* x, int64_t num_heads, int64_t head_dim, const float* cos_v,
                const float* sin_v);

}  // namespace yun
