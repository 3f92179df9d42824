#include "yun/model/gguf_export.h"

#include <cstring>
#include <deque>

#include "yun/model/gguf_model.h"
#include "yun/model/gguf_writer.h"
#include "yun/model/weight_format.h"

namespace yun {
namespace {

// llama.cpp's general.file_type for the format of most matrices.
uint32_t file_type(DType t) {
  switch (t) {
    case DType::kF32:
      return 0;
    case DType::kF16:
      return 1;
    case DType::kQ4_0:
      return 2;
    case DType::kQ8_0:
      return 7;
    case DType::kQ5_0:
      return 8;
    case DType::kQ4_K:
      return 15;  // MOSTLY_Q4_K_M
    case DType::kQ5_K:
      return 17;
    case DType::kQ6_K:
      return 18;
    default:
      return 32;  // BF16
  }
}

class Exporter {
 public:
  Exporter(const ModelConfig& c, GgufWriter& w) : c_(c), w_(w) {}

  // A vector as F32, or a matrix as it is (llama Q/K rows reordered).
  Status add(const std::string& hf_name, const TensorView& t) {
    if (t.empty()) return Status::ok();
    const std::string name = gguf_tensor_name(hf_name);
    if (name.empty()) return invalid_argument("gguf: no GGUF name for '" + hf_name + "'");
    if (t.shape.size() == 1) {
      std::vector<uint8_t>& buf = keep(size_t(t.numel()) * 4);
      weight_format(t.dtype)->row_to_float(t.data, reinterpret_cast<float*>(buf.data()), t.numel());
      YUN_RETURN_IF_ERROR(w_.add_tensor(name, DType::kF32, t.shape, buf.data(), buf.size()));
      return reorder_if_llama_qk(name, w_last_shape_rows(t), 4);
    }
    const void* data = t.data;
    if (is_llama_qk(name)) {
      const int64_t rows = t.shape[0];
      const size_t row_bytes = t.nbytes / size_t(rows);
      std::vector<uint8_t>& buf = keep(t.nbytes);
      const auto order = llama_qk_row_order(rows, heads(name), true);
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(buf.data() + size_t(r) * row_bytes,
                    static_cast<const uint8_t*>(t.data) + size_t(order[size_t(r)]) * row_bytes,
                    row_bytes);
      data = buf.data();
    }
    count(t.dtype);
    return w_.add_tensor(name, t.dtype, t.shape, data, t.nbytes);
  }

  // Experts of one layer stacked into one [E, rows, cols] tensor.
  Status add_experts(int64_t layer, const std::string& which, const std::vector<TensorView>& ex) {
    if (ex.empty()) return Status::ok();
    for (auto& e : ex)
      if (e.dtype != ex[0].dtype || e.nbytes != ex[0].nbytes)
        return invalid_argument("gguf: experts of layer " + std::to_string(layer) +
                                " differ in format");
    std::vector<uint8_t>& buf = keep(ex[0].nbytes * ex.size());
    for (size_t e = 0; e < ex.size(); ++e)
      std::memcpy(buf.data() + e * ex[0].nbytes, ex[e].data, ex[0].nbytes);
    count(ex[0].dtype);
    return w_.add_tensor(gguf_experts_name(layer, which), ex[0].dtype,
                         {int64_t(ex.size()), ex[0].shape[0], ex[0].shape[1]}, buf.data(),
                         buf.size());
  }

  // The format most matrices have.
  DType main_format() const {
    DType best = DType::kBF16;
    int64_t n = -1;
    for (auto& [t, k] : counts_)
      if (k > n) {
        best = t;
        n = k;
      }
    return best;
  }

