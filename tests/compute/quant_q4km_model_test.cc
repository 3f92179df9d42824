// Q4_K_M (model/quant_scheme.h) through the CPU runner, on a random Qwen2
// model whose matrices are whole 256-blocks (hidden 256, intermediate 512,
// 8 layers, untied 512-token vocabulary), so the scheme really mixes Q4_K
// and Q6_K (the golden tiny models, hidden 64, would all fall back):
//  * logits of the Q4_K_M GGUF decoded token by token (the Q4_K / Q6_K
//    integer kernels, activations rounded to 8 bits per 32-block) against
//    the float32 forward pass of the same weights dequantized (an F32 GGUF
//    of them): max |diff| <= kBound (5%) of max |logit|, the bound Q8_0 and
//    Q4_0 are held to; greedy tokens equal where the reference's top-1 minus
//    top-2 margin exceeds twice that;
//  * a prefill (W decoded to float32) agrees with the reference to 1e-4;
//  * --quantize q4_k at load equals the file exactly.
// Run: build/tests/yun_compute_tests --gtest_filter='QuantQ4KM*'
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "golden_util.h"
#include "yun/model/gguf_export.h"
#include "yun/model/quant_scheme.h"
#include "yun/model/safetensors.h"
#include "yun/model/safetensors_writer.h"
#include "yun/model/weights.h"

namespace yun::test {
namespace {

namespace fs = std::filesystem;

constexpr double kBound = 0.05;

std::string tmp(const std::string& n) {
  return (fs::temp_directory_path() / ("yun_q4km_" + std::to_string(::getpid()) + "_" + n))
      .string();
}

// A Qwen2 model directory with random F32 weights ~ N(0, 0.05^2), norms 1.
std::string write_model() {
  const std::string dir = tmp("model");
  fs::create_directories(dir);
  std::ofstream(dir + "/config.json") << R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu",
  "max_position_embeddings": 4096, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "torch_dtype": "float32", "bos_token_id": 1, "eos_token_id": 2, "vocab_size": 512,
  "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 8,
  "num_attention_heads": 4, "num_key_value_heads": 2, "tie_word_embeddings": false,
  "use_sliding_window": false})";
  auto c = load_model_config(dir);
  EXPECT_TRUE(c.is_ok()) << c.status().to_string();
  const int64_t H = 256, I = 512, V = 512, Q = c->q_size(), KV = c->kv_size();
  std::vector<TensorSpec> t;
  std::vector<bool> norm;
  auto add = [&](std::string n, std::vector<int64_t> s, bool is_norm = false) {
    t.push_back({std::move(n), DType::kF32, std::move(s)});
    norm.push_back(is_norm);
  };
  add("model.embed_tokens.weight", {V, H});
  for (int i = 0; i < 8; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {H}, true);
    add(p + "self_attn.q_proj.weight", {Q, H});
    add(p + "self_attn.k_proj.weight", {KV, H});
    add(p + "self_attn.v_proj.weight", {KV, H});
    if (c->attention_bias) {
      add(p + "self_attn.q_proj.bias", {Q});
      add(p + "self_attn.k_proj.bias", {KV});
      add(p + "self_attn.v_proj.bias", {KV});
    }
    add(p + "self_attn.o_proj.weight", {H, Q});
    add(p + "post_attention_layernorm.weight", {H}, true);
    add(p + "mlp.gate_proj.weight", {I, H});
    add(p + "mlp.up_proj.weight", {I, H});
    add(p + "mlp.down_proj.weight", {H, I});
  }
  add("model.norm.weight", {H}, true);
  add("lm_head.weight", {V, H});
  std::mt19937 rng(42);
  std::normal_distribution<float> g(0.0f, 0.05f);
  Status s = write_safetensors(dir + "/model.safetensors", t,
                               [&](size_t idx, size_t, uint8_t* dst, size_t n) {
                                 auto* f = reinterpret_cast<float*>(dst);
                                 for (size_t i = 0; i < n / 4; ++i)
                                   f[i] = norm[idx] ? 1.0f : g(rng);
                               });
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return dir;
}

