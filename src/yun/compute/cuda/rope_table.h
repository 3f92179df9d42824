// RoPE frequency table on the host, as Hugging Face's ROPE_INIT_FUNCTIONS:
// default, linear, YaRN and Llama-3 scaling. (Dynamic NTK is treated as
// default: it only changes frequencies past original_max_position_embeddings.)
#pragma once

#include <vector>

#include "yun/model/config.h"

namespace yun::cuda {

struct RopeTable {
  std::vector<float> inv_freq;  // [head_dim / 2]
  float attention_scaling = 1.f;  // multiplies cos and sin (YaRN)
};

RopeTable compute_rope_table(const ModelConfig& config);

}  // namespace yun::cuda
