// make_random_checkpoint: writes a Hugging Face model directory with random
// bf16 weights (deterministic for a seed) in the real published shapes, for
// benchmarks and tests that need a model of realistic size.
//
//   make_random_checkpoint --preset qwen2.5-0.5b|qwen3-1.7b|qwen2.5-7b|qwen3-30b-a3b|tiny|
//                                   qwen3.5-0.8b
//                          --out DIR [--seed S] [--layers N]
//   make_random_checkpoint --config config.json --out DIR [--seed S] [--layers N]
//
// Writes DIR/config.json, DIR/generation_config.json, DIR/model.safetensors.
// Weights ~ N(0, 0.02²) (Irwin-Hall approximation), norm weights ~ 1 + N(0, 0.02²)
// (Qwen3.5's zero-centred norms ~ N(0, 0.02²), which is the same multiplier),
// streamed to disk in chunks (never the whole file in memory).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "yun/base/half.h"
#include "yun/base/mapped_file.h"
#include "yun/model/config.h"
#include "yun/model/safetensors_writer.h"

namespace {

using json = nlohmann::ordered_json;
using yun::DType;
using yun::TensorSpec;

json qwen_common() {
  return json{{"hidden_act", "silu"},       {"initializer_range", 0.02},
              {"rms_norm_eps", 1e-6},       {"rope_theta", 1000000.0},
              {"torch_dtype", "bfloat16"},  {"use_cache", true},
              {"attention_dropout", 0.0},   {"bos_token_id", 151643},
              {"eos_token_id", 151645},     {"use_sliding_window", false}};
}

bool preset_config(const std::string& name, json* out) {
  json c = qwen_common();
  if (name == "qwen2.5-0.5b") {
    c.update(json{{"architectures", {"Qwen2ForCausalLM"}}, {"model_type", "qwen2"},
                  {"vocab_size", 151936}, {"hidden_size", 896}, {"intermediate_size", 4864},
                  {"num_hidden_layers", 24}, {"num_attention_heads", 14},
                  {"num_key_value_heads", 2}, {"max_position_embeddings", 32768},
                  {"tie_word_embeddings", true}});
  } else if (name == "qwen2.5-7b") {
    c.update(json{{"architectures", {"Qwen2ForCausalLM"}}, {"model_type", "qwen2"},
                  {"vocab_size", 152064}, {"hidden_size", 3584}, {"intermediate_size", 18944},
                  {"num_hidden_layers", 28}, {"num_attention_heads", 28},
                  {"num_key_value_heads", 4}, {"max_position_embeddings", 32768},
                  {"tie_word_embeddings", false}});
  } else if (name == "qwen3-1.7b") {
    c.update(json{{"architectures", {"Qwen3ForCausalLM"}}, {"model_type", "qwen3"},
                  {"vocab_size", 151936}, {"hidden_size", 2048}, {"intermediate_size", 6144},
                  {"num_hidden_layers", 28}, {"num_attention_heads", 16},
                  {"num_key_value_heads", 8}, {"head_dim", 128}, {"attention_bias", false},
                  {"max_position_embeddings", 40960}, {"tie_word_embeddings", true}});
  } else if (name == "qwen3-30b-a3b") {
    c.update(json{{"architectures", {"Qwen3MoeForCausalLM"}}, {"model_type", "qwen3_moe"},
                  {"vocab_size", 151936}, {"hidden_size", 2048}, {"intermediate_size", 6144},
                  {"moe_intermediate_size", 768}, {"num_hidden_layers", 48},
                  {"num_attention_heads", 32}, {"num_key_value_heads", 4}, {"head_dim", 128},
                  {"num_experts", 128}, {"num_experts_per_tok", 8}, {"norm_topk_prob", true},
                  {"decoder_sparse_step", 1}, {"mlp_only_layers", json::array()},
                  {"attention_bias", false}, {"max_position_embeddings", 40960},
                  {"tie_word_embeddings", false}});
  } else if (name == "qwen3.5-0.8b") {
    // Qwen/Qwen3.5-0.8B's published text_config (tests/data/golden/QWEN3_5.md);
    // no vision_config (the text model does not read it).
    json types = json::array();
    for (int i = 0; i < 24; ++i) types.push_back((i + 1) % 4 == 0 ? "full_attention" : "linear_attention");
    json text = c;
    text.erase("rope_theta");
    text.erase("use_sliding_window");
    text.update(json{{"model_type", "qwen3_5_text"}, {"vocab_size", 248320},
                     {"hidden_size", 1024}, {"intermediate_size", 3584},
                     {"num_hidden_layers", 24}, {"layer_types", types},
                     {"full_attention_interval", 4}, {"num_attention_heads", 8},
                     {"num_key_value_heads", 2}, {"head_dim", 256}, {"attention_bias", false},
                     {"attn_output_gate", true}, {"linear_conv_kernel_dim", 4},
                     {"linear_key_head_dim", 128}, {"linear_value_head_dim", 128},
                     {"linear_num_key_heads", 16}, {"linear_num_value_heads", 16},
                     {"mamba_ssm_dtype", "float32"}, {"max_position_embeddings", 262144},
                     {"mlp_only_layers", json::array()}, {"mtp_num_hidden_layers", 1},
                     {"mtp_use_dedicated_embeddings", false}, {"tie_word_embeddings", true},
                     {"bos_token_id", 248044}, {"eos_token_id", 248044},
                     {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 10000000},
                                          {"partial_rotary_factor", 0.25},
                                          {"mrope_interleaved", true},
                                          {"mrope_section", {11, 11, 10}}}}});
    *out = json{{"architectures", {"Qwen3_5ForConditionalGeneration"}}, {"model_type", "qwen3_5"},
                {"tie_word_embeddings", true}, {"image_token_id", 248056},
                {"video_token_id", 248057}, {"vision_start_token_id", 248053},
                {"vision_end_token_id", 248054}, {"text_config", text}};
    return true;
  } else if (name == "tiny") {
    c.update(json{{"architectures", {"Qwen3ForCausalLM"}}, {"model_type", "qwen3"},
                  {"vocab_size", 151936}, {"hidden_size", 64}, {"intermediate_size", 128},
                  {"num_hidden_layers", 2}, {"num_attention_heads", 4},
                  {"num_key_value_heads", 2}, {"head_dim", 16}, {"attention_bias", false},
                  {"max_position_embeddings", 40960}, {"tie_word_embeddings", true}});
  } else {
    return false;
  }
  *out = c;
  return true;
}