// The model re-encoded with the scheme (then decoded to F32 when `deq`).
void export_q4km(const std::string& dir, bool deq, const std::string& out) {
  auto c = load_model_config(dir);
  auto store = WeightStore::open_dir(dir);
  ASSERT_TRUE(store.is_ok());
  auto w = load_model_weights(*c, *store);
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  ASSERT_TRUE(quantize_model_weights(*w, QuantScheme::kQ4_K_M).is_ok());
  ASSERT_EQ(w->layers[0].v_proj.dtype, DType::kQ6_K);
  ASSERT_EQ(w->layers[1].v_proj.dtype, DType::kQ4_K);
  ASSERT_EQ(w->layers[0].down_proj.dtype, DType::kQ6_K);
  ASSERT_EQ(w->layers[1].q_proj.dtype, DType::kQ4_K);
  ASSERT_EQ(w->lm_head.dtype, DType::kQ6_K);
  if (deq) ASSERT_TRUE(quantize_model_weights(*w, DType::kF32).is_ok());
  GgufExportOptions o;
  o.file_type = quant_scheme_file_type(QuantScheme::kQ4_K_M);
  Status s = write_model_gguf(*c, *w, o, out);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
}

std::vector<float> logits_of(const std::string& path, const std::vector<int32_t>& ids,
                             CpuRunnerOptions o, bool decode) {
  auto r = create_cpu_runner(path, o);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (!r.is_ok()) return {};
  EXPECT_TRUE((*r)->allocate_kv_cache({64, 16}));
  BlockAlloc alloc(64);
  SeqState st;
  if (!decode) return run_one(**r, st, ids, alloc, true);
  std::vector<float> all;
  for (int32_t t : ids) {
    std::vector<float> l = run_one(**r, st, {t}, alloc, true);
    all.insert(all.end(), l.begin(), l.end());
  }
  return all;
}

TEST(QuantQ4KM, WithinBoundOfDequantizedFloat32) {
  const std::string dir = write_model();
  const std::string q = tmp("q4km.gguf"), ref = tmp("deq.gguf");
  export_q4km(dir, false, q);
  export_q4km(dir, true, ref);
  std::vector<int32_t> ids;
  std::mt19937 rng(7);
  for (int i = 0; i < 24; ++i) ids.push_back(int32_t(rng() % 512));
  const CpuRunnerOptions o{2};
  const auto got = logits_of(q, ids, o, true), want = logits_of(ref, ids, o, true);
  CpuRunnerOptions at_load{2};
  at_load.quantize_scheme = QuantScheme::kQ4_K_M;
  const auto loaded = logits_of(dir, ids, at_load, true);
  const auto pre = logits_of(q, ids, o, false), pre_ref = logits_of(ref, ids, o, false);
  fs::remove(q);
  fs::remove(ref);
  fs::remove_all(dir);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(loaded, got);
  ASSERT_EQ(pre.size(), pre_ref.size());
  for (size_t i = 0; i < pre.size(); ++i) ASSERT_NEAR(pre[i], pre_ref[i], 1e-4) << i;
  const int64_t V = 512, rows = int64_t(want.size()) / V;
  double scale = 0, diff = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, double(std::fabs(want[i])));
    diff = std::max(diff, double(std::fabs(got[i] - want[i])));
  }
  std::printf("Q4_K_M vs dequantized f32: max|diff| %.5f, max|logit| %.3f (%.4f%%)\n", diff, scale,
              100 * diff / scale);
  EXPECT_LE(diff, kBound * scale);
  int compared = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* w = want.data() + r * V;
    const int64_t top = argmax(w, V);
    float second = -1e30f;
    for (int64_t v = 0; v < V; ++v)
      if (v != top) second = std::max(second, w[v]);
    if (w[top] - second <= 2 * kBound * scale) continue;
    ++compared;
    EXPECT_EQ(argmax(got.data() + r * V, V), top) << "row " << r;
  }
  std::printf("greedy rows compared (margin > 2 x bound): %d of %lld\n", compared, (long long)rows);
}

}  // namespace
}  // namespace yun::test