 private:
  bool is_llama_qk(const std::string& name) const {
    if (c_.arch != Architecture::kLlama) return false;
    auto ends = [&](const char* s) {
      const size_t n = std::strlen(s);
      return name.size() >= n && name.compare(name.size() - n, n, s) == 0;
    };
    return ends(".attn_q.weight") || ends(".attn_k.weight") || ends(".attn_q.bias") ||
           ends(".attn_k.bias");
  }
  int64_t heads(const std::string& name) const {
    return name.find(".attn_q.") != std::string::npos ? c_.num_attention_heads
                                                      : c_.num_key_value_heads;
  }
  int64_t w_last_shape_rows(const TensorView& t) const { return t.shape[0]; }
  // Biases of llama Q/K: reorder the F32 copy just added.
  Status reorder_if_llama_qk(const std::string& name, int64_t rows, size_t elem) {
    if (!is_llama_qk(name)) return Status::ok();
    std::vector<uint8_t>& buf = bufs_.back();
    std::vector<uint8_t> src = buf;
    const auto order = llama_qk_row_order(rows, heads(name), true);
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(buf.data() + size_t(r) * elem, src.data() + size_t(order[size_t(r)]) * elem,
                  elem);
    return Status::ok();
  }
  std::vector<uint8_t>& keep(size_t n) {
    bufs_.emplace_back(n);
    return bufs_.back();
  }
  void count(DType t) {
    for (auto& [k, n] : counts_)
      if (k == t) {
        ++n;
        return;
      }
    counts_.push_back({t, 1});
  }

  const ModelConfig& c_;
  GgufWriter& w_;
  std::deque<std::vector<uint8_t>> bufs_;  // stable addresses until write()
  std::vector<std::pair<DType, int64_t>> counts_;
};

}  // namespace

void add_vocab_metadata(GgufWriter& g, const GgufVocab& v) {
  g.set_string("tokenizer.ggml.model", v.model);
  if (!v.pre.empty()) g.set_string("tokenizer.ggml.pre", v.pre);
  g.set_string_array("tokenizer.ggml.tokens", v.tokens);
  g.set_i32_array("tokenizer.ggml.token_type", v.types);
  g.set_string_array("tokenizer.ggml.merges", v.merges);
  if (v.bos) g.set_u32("tokenizer.ggml.bos_token_id", uint32_t(*v.bos));
  if (v.eos) g.set_u32("tokenizer.ggml.eos_token_id", uint32_t(*v.eos));
  if (v.pad) g.set_u32("tokenizer.ggml.padding_token_id", uint32_t(*v.pad));
  g.set_bool("tokenizer.ggml.add_bos_token", v.add_bos);
  if (!v.chat_template.empty()) g.set_string("tokenizer.chat_template", v.chat_template);
}

Status write_model_gguf(const ModelConfig& c, const ModelWeights& w, const GgufExportOptions& o,
                        const std::string& path) {
  if (*gguf_arch_name(c) == '\0')
    return unimplemented("GGUF export of " + c.architecture_name +
                         " is not supported (no GGUF tensor mapping for its layers)");
  GgufWriter g;
  const std::string a = std::string(gguf_arch_name(c)) + ".";
  Exporter ex(c, g);
  YUN_RETURN_IF_ERROR(ex.add("model.embed_tokens.weight", w.embed_tokens));
  YUN_RETURN_IF_ERROR(ex.add("model.norm.weight", w.final_norm));
  if (!c.tie_word_embeddings && w.lm_head.data != w.embed_tokens.data)
    YUN_RETURN_IF_ERROR(ex.add("lm_head.weight", w.lm_head));
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const LayerWeights& l = w.layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const std::pair<const char*, const TensorView*> named[] = {
        {"input_layernorm.weight", &l.input_norm},
        {"post_attention_layernorm.weight", &l.post_attention_norm},
        {"self_attn.q_proj.weight", &l.q_proj},
        {"self_attn.k_proj.weight", &l.k_proj},
        {"self_attn.v_proj.weight", &l.v_proj},
        {"self_attn.o_proj.weight", &l.o_proj},
        {"self_attn.q_proj.bias", &l.q_bias},
        {"self_attn.k_proj.bias", &l.k_bias},
        {"self_attn.v_proj.bias", &l.v_bias},
        {"self_attn.o_proj.bias", &l.o_bias},
        {"self_attn.q_norm.weight", &l.q_norm},
        {"self_attn.k_norm.weight", &l.k_norm},
        {"mlp.gate_proj.weight", &l.gate_proj},
        {"mlp.up_proj.weight", &l.up_proj},
        {"mlp.down_proj.weight", &l.down_proj},
        {"mlp.gate_proj.bias", &l.gate_bias},
        {"mlp.up_proj.bias", &l.up_bias},
        {"mlp.down_proj.bias", &l.down_bias},
        {"mlp.gate.weight", &l.router},
    };
    for (auto& [n, t] : named) YUN_RETURN_IF_ERROR(ex.add(p + n, *t));
    YUN_RETURN_IF_ERROR(ex.add_experts(int64_t(i), "gate", l.expert_gate));
    YUN_RETURN_IF_ERROR(ex.add_experts(int64_t(i), "up", l.expert_up));
    YUN_RETURN_IF_ERROR(ex.add_experts(int64_t(i), "down", l.expert_down));
  }

