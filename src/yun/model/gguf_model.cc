// GGUF metadata -> ModelConfig, GGUF tensor names -> Hugging Face names (see
// gguf_model.h). One name table serves both directions.
#include "yun/model/gguf_model.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "yun/model/weight_format.h"

namespace yun {
namespace {

using json = nlohmann::json;

struct ArchInfo {
  const char* gguf;
  const char* hf_arch;
  const char* model_type;
};
constexpr ArchInfo kArchs[] = {
    {"qwen2", "Qwen2ForCausalLM", "qwen2"},
    {"qwen3", "Qwen3ForCausalLM", "qwen3"},
    {"qwen3moe", "Qwen3MoeForCausalLM", "qwen3_moe"},
    {"llama", "LlamaForCausalLM", "llama"},
};

// Per-layer names: {GGUF suffix after "blk.N.", HF suffix after "model.layers.N."}.
struct LayerName {
  const char* gguf;
  const char* hf;
};
constexpr LayerName kLayerNames[] = {
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_q.bias", "self_attn.q_proj.bias"},
    {"attn_k.bias", "self_attn.k_proj.bias"},
    {"attn_v.bias", "self_attn.v_proj.bias"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"attn_output.bias", "self_attn.o_proj.bias"},
    {"attn_q_norm.weight", "self_attn.q_norm.weight"},
    {"attn_k_norm.weight", "self_attn.k_norm.weight"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
    {"ffn_gate.bias", "mlp.gate_proj.bias"},
    {"ffn_up.bias", "mlp.up_proj.bias"},
    {"ffn_down.bias", "mlp.down_proj.bias"},
    {"ffn_gate_inp.weight", "mlp.gate.weight"},
};
constexpr LayerName kGlobalNames[] = {
    {"token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm.weight", "model.norm.weight"},
    {"output.weight", "lm_head.weight"},
};

const ArchInfo* arch_by_gguf(const std::string& name) {
  for (auto& a : kArchs)
    if (name == a.gguf) return &a;
  return nullptr;
}

// "prefix" + N + "." + rest -> N and rest; false when s is not of that form.
bool split_layer(const std::string& s, const std::string& prefix, int64_t* n, std::string* rest) {
  if (s.compare(0, prefix.size(), prefix) != 0) return false;
  size_t i = prefix.size(), j = i;
  while (j < s.size() && j - i < 6 && s[j] >= '0' && s[j] <= '9') ++j;
  if (j == i || j >= s.size() || s[j] != '.') return false;
  *n = std::stoll(s.substr(i, j - i));
  *rest = s.substr(j + 1);
  return true;
}

std::string hf_name_of(const std::string& gguf) {
  for (auto& g : kGlobalNames)
    if (gguf == g.gguf) return g.hf;
  int64_t n;
  std::string rest;
  if (!split_layer(gguf, "blk.", &n, &rest)) return "";
  for (auto& l : kLayerNames)
    if (rest == l.gguf) return "model.layers." + std::to_string(n) + "." + l.hf;
  return "";
}

}  // namespace

const char* gguf_arch_name(const ModelConfig& c) {
  switch (c.arch) {
    case Architecture::kQwen2:
      return "qwen2";
    case Architecture::kQwen3:
      return "qwen3";
    case Architecture::kQwen3Moe:
      return "qwen3moe";
    case Architecture::kLlama:
      return "llama";
    case Architecture::kQwen3_5:
    case Architecture::kQwen3_5Moe:
      return "";
  }
  return "";
}

std::string gguf_tensor_name(const std::string& hf) {
  for (auto& g : kGlobalNames)
    if (hf == g.hf) return g.gguf;
  int64_t n;
  std::string rest;
  if (!split_layer(hf, "model.layers.", &n, &rest)) return "";
  for (auto& l : kLayerNames)
    if (rest == l.hf) return "blk." + std::to_string(n) + "." + l.gguf;
  return "";
}

std::string gguf_experts_name(int64_t layer, const std::string& which) {
  return "blk." + std::to_string(layer) + ".ffn_" + which + "_exps.weight";
}

std::vector<int64_t> llama_qk_row_order(int64_t rows, int64_t heads, bool to_gguf) {
  std::vector<int64_t> src(static_cast<size_t>(rows));
  const int64_t D = rows / heads, half = D / 2;
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < half; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t g = h * D + 2 * i + j, f = h * D + j * half + i;  // GGUF row g is HF row f
        if (to_gguf)
          src[size_t(g)] = f;
        else
          src[size_t(f)] = g;
      }
    }
  }
  return src;
}

