// ModelConfig: what yun needs from a Hugging Face model directory's
// config.json and generation_config.json, normalized across architectures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "yun/base/status.h"

namespace yun {

enum class Architecture { kQwen2, kQwen3, kQwen3Moe, kLlama, kQwen3_5, kQwen3_5Moe };

// RoPE frequency scaling, from `rope_scaling` (classic key) or
// `rope_parameters` (transformers 5). kNone for plain RoPE.
struct RopeScaling {
  enum class Type { kNone, kLinear, kDynamic, kYarn, kLlama3 } type = Type::kNone;
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;  // yarn, llama3, dynamic
  // yarn
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  std::optional<double> mscale;           // yarn: HF `mscale`
  std::optional<double> mscale_all_dim;   // yarn: HF `mscale_all_dim`
  std::optional<double> attention_factor; // yarn: overrides the computed one
  bool truncate = true;                   // yarn: HF `truncate` (default true)
  // llama3
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
};

struct ModelConfig {
  Architecture arch = Architecture::kQwen2;
  std::string architecture_name;  // as in config.json, e.g. "Qwen2ForCausalLM"
  std::string model_type;

  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;  // config's head_dim, else hidden_size / num_attention_heads
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // QKV bias (always on for qwen2; attention_bias for llama)
  bool attention_out_bias = false;  // o_proj bias (llama attention_bias)
  bool mlp_bias = false;            // llama mlp_bias
  bool qk_norm = false;             // qwen3, qwen3_moe

  // MoE (qwen3_moe). A layer i is sparse when num_experts > 0, i is not in
  // mlp_only_layers and (i + 1) % decoder_sparse_step == 0.
  int64_t num_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t moe_intermediate_size = 0;
  bool norm_topk_prob = false;
  int64_t decoder_sparse_step = 1;
  std::vector<int64_t> mlp_only_layers;
  bool is_moe_layer(int64_t layer) const;

  // Token ids from config.json, overridden by generation_config.json.
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // number or list in the files
  std::optional<int64_t> pad_token_id;

  // Sampling defaults from generation_config.json (absent fields stay empty).
  struct GenerationDefaults {
    std::optional<double> temperature, top_p, min_p, repetition_penalty;
    std::optional<int64_t> top_k, max_new_tokens;
    std::optional<bool> do_sample;
  } generation;

  // Qwen3.5 / 3.6 hybrids (Gated DeltaNet + gated full attention; see
  // tests/data/golden/QWEN3_5.md). layer_types: one per layer, true = full
  // attention (from `layer_types`, else `full_attention_interval`); empty
  // for the other architectures (every layer full attention).
  std::vector<bool> full_attention_layers;
  bool attn_output_gate = false;       // q_proj yields a gate per head
  double partial_rotary_factor = 1.0;  // rope on the first head_dim * this dims
  std::vector<int64_t> mrope_section;  // text-only: three equal streams = plain rope
  bool mrope_interleaved = false;
  int64_t linear_num_key_heads = 0, linear_key_head_dim = 0;
  int64_t linear_num_value_heads = 0, linear_value_head_dim = 0;
  int64_t linear_conv_kernel_dim = 0;
  int64_t shared_expert_intermediate_size = 0;  // 0: no shared expert
  int64_t mtp_num_hidden_layers = 0;  // MTP head layers (`mtp.*`; yun runs the first)
  bool is_full_attention_layer(int64_t layer) const {
    return full_attention_layers.empty() || full_attention_layers[size_t(layer)];
  }
  // Dimensions of each head that rope rotates (head_dim * partial_rotary_factor).
  int64_t rotary_dim() const { return int64_t(double(head_dim) * partial_rotary_factor) / 2 * 2; }

  int64_t q_size() const { return num_attention_heads * head_dim; }
  int64_t kv_size() const { return num_key_value_heads * head_dim; }
};

// Parses config.json text (and optional generation_config.json text, empty
// when absent). Errors: kInvalidArgument for bad JSON or missing/invalid
// fields (naming the field), kUnimplemented for an unsupported architecture
// (naming it).
Result<ModelConfig> parse_model_config(const std::string& config_json,
                                       const std::string& generation_config_json);

// Reads DIR/config.json and DIR/generation_config.json (optional); or, when
// the path is a GGUF file, its metadata (gguf_model_config, gguf_model.h).
Result<ModelConfig> load_model_config(const std::string& model_dir);

}  // namespace yun
