// Qwen3.5 config parsing: the nested text_config layout, a bare text config,
// the layer pattern, and the architecture registry.
#include <gtest/gtest.h>

#include "yun/model/config.h"
#include "yun/model/decoder_spec.h"

namespace yun {
namespace {

const char* kText = R"({
  "vocab_size": 1000, "hidden_size": 64, "num_hidden_layers": 4,
  "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 32,
  "linear_conv_kernel_dim": 4, "linear_key_head_dim": 16, "linear_num_key_heads": 2,
  "linear_num_value_heads": 4, "linear_value_head_dim": 24, "intermediate_size": 96,
  "eos_token_id": 7, "tie_word_embeddings": true,
  "rope_parameters": {"rope_type": "default", "rope_theta": 1000000,
                      "partial_rotary_factor": 0.25, "mrope_section": [2, 1, 1],
                      "mrope_interleaved": true}})";

std::string nested(const std::string& arch, const std::string& text) {
  return R"({"architectures": [")" + arch + R"("], "model_type": "qwen3_5",
             "tie_word_embeddings": true, "text_config": )" +
         text + "}";
}

TEST(Qwen35ConfigTest, NestedTextConfig) {
  auto c = parse_model_config(nested("Qwen3_5ForConditionalGeneration", kText), "");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->arch, Architecture::kQwen3_5);
  EXPECT_EQ(c->hidden_size, 64);
  EXPECT_EQ(c->rope_theta, 1000000);
  EXPECT_EQ(c->rotary_dim(), 8);
  EXPECT_TRUE(c->attn_output_gate);
  EXPECT_TRUE(c->qk_norm);
  EXPECT_TRUE(c->tie_word_embeddings);
  ASSERT_EQ(c->eos_token_ids.size(), 1u);
  EXPECT_EQ(c->eos_token_ids[0], 7);
  EXPECT_EQ(c->mrope_section, (std::vector<int64_t>{2, 1, 1}));
  // No layer_types: full_attention_interval (default 4): layer 3 is full.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(c->is_full_attention_layer(i), i == 3) << i;
  DecoderSpec d = build_decoder_spec(*c);
  EXPECT_EQ(d.norm, NormKind::kZeroCentred);
  EXPECT_EQ(d.num_linear_attention_layers(), 3);
  EXPECT_EQ(d.linear.conv_channels(), 2 * 2 * 16 + 4 * 24);
  EXPECT_EQ(d.state_bytes_per_sequence(),
            size_t(3 * (3 * d.linear.conv_channels() + 4 * 16 * 24)) * sizeof(float));
}

TEST(Qwen35ConfigTest, BareTextConfigAndLayerTypes) {
  std::string t = kText;
  t.insert(1, R"("architectures": ["Qwen3_5ForCausalLM"], "model_type": "qwen3_5_text",
                "layer_types": ["full_attention", "linear_attention", "linear_attention",
                                "full_attention"],)");
  auto c = parse_model_config(t, "");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_TRUE(c->is_full_attention_layer(0));
  EXPECT_FALSE(c->is_full_attention_layer(1));
  EXPECT_TRUE(c->is_full_attention_layer(3));
  EXPECT_EQ(build_decoder_spec(*c).layers[3].mixer_index, 1);
}

TEST(Qwen35ConfigTest, BadFieldsAreNamed) {
  std::string t = kText;
  t.insert(1, R"("architectures": ["Qwen3_5ForCausalLM"], "layer_types": ["full_attention"],)");
  auto c = parse_model_config(t, "");
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("layer_types"), std::string::npos) << c.status().to_string();
  std::string moe = kText;
  moe.insert(1, R"("num_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 16,)");
  auto m = parse_model_config(nested("Qwen3_5MoeForConditionalGeneration", moe), "");
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("shared_expert_intermediate_size"), std::string::npos);
  auto u = parse_model_config(R"({"architectures": ["Qwen9ForCausalLM"]})", "");
  ASSERT_FALSE(u.is_ok());
  EXPECT_EQ(u.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(u.status().message().find("Qwen3_5ForConditionalGeneration"), std::string::npos);
}

TEST(Qwen35ConfigTest, RegistryRowsForEveryFamily) {
  for (const char* n : {"Qwen2ForCausalLM", "Qwen3ForCausalLM", "Qwen3MoeForCausalLM",
                        "LlamaForCausalLM", "Qwen3_5ForConditionalGeneration",
                        "Qwen3_5MoeForConditionalGeneration", "Qwen3_5ForCausalLM"})
    EXPECT_NE(find_architecture(n), nullptr) << n;
  EXPECT_EQ(find_architecture("GPT2LMHeadModel"), nullptr);
  EXPECT_TRUE(find_architecture("Qwen3_5MoeForConditionalGeneration")->shared_expert);
  EXPECT_FALSE(find_architecture("Qwen3ForCausalLM")->zero_centred_norm);
}

}  // namespace
}  // namespace yun