Result<ModelConfig> gguf_model_config(const GgufFile& f) {
  auto arch_name = f.get_string("general.architecture");
  if (!arch_name) return invalid_argument(f.name() + ": no general.architecture");
  const ArchInfo* arch = arch_by_gguf(*arch_name);
  if (!arch)
    return unimplemented(f.name() + ": architecture '" + *arch_name +
                         "' is not supported (qwen2, qwen3, qwen3moe, llama)");
  const std::string a = *arch_name + ".";
  json j;
  j["architectures"] = {arch->hf_arch};
  j["model_type"] = arch->model_type;
  auto need_int = [&](const std::string& key, const char* field) -> Status {
    auto v = f.get_int(a + key);
    if (!v)
      return invalid_argument(f.name() + ": metadata " + a + key + " missing or not an integer");
    j[field] = *v;
    return Status::ok();
  };
  auto opt_int = [&](const std::string& key, const char* field) {
    if (auto v = f.get_int(key)) j[field] = *v;
  };
  YUN_RETURN_IF_ERROR(need_int("block_count", "num_hidden_layers"));
  YUN_RETURN_IF_ERROR(need_int("embedding_length", "hidden_size"));
  YUN_RETURN_IF_ERROR(need_int("attention.head_count", "num_attention_heads"));
  if (f.get_int(a + "attention.head_count_kv"))
    YUN_RETURN_IF_ERROR(need_int("attention.head_count_kv", "num_key_value_heads"));
  else
    j["num_key_value_heads"] = j["num_attention_heads"];
  opt_int(a + "attention.key_length", "head_dim");
  opt_int(a + "context_length", "max_position_embeddings");
  if (!j.contains("max_position_embeddings")) j["max_position_embeddings"] = 4096;
  opt_int(a + "feed_forward_length", "intermediate_size");
  if (auto v = f.get_float(a + "rope.freq_base")) j["rope_theta"] = *v;
  if (auto v = f.get_float(a + "attention.layer_norm_rms_epsilon")) j["rms_norm_eps"] = *v;
  // Vocabulary: the metadata, else the embedding's rows.
  if (auto v = f.get_int(a + "vocab_size")) {
    j["vocab_size"] = *v;
  } else if (const GgufTensor* e = f.find_tensor("token_embd.weight"); e && e->dims.size() == 2) {
    j["vocab_size"] = e->dims[1];
  } else {
    return invalid_argument(f.name() + ": no " + a + "vocab_size and no token_embd.weight");
  }
  j["tie_word_embeddings"] = f.find_tensor("output.weight") == nullptr;
  if (*arch_name == "llama") {
    j["attention_bias"] = f.find_tensor("blk.0.attn_q.bias") != nullptr;
    j["mlp_bias"] = f.find_tensor("blk.0.ffn_up.bias") != nullptr;
    if (f.find_tensor("rope_freqs.weight"))
      return unimplemented(f.name() + ": rope_freqs.weight (llama3 rope scaling) is not supported");
  }
  if (*arch_name == "qwen3moe") {
    YUN_RETURN_IF_ERROR(need_int("expert_count", "num_experts"));
    YUN_RETURN_IF_ERROR(need_int("expert_used_count", "num_experts_per_tok"));
    YUN_RETURN_IF_ERROR(need_int("expert_feed_forward_length", "moe_intermediate_size"));
    j["norm_topk_prob"] = true;  // llama.cpp normalizes qwen3moe's top-k weights
    j["decoder_sparse_step"] = 1;
  }
  if (auto t = f.get_string(a + "rope.scaling.type"); t && *t != "none") {
    json rs;
    rs["rope_type"] = *t;
    if (auto v = f.get_float(a + "rope.scaling.factor")) rs["factor"] = *v;
    if (auto v = f.get_int(a + "rope.scaling.original_context_length"))
      rs["original_max_position_embeddings"] = *v;
    j["rope_scaling"] = rs;
  }
  json gen = json::object();
  if (auto v = f.get_int("tokenizer.ggml.bos_token_id"))
    j["bos_token_id"] = gen["bos_token_id"] = *v;
  if (auto v = f.get_int("tokenizer.ggml.eos_token_id"))
    j["eos_token_id"] = gen["eos_token_id"] = *v;
  if (auto v = f.get_int("tokenizer.ggml.padding_token_id")) j["pad_token_id"] = *v;
  // Values are finite doubles and integers here, so dump() cannot throw.
  auto c = parse_model_config(j.dump(), "");
  if (!c.is_ok()) return c.status().with_context(f.name() + " (GGUF metadata)");
  return c;
}

