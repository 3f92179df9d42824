// RoPE frequency table, one for every backend: inv_freq as transformers'
// ROPE_INIT_FUNCTIONS compute it for default, linear, dynamic (NTK), yarn and
// llama3 scaling, and `attention_scale` (yarn's attention factor, which
// multiplies cos and sin). The CPU runner (compute/cpu/rope.h) and the CUDA
// runner (compute/cuda/rope.cuh) both take it from here.
#pragma once

#include <cstdint>
#include <vector>

#include "yun/model/config.h"

namespace yun {

struct RopeFreqs {
  std::vector<float>
      inv_freq;  // [rotary_dim / 2] (ModelConfig::rotary_dim(): head_dim unless partial)
  float attention_scale = 1.0f;
};

// inv_freq for `config`. `seq_len` only matters for dynamic scaling (the
// sequence length seen so far; 0 = not past max_position_embeddings): the
// table then depends on the sequence, and a runner that keeps one table (the
// CUDA runner) must refuse contexts past max_position_embeddings.
RopeFreqs compute_rope_freqs(const ModelConfig& config, int64_t seq_len = 0);

// Whether compute_rope_freqs(config, seq_len) differs from
// compute_rope_freqs(config) for some seq_len (dynamic NTK scaling).
inline bool rope_depends_on_length(const ModelConfig& config) {
  return config.rope_scaling.type == RopeScaling::Type::kDynamic;
}

}  // namespace yun