// The text tensors of a Qwen3.5 hybrid (dense MLP), in the published names
// (tests/data/golden/QWEN3_5.md). `norm[i]` marks weights centred on 1 (the
// linear-attention output norm; the zero-centred norms are centred on 0).
bool hybrid_tensor_list(const yun::ModelConfig& c, std::vector<TensorSpec>* t,
                        std::vector<bool>* norm) {
  if (c.num_experts > 0) return false;  // MoE hybrids: not written by this tool
  auto add = [&](std::string n, std::vector<int64_t> s, bool is_norm = false) {
    t->push_back({"model.language_model." + std::move(n), DType::kBF16, std::move(s)});
    norm->push_back(is_norm);
  };
  const int64_t H = c.hidden_size, Q = c.q_size(), KV = c.kv_size(), I = c.intermediate_size;
  const int64_t Hk = c.linear_num_key_heads, Dk = c.linear_key_head_dim;
  const int64_t Hv = c.linear_num_value_heads, Dv = c.linear_value_head_dim;
  const int64_t C = 2 * Hk * Dk + Hv * Dv, Vs = Hv * Dv;
  add("embed_tokens.weight", {c.vocab_size, H});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {H});
    if (c.is_full_attention_layer(i)) {
      add(p + "self_attn.q_proj.weight", {c.attn_output_gate ? 2 * Q : Q, H});
      add(p + "self_attn.k_proj.weight", {KV, H});
      add(p + "self_attn.v_proj.weight", {KV, H});
      add(p + "self_attn.o_proj.weight", {H, Q});
      add(p + "self_attn.q_norm.weight", {c.head_dim});
      add(p + "self_attn.k_norm.weight", {c.head_dim});
    } else {
      add(p + "linear_attn.in_proj_qkv.weight", {C, H});
      add(p + "linear_attn.in_proj_z.weight", {Vs, H});
      add(p + "linear_attn.in_proj_b.weight", {Hv, H});
      add(p + "linear_attn.in_proj_a.weight", {Hv, H});
      add(p + "linear_attn.conv1d.weight", {C, 1, c.linear_conv_kernel_dim});
      add(p + "linear_attn.A_log", {Hv});
      add(p + "linear_attn.dt_bias", {Hv});
      add(p + "linear_attn.norm.weight", {Dv}, true);
      add(p + "linear_attn.out_proj.weight", {H, Vs});
    }
    add(p + "post_attention_layernorm.weight", {H});
    add(p + "mlp.gate_proj.weight", {I, H});
    add(p + "mlp.up_proj.weight", {I, H});
    add(p + "mlp.down_proj.weight", {H, I});
  }
  add("norm.weight", {H});
  if (!c.tie_word_embeddings) t->push_back({"lm_head.weight", DType::kBF16, {c.vocab_size, H}});
  if (!c.tie_word_embeddings) norm->push_back(false);
  // The MTP head (mtp_num_hidden_layers 1, as published): fc over [embedding,
  // hidden], its norms (zero-centred) and one full-attention layer.
  auto mtp = [&](std::string n, std::vector<int64_t> s) {
    t->push_back({"mtp." + std::move(n), DType::kBF16, std::move(s)});
    norm->push_back(false);
  };
  if (c.mtp_num_hidden_layers > 0) {
    mtp("fc.weight", {H, 2 * H});
    mtp("pre_fc_norm_embedding.weight", {H});
    mtp("pre_fc_norm_hidden.weight", {H});
    mtp("norm.weight", {H});
    const std::string p = "layers.0.";
    mtp(p + "input_layernorm.weight", {H});
    mtp(p + "self_attn.q_proj.weight", {c.attn_output_gate ? 2 * Q : Q, H});
    mtp(p + "self_attn.k_proj.weight", {KV, H});
    mtp(p + "self_attn.v_proj.weight", {KV, H});
    mtp(p + "self_attn.o_proj.weight", {H, Q});
    mtp(p + "self_attn.q_norm.weight", {c.head_dim});
    mtp(p + "self_attn.k_norm.weight", {c.head_dim});
    mtp(p + "post_attention_layernorm.weight", {H});
    mtp(p + "mlp.gate_proj.weight", {I, H});
    mtp(p + "mlp.up_proj.weight", {I, H});
    mtp(p + "mlp.down_proj.weight", {H, I});
  }
  return true;
}