Result<std::shared_ptr<GgufWeights>> GgufWeights::create(std::shared_ptr<GgufFile> file,
                                                         const ModelConfig& c) {
  auto w = std::shared_ptr<GgufWeights>(new GgufWeights());
  const bool llama = c.arch == Architecture::kLlama;
  for (const GgufTensor& t : file->tensors()) {
    int64_t layer;
    std::string rest;
    if (split_layer(t.name, "blk.", &layer, &rest) &&
        (rest == "ffn_gate_exps.weight" || rest == "ffn_up_exps.weight" ||
         rest == "ffn_down_exps.weight")) {
      if (t.view.shape.size() != 3)
        return invalid_argument(file->name() + ": tensor '" + t.name +
                                "' is not [experts, rows, cols]");
      const int64_t E = t.view.shape[0], R = t.view.shape[1], C = t.view.shape[2];
      const size_t bytes = t.view.nbytes / size_t(E);
      const std::string which = rest.substr(4, rest.find("_exps") - 4);
      for (int64_t e = 0; e < E; ++e) {
        TensorView v = t.view;
        v.shape = {R, C};
        v.data = static_cast<const uint8_t*>(t.view.data) + size_t(e) * bytes;
        v.nbytes = bytes;
        w->views_["model.layers." + std::to_string(layer) + ".mlp.experts." + std::to_string(e) +
                  "." + which + "_proj.weight"] = v;
      }
      continue;
    }
    const std::string hf = hf_name_of(t.name);
    if (hf.empty()) continue;  // tensors yun does not use
    TensorView v = t.view;
    if (llama && (rest == "attn_q.weight" || rest == "attn_k.weight" || rest == "attn_q.bias" ||
                  rest == "attn_k.bias")) {
      const int64_t heads = rest[5] == 'q' ? c.num_attention_heads : c.num_key_value_heads;
      const int64_t rows = v.shape[0];
      if (heads <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0)
        return invalid_argument(file->name() + ": tensor '" + t.name + "' rows do not split into " +
                                std::to_string(heads) + " heads");
      const size_t row_bytes = v.nbytes / size_t(rows);
      std::vector<uint8_t> out(v.nbytes);
      const std::vector<int64_t> src = llama_qk_row_order(rows, heads, false);
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(out.data() + size_t(r) * row_bytes,
                    static_cast<const uint8_t*>(v.data) + size_t(src[size_t(r)]) * row_bytes,
                    row_bytes);
      v.data = out.data();
      w->owned_.push_back(std::move(out));
    }
    w->views_[hf] = v;
  }
  w->file_ = std::move(file);
  return w;
}

const TensorView* GgufWeights::find(const std::string& name) const {
  auto it = views_.find(name);
  return it == views_.end() ? nullptr : &it->second;
}

std::vector<std::string> GgufWeights::names() const {
  std::vector<std::string> out;
  for (auto& kv : views_) out.push_back(kv.first);
  return out;
}

size_t GgufWeights::total_bytes() const {
  size_t n = 0;
  for (auto& t : file_->tensors()) n += t.view.nbytes;
  return n;
}

Result<GgufModel> open_gguf_model(const std::string& path, FileLoad load) {
  YUN_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> f, GgufFile::open(path, load));
  std::shared_ptr<GgufFile> file = std::move(f);
  GgufModel m;
  YUN_ASSIGN_OR_RETURN(m.config, gguf_model_config(*file));
  YUN_ASSIGN_OR_RETURN(m.weights, GgufWeights::create(file, m.config));
  return m;
}

}  // namespace yun