  g.set_string("general.architecture", gguf_arch_name(c));
  g.set_string("general.name", o.name.empty() ? c.architecture_name : o.name);
  g.set_u32("general.file_type", o.file_type.value_or(file_type(ex.main_format())));
  g.set_u32("general.quantization_version", 2);
  g.set_u32(a + "block_count", uint32_t(c.num_hidden_layers));
  g.set_u32(a + "context_length", uint32_t(c.max_position_embeddings));
  g.set_u32(a + "embedding_length", uint32_t(c.hidden_size));
  if (c.intermediate_size > 0) g.set_u32(a + "feed_forward_length", uint32_t(c.intermediate_size));
  g.set_u32(a + "attention.head_count", uint32_t(c.num_attention_heads));
  g.set_u32(a + "attention.head_count_kv", uint32_t(c.num_key_value_heads));
  g.set_u32(a + "attention.key_length", uint32_t(c.head_dim));
  g.set_u32(a + "attention.value_length", uint32_t(c.head_dim));
  g.set_f32(a + "rope.freq_base", float(c.rope_theta));
  g.set_f32(a + "attention.layer_norm_rms_epsilon", float(c.rms_norm_eps));
  g.set_u32(a + "vocab_size", uint32_t(c.vocab_size));
  if (c.arch == Architecture::kLlama) g.set_u32(a + "rope.dimension_count", uint32_t(c.head_dim));
  if (c.num_experts > 0) {
    g.set_u32(a + "expert_count", uint32_t(c.num_experts));
    g.set_u32(a + "expert_used_count", uint32_t(c.num_experts_per_tok));
    g.set_u32(a + "expert_feed_forward_length", uint32_t(c.moe_intermediate_size));
  }
  switch (c.rope_scaling.type) {
    case RopeScaling::Type::kNone:
      break;
    case RopeScaling::Type::kLinear:
    case RopeScaling::Type::kYarn:
      g.set_string(a + "rope.scaling.type",
                   c.rope_scaling.type == RopeScaling::Type::kLinear ? "linear" : "yarn");
      g.set_f32(a + "rope.scaling.factor", float(c.rope_scaling.factor));
      if (c.rope_scaling.original_max_position_embeddings > 0)
        g.set_u32(a + "rope.scaling.original_context_length",
                  uint32_t(c.rope_scaling.original_max_position_embeddings));
      break;
    default:
      return unimplemented("gguf: this model's rope scaling has no GGUF form yun writes");
  }
  if (o.vocab) {
    add_vocab_metadata(g, *o.vocab);
  } else {
    if (c.bos_token_id) g.set_u32("tokenizer.ggml.bos_token_id", uint32_t(*c.bos_token_id));
    if (!c.eos_token_ids.empty())
      g.set_u32("tokenizer.ggml.eos_token_id", uint32_t(c.eos_token_ids[0]));
  }
  return g.write(path);
}

}  // namespace yun
