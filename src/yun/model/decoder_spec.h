// DecoderSpec: one description of a decoder, built from its ModelConfig, that
// every runner reads instead of guessing from which tensors a checkpoint
// holds. Per layer: the token mixer (full attention or Gated DeltaNet linear
// attention) and the MLP (dense, MoE, MoE with a shared expert); per model:
// the norm kind (plain `w * x_hat` or zero-centred `(1 + w) * x_hat`) and the
// attention flags (q/k/v bias, o_proj bias, q/k norm, output gate, rotary
// fraction), plus the linear-attention shapes.
//
// The architecture registry maps config.json's `architectures[0]` to the
// family's fixed flags; a cousin that differs only in flags is one row of
// the table in decoder_spec.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "yun/model/config.h"

namespace yun {

enum class MixerKind { kFullAttention, kLinearAttention };
enum class MlpKind { kDense, kMoe, kMoeShared };
enum class NormKind { kPlain, kZeroCentred };

// One row of the registry: what an architecture fixes, whatever the config.
struct ArchitectureInfo {
  std::string_view name;  // config.json architectures[0]
  Architecture arch;
  bool always_qkv_bias;     // qwen2: q/k/v bias on, no config switch
  bool qk_norm;             // per-head RMSNorm of q and k before rope
  bool llama_biases;        // attention_bias also biases o_proj; mlp_bias read
  bool moe;                 // sparse MLP layers (num_experts ...)
  bool shared_expert;       // MoE layers add a sigmoid-gated shared expert
  bool hybrid;              // layer_types / linear_attention layers (Qwen3.5)
  bool zero_centred_norm;   // RMSNorm weights stored centred on 0
  bool nested_text_config;  // fields may sit under text_config
};

// The row for `name`, or nullptr when yun does not support it.
const ArchitectureInfo* find_architecture(std::string_view name);
// The row for `arch` (the first with that enum), never null.
const ArchitectureInfo& architecture_info(Architecture arch);
// "Qwen2ForCausalLM, Qwen3ForCausalLM, ..." for error messages.
std::string supported_architectures();

struct AttentionFlags {
  bool qkv_bias = false;
  bool o_bias = false;
  bool qk_norm = false;
  bool output_gate = false;  // q_proj yields [query, gate] per head; out *= sigmoid(gate)
  double rotary_fraction = 1.0;
  int64_t rotary_dim = 0;  // head_dim * rotary_fraction (even)
};

struct LinearAttentionShape {
  int64_t num_key_heads = 0, key_head_dim = 0;
  int64_t num_value_heads = 0, value_head_dim = 0;
  int64_t conv_kernel = 0;
  int64_t conv_channels() const {
    return 2 * num_key_heads * key_head_dim + num_value_heads * value_head_dim;
  }
  int64_t value_size() const { return num_value_heads * value_head_dim; }
  // float32 values one sequence's state holds for one layer.
  int64_t conv_state_floats() const { return (conv_kernel - 1) * conv_channels(); }
  int64_t recurrent_state_floats() const { return num_value_heads * key_head_dim * value_head_dim; }
};

struct LayerSpec {
  MixerKind mixer = MixerKind::kFullAttention;
  MlpKind mlp = MlpKind::kDense;
  // Index among the layers of the same mixer kind (KV cache layer for full
  // attention, state layer for linear attention).
  int64_t mixer_index = 0;
};

struct DecoderSpec {
  NormKind norm = NormKind::kPlain;
  AttentionFlags attention;
  bool mlp_bias = false;
  LinearAttentionShape linear;  // zero when no layer is linear
  std::vector<LayerSpec> layers;

  int64_t num_full_attention_layers() const;
  int64_t num_linear_attention_layers() const;
  bool has_recurrent_state() const { return num_linear_attention_layers() > 0; }
  // float32 bytes of one sequence's recurrent state (conv + delta-rule
  // state over every linear layer); 0 without linear layers.
  size_t state_bytes_per_sequence() const;
};

// The description of `config` (parse_model_config has validated it).
DecoderSpec build_decoder_spec(const ModelConfig& config);

}  // namespace yun