// The tensors a config needs, in HF names. `norm[i]` marks norm weights.
std::vector<TensorSpec> tensor_list(const yun::ModelConfig& c, std::vector<bool>* norm) {
  std::vector<TensorSpec> t;
  auto add = [&](std::string n, std::vector<int64_t> s, bool is_norm = false) {
    t.push_back({std::move(n), DType::kBF16, std::move(s)});
    norm->push_back(is_norm);
  };
  const int64_t H = c.hidden_size, Q = c.q_size(), KV = c.kv_size();
  add("model.embed_tokens.weight", {c.vocab_size, H});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {H}, true);
    add(p + "self_attn.q_proj.weight", {Q, H});
    add(p + "self_attn.k_proj.weight", {KV, H});
    add(p + "self_attn.v_proj.weight", {KV, H});
    if (c.attention_bias) {
      add(p + "self_attn.q_proj.bias", {Q});
      add(p + "self_attn.k_proj.bias", {KV});
      add(p + "self_attn.v_proj.bias", {KV});
    }
    add(p + "self_attn.o_proj.weight", {H, Q});
    if (c.attention_out_bias) add(p + "self_attn.o_proj.bias", {H});
    if (c.qk_norm) {
      add(p + "self_attn.q_norm.weight", {c.head_dim}, true);
      add(p + "self_attn.k_norm.weight", {c.head_dim}, true);
    }
    add(p + "post_attention_layernorm.weight", {H}, true);
    if (c.is_moe_layer(i)) {
      add(p + "mlp.gate.weight", {c.num_experts, H});
      const int64_t I = c.moe_intermediate_size;
      for (int64_t e = 0; e < c.num_experts; ++e) {
        const std::string x = p + "mlp.experts." + std::to_string(e) + ".";
        add(x + "gate_proj.weight", {I, H});
        add(x + "up_proj.weight", {I, H});
        add(x + "down_proj.weight", {H, I});
      }
    } else {
      const int64_t I = c.intermediate_size;
      add(p + "mlp.gate_proj.weight", {I, H});
      add(p + "mlp.up_proj.weight", {I, H});
      add(p + "mlp.down_proj.weight", {H, I});
      if (c.mlp_bias) {
        add(p + "mlp.gate_proj.bias", {I});
        add(p + "mlp.up_proj.bias", {I});
        add(p + "mlp.down_proj.bias", {H});
      }
    }
  }
  add("model.norm.weight", {H}, true);
  if (!c.tie_word_embeddings) add("lm_head.weight", {c.vocab_size, H});
  return t;
}

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Per-tensor xorshift stream; chunks are requested in order, so one state each.
struct Stream {
  uint64_t s = 1;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

int usage() {
  std::fprintf(stderr,
               "usage: make_random_checkpoint (--preset qwen2.5-0.5b|qwen3-1.7b|qwen2.5-7b|"
               "qwen3-30b-a3b|tiny|qwen3.5-0.8b | --config config.json) --out DIR [--seed S] "
               "[--layers N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string preset, config_path, out;
  uint64_t seed = 0;
  long layers = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    if (a == "--preset") {
      preset = v;
    } else if (a == "--config") {
      config_path = v;
    } else if (a == "--out") {
      out = v;
    } else if (a == "--seed") {
      seed = std::strtoull(v.c_str(), nullptr, 10);
    } else if (a == "--layers") {
      layers = std::strtol(v.c_str(), nullptr, 10);
      if (layers <= 0) return usage();
    } else {
      return usage();
    }
  }
  if (out.empty() || preset.empty() == config_path.empty()) return usage();
  json cfg;
  if (!preset.empty()) {
    if (!preset_config(preset, &cfg)) {
      std::fprintf(stderr, "unknown preset '%s'\n", preset.c_str());
      return usage();
    }
  } else {
    auto text = yun::read_file(config_path);
    if (!text.is_ok()) {
      std::fprintf(stderr, "%s\n", text.status().to_string().c_str());
      return 1;
    }
    cfg = json::parse(*text, nullptr, false);
    if (cfg.is_discarded()) {
      std::fprintf(stderr, "%s: invalid JSON\n", config_path.c_str());
      return 1;
    }
  }
  if (layers > 0) {
    json& text = cfg.contains("text_config") ? cfg["text_config"] : cfg;
    text["num_hidden_layers"] = layers;
    if (text.contains("layer_types") && text["layer_types"].is_array()) {
      json t = json::array();
      for (long i = 0; i < layers; ++i)
        t.push_back(text["layer_types"][size_t(i) % text["layer_types"].size()]);
      text["layer_types"] = t;
    }
  }
  json gen = {{"bos_token_id", cfg.value("bos_token_id", 151643)},
              {"eos_token_id", {151645, 151643}},
              {"do_sample", true},
              {"temperature", 0.7},
              {"top_p", 0.8},
              {"top_k", 20},
              {"repetition_penalty", 1.05}};
  auto parsed = yun::parse_model_config(cfg.dump(), gen.dump());
  if (!parsed.is_ok()) {
    std::fprintf(stderr, "%s\n", parsed.status().to_string().c_str());
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  std::ofstream(out + "/config.json") << cfg.dump(2) << "\n";
  std::ofstream(out + "/generation_config.json") << gen.dump(2) << "\n";

  std::vector<bool> is_norm;
  std::vector<TensorSpec> specs;
  if (parsed->full_attention_layers.empty()) {
    specs = tensor_list(*parsed, &is_norm);
  } else if (!hybrid_tensor_list(*parsed, &specs, &is_norm)) {
    std::fprintf(stderr, "a mixture-of-experts hybrid is not supported by this tool\n");
    return 1;
  }
  std::vector<Stream> streams(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    uint64_t s = seed * 0x100000001b3ull + i;
    streams[i].s = splitmix64(s) | 1;
  }
  // Irwin-Hall: sum of four 16-bit uniforms, centered and scaled to unit variance.
  const float kScale = 0.02f * std::sqrt(3.0f) / 65536.0f;
  auto fill = [&](size_t idx, size_t, uint8_t* dst, size_t n) {
    Stream& st = streams[idx];
    const float base = is_norm[idx] ? 1.0f : 0.0f;
    auto* p = reinterpret_cast<uint16_t*>(dst);
    for (size_t i = 0; i < n / 2; ++i) {
      uint64_t r = st.next();
      int32_t sum = int32_t(r & 0xffff) + int32_t((r >> 16) & 0xffff) +
                    int32_t((r >> 32) & 0xffff) + int32_t(r >> 48) - 131070;
      p[i] = yun::f32_to_bf16(base + float(sum) * kScale);
    }
  };
  size_t total = 0;
  for (auto& s : specs) total += s.nbytes();
  auto t0 = std::chrono::steady_clock::now();
  yun::Status st = yun::write_safetensors(out + "/model.safetensors", specs, fill,
                                          {{"format", "pt"}});
  if (!st.is_ok()) {
    std::fprintf(stderr, "%s\n", st.to_string().c_str());
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %s: %zu tensors, %.1f MB in %.2f s\n", out.c_str(), specs.size(),
              double(total) / 1e6, secs);
  return 0;
}
