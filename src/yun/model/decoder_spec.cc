#include "yun/model/decoder_spec.h"

namespace yun {

namespace {

// The registry. Columns: name, arch, always_qkv_bias, qk_norm, llama_biases,
// moe, shared_expert, hybrid, zero_centred_norm, nested_text_config.
constexpr ArchitectureInfo kArchitectures[] = {
    {"Qwen2ForCausalLM", Architecture::kQwen2, true, false, false, false, false, false, false,
     false},
    {"Qwen3ForCausalLM", Architecture::kQwen3, false, true, false, false, false, false, false,
     false},
    // Qwen3-Embedding's checkpoints: the Qwen3 decoder without its LM head.
    {"Qwen3Model", Architecture::kQwen3, false, true, false, false, false, false, false, false},
    {"Qwen3MoeForCausalLM", Architecture::kQwen3Moe, false, true, false, true, false, false, false,
     false},
    {"LlamaForCausalLM", Architecture::kLlama, false, false, true, false, false, false, false,
     false},
    // Qwen3.5 / 3.6 (the vision-language checkpoints and the text-only class).
    {"Qwen3_5ForConditionalGeneration", Architecture::kQwen3_5, false, true, false, false, false,
     true, true, true},
    {"Qwen3_5ForCausalLM", Architecture::kQwen3_5, false, true, false, false, false, true, true,
     true},
    {"Qwen3_5MoeForConditionalGeneration", Architecture::kQwen3_5Moe, false, true, false, true,
     true, true, true, true},
    {"Qwen3_5MoeForCausalLM", Architecture::kQwen3_5Moe, false, true, false, true, true, true, true,
     true},
};

}  // namespace

const ArchitectureInfo* find_architecture(std::string_view name) {
  for (const ArchitectureInfo& a : kArchitectures)
    if (a.name == name) return &a;
  return nullptr;
}

const ArchitectureInfo& architecture_info(Architecture arch) {
  for (const ArchitectureInfo& a : kArchitectures)
    if (a.arch == arch) return a;
  return kArchitectures[0];
}

std::string supported_architectures() {
  std::string out;
  for (const ArchitectureInfo& a : kArchitectures) {
    if (!out.empty()) out += ", ";
    out += a.name;
  }
  return out;
}

int64_t DecoderSpec::num_full_attention_layers() const {
  int64_t n = 0;
  for (const LayerSpec& l : layers) n += l.mixer == MixerKind::kFullAttention;
  return n;
}

int64_t DecoderSpec::num_linear_attention_layers() const {
  return int64_t(layers.size()) - num_full_attention_layers();
}

size_t DecoderSpec::state_bytes_per_sequence() const {
  const int64_t per_layer = linear.conv_state_floats() + linear.recurrent_state_floats();
  return size_t(num_linear_attention_layers() * per_layer) * sizeof(float);
}

DecoderSpec build_decoder_spec(const ModelConfig& c) {
  const ArchitectureInfo* found = find_architecture(c.architecture_name);
  const ArchitectureInfo& info = found ? *found : architecture_info(c.arch);
  DecoderSpec d;
  d.norm = info.zero_centred_norm ? NormKind::kZeroCentred : NormKind::kPlain;
  d.attention.qkv_bias = c.attention_bias;
  d.attention.o_bias = c.attention_out_bias;
  d.attention.qk_norm = c.qk_norm;
  d.attention.output_gate = c.attn_output_gate;
  d.attention.rotary_fraction = c.partial_rotary_factor;
  d.attention.rotary_dim = c.rotary_dim();
  d.mlp_bias = c.mlp_bias;
  d.layers.resize(size_t(c.num_hidden_layers));
  int64_t full = 0, linear = 0;
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    LayerSpec& l = d.layers[size_t(i)];
    if (c.is_full_attention_layer(i)) {
      l.mixer = MixerKind::kFullAttention;
      l.mixer_index = full++;
    } else {
      l.mixer = MixerKind::kLinearAttention;
      l.mixer_index = linear++;
    }
    if (c.is_moe_layer(i))
      l.mlp = c.shared_expert_intermediate_size > 0 ? MlpKind::kMoeShared : MlpKind::kMoe;
  }
  if (linear > 0) {
    d.linear.num_key_heads = c.linear_num_key_heads;
    d.linear.key_head_dim = c.linear_key_head_dim;
    d.linear.num_value_heads = c.linear_num_value_heads;
    d.linear.value_head_dim = c.linear_value_head_dim;
    d.linear.conv_kernel = c.linear_conv_kernel_dim;
  }
  return d;
}

}  // namespace yun
