// Tests for model/config: the golden configs, each architecture's switches,
// rope scaling under both keys, eos lists, generation defaults, bad fields.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "yun/model/config.h"

namespace yun {
namespace {

using json = nlohmann::json;

json base_config(const char* arch = "Qwen2ForCausalLM") {
  return json{{"architectures", {arch}}, {"vocab_size", 1000},  {"hidden_size", 64},
              {"intermediate_size", 128}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
              {"num_key_value_heads", 2}, {"rope_theta", 1e6},      {"rms_norm_eps", 1e-6},
              {"max_position_embeddings", 4096}, {"eos_token_id", 2}};
}

Result<ModelConfig> parse(const json& j, const std::string& gen = "") {
  return parse_model_config(j.dump(), gen);
}

TEST(ModelConfig, LoadsGoldenConfigs) {
  for (const char* name : {"qwen2-tiny", "qwen3-tiny", "llama-tiny", "qwen3moe-tiny",
                           "qwen2-yarn-tiny", "qwen3-e2e"}) {
    auto c = load_model_config(test::golden_model(name));
    ASSERT_TRUE(c.is_ok()) << name << ": " << c.status().to_string();
  }
  auto q3 = load_model_config(test::golden_model("qwen3-tiny"));
  EXPECT_EQ(q3->arch, Architecture::kQwen3);
  EXPECT_EQ(q3->head_dim, 32);
  EXPECT_TRUE(q3->qk_norm);
  EXPECT_FALSE(q3->attention_bias);
  auto moe = load_model_config(test::golden_model("qwen3moe-tiny"));
  EXPECT_EQ(moe->num_experts, 8);
  EXPECT_EQ(moe->num_experts_per_tok, 2);
  EXPECT_TRUE(moe->norm_topk_prob);
  EXPECT_TRUE(moe->is_moe_layer(0));
  auto yarn = load_model_config(test::golden_model("qwen2-yarn-tiny"));
  EXPECT_EQ(yarn->rope_scaling.type, RopeScaling::Type::kYarn);
  EXPECT_EQ(yarn->rope_scaling.factor, 4.0);
  EXPECT_EQ(yarn->rope_scaling.original_max_position_embeddings, 64);
  auto q2 = load_model_config(test::golden_model("qwen2-tiny"));
  EXPECT_TRUE(q2->attention_bias);
  EXPECT_TRUE(q2->tie_word_embeddings);
  EXPECT_EQ(q2->generation.top_k, 20);
  EXPECT_DOUBLE_EQ(*q2->generation.temperature, 0.7);
}

TEST(ModelConfig, HeadDimDefaultsAndLlamaBiases) {
  json j = base_config("LlamaForCausalLM");
  j["attention_bias"] = true;
  j["mlp_bias"] = true;
  auto c = parse(j);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_TRUE(c->attention_bias);
  EXPECT_TRUE(c->attention_out_bias);
  EXPECT_TRUE(c->mlp_bias);
  EXPECT_EQ(c->q_size(), 64);
  EXPECT_EQ(c->kv_size(), 32);
}

TEST(ModelConfig, RopeScalingBothKeys) {
  json j = base_config();
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  auto c = parse(j);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->rope_scaling.type, RopeScaling::Type::kLlama3);
  EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, 8192);

  json k = base_config();
  k.erase("rope_theta");
  k["rope_parameters"] = {{"rope_type", "yarn"}, {"rope_theta", 5e5}, {"factor", 2.0},
                          {"beta_fast", 16}, {"truncate", false}};
  c = parse(k);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->rope_theta, 5e5);
  EXPECT_EQ(c->rope_scaling.type, RopeScaling::Type::kYarn);
  EXPECT_EQ(c->rope_scaling.beta_fast, 16.0);
  EXPECT_FALSE(c->rope_scaling.truncate);
  EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, 4096);

  json d = base_config();
  d["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1234.0}};
  c = parse(d);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->rope_scaling.type, RopeScaling::Type::kNone);
  EXPECT_EQ(c->rope_theta, 1234.0);

  for (const char* t : {"linear", "dynamic"}) {
    json l = base_config();
    l["rope_scaling"] = {{"type", t}, {"factor", 2.0}};
    c = parse(l);
    ASSERT_TRUE(c.is_ok()) << t;
    EXPECT_EQ(c->rope_scaling.factor, 2.0);
  }
  json bad = base_config();
  bad["rope_scaling"] = {{"type", "longrope"}, {"factor", 2.0}};
  c = parse(bad);
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("longrope"), std::string::npos);
}

TEST(ModelConfig, EosListAndGenerationOverride) {
  json j = base_config();
  j["eos_token_id"] = {5, 6};
  auto c = parse(j);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{5, 6}));
  c = parse(j, R"({"eos_token_id": [7, 8, 9], "top_p": 0.9, "do_sample": false})");
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{7, 8, 9}));
  EXPECT_DOUBLE_EQ(*c->generation.top_p, 0.9);
  EXPECT_FALSE(*c->generation.do_sample);
  EXPECT_FALSE(c->generation.min_p.has_value());
}

TEST(ModelConfig, MoeFields) {
  json j = base_config("Qwen3MoeForCausalLM");
  j["num_experts"] = 4;
  j["num_experts_per_tok"] = 2;
  j["moe_intermediate_size"] = 32;
  j["decoder_sparse_step"] = 2;
  j["mlp_only_layers"] = {3};
  j["num_hidden_layers"] = 6;
  auto c = parse(j);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_FALSE(c->is_moe_layer(0));
  EXPECT_TRUE(c->is_moe_layer(1));
  EXPECT_FALSE(c->is_moe_layer(3));
  EXPECT_TRUE(c->is_moe_layer(5));
  j.erase("moe_intermediate_size");
  c = parse(j);
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("moe_intermediate_size"), std::string::npos);
}

TEST(ModelConfig, Errors) {
  auto c = parse_model_config("{not json", "");
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);

  c = parse(base_config("MistralForCausalLM"));
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(c.status().message().find("MistralForCausalLM"), std::string::npos);

  struct Case {
    const char* field;
    json value;
  };
  for (const Case& k : {Case{"hidden_size", "64"}, Case{"vocab_size", -1},
                        Case{"num_key_value_heads", 3}, Case{"rms_norm_eps", "x"},
                        Case{"tie_word_embeddings", 1}, Case{"head_dim", 0},
                        Case{"eos_token_id", "2"}, Case{"num_attention_heads", nullptr},
                        Case{"rope_scaling", 5}, Case{"architectures", json::array()}}) {
    json j = base_config();
    j[k.field] = k.value;
    auto r = parse(j);
    ASSERT_FALSE(r.is_ok()) << k.field;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << k.field;
    EXPECT_NE(r.status().message().find(k.field), std::string::npos) << r.status().message();
  }
  c = parse(base_config(), "[1,2");
  EXPECT_FALSE(c.is_ok());
  c = parse(base_config(), R"({"temperature": "hot"})");
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("temperature"), std::string::npos);
  EXPECT_EQ(parse_model_config("[]", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_model_config("", "").status().code(), StatusCode::kInvalidArgument);

  auto missing = load_model_config("/nonexistent/model/dir");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace yun

namespace yun {
namespace {

TEST(ModelConfig, SlidingWindowUnsupported) {
  json j = base_config();
  j["use_sliding_window"] = true;
  auto c = parse(j);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(c.status().message().find("use_sliding_window"), std::string::npos);
  j["use_sliding_window"] = false;
  EXPECT_TRUE(parse(j).is_ok());
}

}  // namespace
}  // namespace yun
