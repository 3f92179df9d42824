// Parsing of Hugging Face config.json / generation_config.json into ModelConfig.
// Every field is read through a typed helper that names the field on error;
// nlohmann exceptions never leave this file.
#include "yun/model/config.h"

#include <cmath>
#include <exception>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "yun/base/json_limits.h"
#include "yun/base/mapped_file.h"
#include "yun/model/decoder_spec.h"
#include "yun/model/gguf_model.h"

namespace yun {

using json = nlohmann::json;

bool ModelConfig::is_moe_layer(int64_t layer) const {
  if (num_experts <= 0) return false;
  for (auto l : mlp_only_layers)
    if (l == layer) return false;
  return decoder_sparse_step > 0 && (layer + 1) % decoder_sparse_step == 0;
}

namespace {

// Thrown inside this file only; turned into a Status at the API edge.
struct FieldError {
  Status status;
};

[[noreturn]] void fail(const std::string& field, const std::string& what) {
  throw FieldError{invalid_argument("config field '" + field + "': " + what)};
}

const json* get(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<int64_t> opt_int(const json& obj, const char* key) {
  const json* v = get(obj, key);
  if (!v) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return int64_t(d);
  }
  fail(key, "expected an integer");
}

std::optional<double> opt_double(const json& obj, const char* key) {
  const json* v = get(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) fail(key, "expected a number");
  double d = v->get<double>();
  if (!std::isfinite(d)) fail(key, "not finite");
  return d;
}

std::optional<bool> opt_bool(const json& obj, const char* key) {
  const json* v = get(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) fail(key, "expected true or false");
  return v->get<bool>();
}

int64_t req_pos_int(const json& obj, const char* key) {
  auto v = opt_int(obj, key);
  if (!v) fail(key, "missing");
  if (*v <= 0) fail(key, "must be positive");
  return *v;
}

std::vector<int64_t> int_or_list(const json& obj, const char* key) {
  const json* v = get(obj, key);
  std::vector<int64_t> out;
  if (!v) return out;
  if (v->is_array()) {
    for (auto& e : *v) {
      if (!e.is_number_integer()) fail(key, "expected integers");
      out.push_back(e.get<int64_t>());
    }
  } else if (v->is_number_integer()) {
    out.push_back(v->get<int64_t>());
  } else {
    fail(key, "expected an integer or a list of integers");
  }
  return out;
}

void parse_rope(const json& rs, const std::string& where, ModelConfig& c) {
  if (!rs.is_object()) fail(where, "expected an object");
  if (auto t = opt_double(rs, "rope_theta")) c.rope_theta = *t;
  if (auto f = opt_double(rs, "partial_rotary_factor")) c.partial_rotary_factor = *f;
  if (get(rs, "mrope_section")) c.mrope_section = int_or_list(rs, "mrope_section");
  if (auto v = opt_bool(rs, "mrope_interleaved")) c.mrope_interleaved = *v;
  std::string type;
  const json* tv = get(rs, "rope_type");
  if (!tv) tv = get(rs, "type");
  if (tv) {
    if (!tv->is_string()) fail(where + ".rope_type", "expected a string");
    type = tv->get<std::string>();
  }
  RopeScaling& r = c.rope_scaling;
  r = RopeScaling{};
  if (type.empty() || type == "default") return;
  if (type == "linear") {
    r.type = RopeScaling::Type::kLinear;
  } else if (type == "dynamic") {
    r.type = RopeScaling::Type::kDynamic;
  } else if (type == "yarn") {
    r.type = RopeScaling::Type::kYarn;
  } else if (type == "llama3") {
    r.type = RopeScaling::Type::kLlama3;
  } else {
    fail(where + ".rope_type", "unsupported rope scaling type '" + type + "'");
  }
  auto factor = opt_double(rs, "factor");
  auto orig = opt_int(rs, "original_max_position_embeddings");
  if (orig && *orig <= 0) fail(where + ".original_max_position_embeddings", "must be positive");
  r.original_max_position_embeddings = orig ? *orig : c.max_position_embeddings;
  if (factor) {
    r.factor = *factor;
  } else if (r.type == RopeScaling::Type::kYarn && orig && *orig > 0) {
    // HF: without a factor, YaRN uses max_position_embeddings / original.
    r.factor = double(c.max_position_embeddings) / double(*orig);
  } else {
    fail(where + ".factor", "missing");
  }
  if (!(r.factor > 0)) fail(where + ".factor", "must be positive");
  if (auto v = opt_double(rs, "beta_fast")) r.beta_fast = *v;
  if (auto v = opt_double(rs, "beta_slow")) r.beta_slow = *v;
  r.mscale = opt_double(rs, "mscale");
  r.mscale_all_dim = opt_double(rs, "mscale_all_dim");
  r.attention_factor = opt_double(rs, "attention_factor");
  if (auto v = opt_bool(rs, "truncate")) r.truncate = *v;
  if (auto v = opt_double(rs, "low_freq_factor")) r.low_freq_factor = *v;
  if (auto v = opt_double(rs, "high_freq_factor")) r.high_freq_factor = *v;
  if (r.type == RopeScaling::Type::kLlama3) {
    if (r.original_max_position_embeddings <= 0)
      fail(where + ".original_max_position_embeddings", "missing");
    if (!(r.high_freq_factor > r.low_freq_factor) || !(r.low_freq_factor > 0))
      fail(where + ".low_freq_factor", "needs 0 < low_freq_factor < high_freq_factor");
  }
}

// Qwen3.5 / 3.6: layer pattern, Gated DeltaNet shapes, gated attention.
void parse_hybrid(const json& j, ModelConfig& c) {
  c.attn_output_gate = opt_bool(j, "attn_output_gate").value_or(true);
  const int64_t n = c.num_hidden_layers;
  c.full_attention_layers.assign(size_t(n), false);
  if (const json* lt = get(j, "layer_types")) {
    if (!lt->is_array() || int64_t(lt->size()) != n)
      fail("layer_types", "expected a list of num_hidden_layers strings");
    for (int64_t i = 0; i < n; ++i) {
      const json& e = (*lt)[size_t(i)];
      if (e == "full_attention") {
        c.full_attention_layers[size_t(i)] = true;
      } else if (e != "linear_attention") {
        fail("layer_types", "expected \"full_attention\" or \"linear_attention\"");
      }
    }
  } else {
    const int64_t every = opt_int(j, "full_attention_interval").value_or(4);
    if (every <= 0) fail("full_attention_interval", "must be positive");
    for (int64_t i = 0; i < n; ++i) c.full_attention_layers[size_t(i)] = (i + 1) % every == 0;
  }
  bool any_linear = false;
  for (bool full : c.full_attention_layers) any_linear |= !full;
  if (!any_linear) return;
  c.linear_num_key_heads = req_pos_int(j, "linear_num_key_heads");
  c.linear_key_head_dim = req_pos_int(j, "linear_key_head_dim");
  c.linear_num_value_heads = req_pos_int(j, "linear_num_value_heads");
  c.linear_value_head_dim = req_pos_int(j, "linear_value_head_dim");
  c.linear_conv_kernel_dim = req_pos_int(j, "linear_conv_kernel_dim");
  if (c.linear_num_value_heads % c.linear_num_key_heads != 0)
    fail("linear_num_value_heads", "must be a multiple of linear_num_key_heads");
  if (c.linear_key_head_dim > 4096 || c.linear_value_head_dim > 4096 ||
      c.linear_num_key_heads > 4096 || c.linear_num_value_heads > 4096)
    fail("linear_num_value_heads", "too large");
  if (c.linear_conv_kernel_dim > 64) fail("linear_conv_kernel_dim", "too large");
  c.mtp_num_hidden_layers = opt_int(j, "mtp_num_hidden_layers").value_or(0);
  if (c.mtp_num_hidden_layers < 0 || c.mtp_num_hidden_layers > 16)
    fail("mtp_num_hidden_layers", "must be in [0, 16]");
}

void parse_generation(const json& g, ModelConfig& c) {
  if (!g.is_object()) fail("generation_config", "expected an object");
  if (auto v = opt_int(g, "bos_token_id")) c.bos_token_id = *v;
  if (auto v = opt_int(g, "pad_token_id")) c.pad_token_id = *v;
  auto eos = int_or_list(g, "eos_token_id");
  if (!eos.empty()) c.eos_token_ids = eos;
  auto& d = c.generation;
  d.temperature = opt_double(g, "temperature");
  d.top_p = opt_double(g, "top_p");
  d.min_p = opt_double(g, "min_p");
  d.repetition_penalty = opt_double(g, "repetition_penalty");
  d.top_k = opt_int(g, "top_k");
  d.max_new_tokens = opt_int(g, "max_new_tokens");
  d.do_sample = opt_bool(g, "do_sample");
}

ModelConfig parse_config_object(const json& top) {
  if (!top.is_object()) fail("config", "expected a JSON object");
  ModelConfig c;
  const json* archs = get(top, "architectures");
  if (!archs || !archs->is_array() || archs->empty() || !(*archs)[0].is_string())
    fail("architectures", "expected a non-empty list of strings");
  c.architecture_name = (*archs)[0].get<std::string>();
  const ArchitectureInfo* info = find_architecture(c.architecture_name);
  if (!info) {
    throw FieldError{unimplemented("unsupported architecture '" + c.architecture_name +
                                   "' (supported: " + supported_architectures() + ")")};
  }
  c.arch = info->arch;
  // Vision-language checkpoints (Qwen3.5) nest the text model's fields under
  // text_config; a bare text config has them at the top.
  const json* text = info->nested_text_config ? get(top, "text_config") : nullptr;
  if (text && !text->is_object()) fail("text_config", "expected an object");
  const json& j = text ? *text : top;
  if (const json* mt = get(top, "model_type")) {
    if (!mt->is_string()) fail("model_type", "expected a string");
    c.model_type = mt->get<std::string>();
  }
  if (const json* act = get(j, "hidden_act")) {
    if (!act->is_string() || (*act != "silu" && *act != "swish"))
      fail("hidden_act", "only silu is supported");
  }

  if (opt_bool(j, "use_sliding_window").value_or(false))
    throw FieldError{unimplemented("config field 'use_sliding_window': sliding-window "
                                   "attention is not supported")};

  c.vocab_size = req_pos_int(j, "vocab_size");
  c.hidden_size = req_pos_int(j, "hidden_size");
  c.num_hidden_layers = req_pos_int(j, "num_hidden_layers");
  c.num_attention_heads = req_pos_int(j, "num_attention_heads");
  c.num_key_value_heads = opt_int(j, "num_key_value_heads").value_or(c.num_attention_heads);
  if (c.num_key_value_heads <= 0) fail("num_key_value_heads", "must be positive");
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    fail("num_key_value_heads", "must divide num_attention_heads");
  if (auto hd = opt_int(j, "head_dim")) {
    if (*hd <= 0) fail("head_dim", "must be positive");
    c.head_dim = *hd;
  } else {
    if (c.hidden_size % c.num_attention_heads != 0)
      fail("hidden_size", "not divisible by num_attention_heads (and no head_dim)");
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (c.head_dim % 2 != 0) fail("head_dim", "must be even for RoPE");
  // Bound sizes so that products stay far from overflow.
  constexpr int64_t kMaxDim = int64_t(1) << 24;
  if (c.vocab_size > kMaxDim) fail("vocab_size", "too large");
  if (c.hidden_size > kMaxDim) fail("hidden_size", "too large");
  if (c.num_hidden_layers > 4096) fail("num_hidden_layers", "too large");
  if (c.num_attention_heads > 4096) fail("num_attention_heads", "too large");
  if (c.head_dim > 4096) fail("head_dim", "too large");
  c.max_position_embeddings = opt_int(j, "max_position_embeddings").value_or(32768);
  if (c.max_position_embeddings <= 0) fail("max_position_embeddings", "must be positive");
  c.rms_norm_eps = opt_double(j, "rms_norm_eps").value_or(1e-6);
  if (!(c.rms_norm_eps > 0)) fail("rms_norm_eps", "must be positive");
  c.rope_theta = opt_double(j, "rope_theta").value_or(10000.0);
  // Qwen3.5 rotates a quarter of each head unless the config says otherwise.
  c.partial_rotary_factor =
      opt_double(j, "partial_rotary_factor").value_or(info->hybrid ? 0.25 : 1.0);
  if (const json* rp = get(j, "rope_parameters")) parse_rope(*rp, "rope_parameters", c);
  if (const json* rs = get(j, "rope_scaling")) parse_rope(*rs, "rope_scaling", c);
  if (!(c.rope_theta > 0)) fail("rope_theta", "must be positive");
  if (!(c.partial_rotary_factor > 0 && c.partial_rotary_factor <= 1))
    fail("partial_rotary_factor", "must be in (0, 1]");
  if (c.rotary_dim() < 2) fail("partial_rotary_factor", "leaves fewer than 2 rotary dims");
  c.tie_word_embeddings = opt_bool(j, "tie_word_embeddings")
                              .value_or(opt_bool(top, "tie_word_embeddings").value_or(false));

  // The family's fixed flags come from the registry (model/decoder_spec.cc).
  const bool moe = info->moe;
  c.qk_norm = info->qk_norm;
  c.attention_bias = info->always_qkv_bias || opt_bool(j, "attention_bias").value_or(false);
  if (info->llama_biases) {
    c.attention_out_bias = c.attention_bias;
    c.mlp_bias = opt_bool(j, "mlp_bias").value_or(false);
  }
  if (info->hybrid) parse_hybrid(j, c);
  auto inter = opt_int(j, "intermediate_size");
  if (inter && *inter <= 0) fail("intermediate_size", "must be positive");
  c.intermediate_size = inter.value_or(0);
  if (moe) {
    c.num_experts = req_pos_int(j, "num_experts");
    c.num_experts_per_tok = req_pos_int(j, "num_experts_per_tok");
    if (c.num_experts_per_tok > c.num_experts)
      fail("num_experts_per_tok", "larger than num_experts");
    if (c.num_experts > 65536) fail("num_experts", "too large");
    c.moe_intermediate_size = req_pos_int(j, "moe_intermediate_size");
    // Qwen3.5 MoE always renormalises the top-k weights (no switch).
    c.norm_topk_prob = info->shared_expert || opt_bool(j, "norm_topk_prob").value_or(false);
    if (info->shared_expert)
      c.shared_expert_intermediate_size = req_pos_int(j, "shared_expert_intermediate_size");
    c.decoder_sparse_step = opt_int(j, "decoder_sparse_step").value_or(1);
    if (c.decoder_sparse_step <= 0) fail("decoder_sparse_step", "must be positive");
    if (const json* m = get(j, "mlp_only_layers")) {
      if (!m->is_array()) fail("mlp_only_layers", "expected a list of integers");
      for (auto& e : *m) {
        if (!e.is_number_integer()) fail("mlp_only_layers", "expected a list of integers");
        c.mlp_only_layers.push_back(e.get<int64_t>());
      }
    }
  }
  bool needs_dense = !moe;
  for (int64_t i = 0; moe && i < c.num_hidden_layers; ++i)
    if (!c.is_moe_layer(i)) needs_dense = true;
  if (needs_dense && c.intermediate_size <= 0) fail("intermediate_size", "missing");

  c.bos_token_id = opt_int(j, "bos_token_id");
  c.pad_token_id = opt_int(j, "pad_token_id");
  c.eos_token_ids = int_or_list(j, "eos_token_id");
  if (text) {  // ids may sit at the top of a nested config instead
    if (!c.bos_token_id) c.bos_token_id = opt_int(top, "bos_token_id");
    if (!c.pad_token_id) c.pad_token_id = opt_int(top, "pad_token_id");
    if (c.eos_token_ids.empty()) c.eos_token_ids = int_or_list(top, "eos_token_id");
  }
  return c;
}

json parse_json(const std::string& text, const char* what) {
  auto j = parse_json_bounded<json>(text, JsonLimits::model_file());
  if (!j.is_ok()) throw FieldError{j.status().with_context(what)};
  return std::move(j).value();
}

}  // namespace

Result<ModelConfig> parse_model_config(const std::string& config_json,
                                       const std::string& generation_config_json) {
  try {
    ModelConfig c = parse_config_object(parse_json(config_json, "config.json"));
    if (!generation_config_json.empty())
      parse_generation(parse_json(generation_config_json, "generation_config.json"), c);
    return c;
  } catch (const FieldError& e) {
    return e.status;
  } catch (const std::exception& e) {
    return invalid_argument(std::string("config.json: ") + e.what());
  }
}

Result<ModelConfig> load_model_config(const std::string& model_dir) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(model_dir, ec) && is_gguf_file(model_dir)) {
    YUN_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> f, GgufFile::open(model_dir));
    return gguf_model_config(*f);
  }
  if (!std::filesystem::is_directory(model_dir, ec))
    return not_found("model directory not found: " + model_dir);
  auto cfg = read_file(model_dir + "/config.json");
  if (!cfg.is_ok()) return cfg.status();
  std::string gen;
  std::string gen_path = model_dir + "/generation_config.json";
  if (std::filesystem::exists(gen_path, ec)) {
    auto g = read_file(gen_path);
    if (!g.is_ok()) return g.status();
    gen = std::move(*g);
  }
  auto r = parse_model_config(*cfg, gen);
  if (!r.is_ok()) return r.status().with_context(model_dir);
  return r;
}

}  // namespace yun
