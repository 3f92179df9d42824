// JSON bounds in model/: depth bombs in config.json, generation_config.json and
// a safetensors header (its __metadata__) fail with the model-file limit
// (base/json_limits.h) instead of crashing; the limit passes at its boundary;
// trailing bytes are rejected; the golden model directories still load.
// Run: build/tests/yun_model_tests --gtest_filter='JsonBounds*'
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"
#include "yun/model/config.h"
#include "yun/model/safetensors.h"

namespace yun {
namespace {

std::string deep_arrays(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }
std::string open_objects(size_t depth) {
  std::string s;
  for (size_t k = 0; k < depth; ++k) s += R"({"a":)";
  return s;
}

std::string config_with(const std::string& extra) {
  std::string c = nlohmann::json{
      {"architectures", {"Qwen2ForCausalLM"}},
      {"vocab_size", 1000},
      {"hidden_size", 64},
      {"intermediate_size", 128},
      {"num_hidden_layers", 2},
      {"num_attention_heads", 4},
      {"num_key_value_heads", 2},
      {"rope_theta", 1e6},
      {"rms_norm_eps", 1e-6},
      {"max_position_embeddings", 4096},
      {"eos_token_id",
       2}}.dump();
  c.pop_back();
  return c + R"(,"x":)" + extra + "}";
}

void expect_error(const Status& s, const std::string& needle) {
  ASSERT_FALSE(s.is_ok()) << "expected an error mentioning " << needle;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.to_string();
}

TEST(JsonBounds, ConfigDepthBombs) {
  ASSERT_TRUE(parse_model_config(config_with("1"), "").is_ok());
  for (const std::string& bomb :
       {std::string(100000, '['), deep_arrays(100000), open_objects(100000)}) {
    expect_error(parse_model_config(bomb, "").status(),
                 "config.json: JSON nesting deeper than 256");
    expect_error(parse_model_config(config_with(bomb), "").status(), "deeper than 256");
    expect_error(parse_model_config(config_with("1"), bomb).status(),
                 "generation_config.json: JSON nesting deeper than 256");
  }
}

TEST(JsonBounds, ConfigDepthBoundaryAndTrailingBytes) {
  EXPECT_TRUE(parse_model_config(config_with(deep_arrays(255)), "").is_ok());
  expect_error(parse_model_config(config_with(deep_arrays(256)), "").status(), "deeper than 256");
  expect_error(parse_model_config(config_with("1") + '\0', "").status(), "trailing bytes");
  expect_error(parse_model_config(config_with("1") + "}", "").status(), "trailing bytes");
  expect_error(parse_model_config(config_with("1"), std::string("{}\0", 3)).status(),
               "generation_config.json: trailing bytes");
}

std::vector<uint8_t> safetensors(const std::string& header) {
  std::vector<uint8_t> out(8);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(n >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  return out;
}

Status parse_header(const std::string& header) {
  auto bytes = safetensors(header);
  return SafetensorsFile::parse(bytes.data(), bytes.size(), "t.safetensors").status();
}

TEST(JsonBounds, SafetensorsHeader) {
  EXPECT_TRUE(parse_header(R"({"__metadata__":{"format":"pt"}})").is_ok());
  EXPECT_TRUE(parse_header(R"({"__metadata__":{"format":"pt"}}    )").is_ok());  // padding
  for (const std::string& bomb : {std::string(100000, '['), open_objects(100000)}) {
    expect_error(parse_header(R"({"__metadata__":)" + bomb + "}"), "JSON nesting deeper than 256");
    expect_error(parse_header(bomb), "JSON nesting deeper than 256");
  }
  expect_error(parse_header(R"({"__metadata__":)" + deep_arrays(256) + "}"), "deeper than 256");
  // At the boundary the header parses and is then refused for what it says.
  Status s = parse_header(R"({"__metadata__":)" + deep_arrays(255) + "}");
  EXPECT_EQ(s.message().find("deeper than"), std::string::npos) << s.to_string();
  expect_error(parse_header(std::string(R"({"__metadata__":{}})") + '\0'), "trailing bytes");
  expect_error(parse_header(R"({} {})"), "trailing bytes");
}

TEST(JsonBounds, GoldenModelsStillLoad) {
  for (const char* name : {"qwen2-tiny", "qwen3-tiny", "llama-tiny", "qwen3moe-tiny",
                           "qwen2-yarn-tiny", "qwen3-e2e"}) {
    auto c = load_model_config(test::golden_model(name));
    EXPECT_TRUE(c.is_ok()) << name << ": " << c.status().to_string();
    auto w = WeightStore::open_dir(test::golden_model(name));
    EXPECT_TRUE(w.is_ok()) << name << ": " << w.status().to_string();
    if (w.is_ok()) EXPECT_FALSE((*w)->names().empty());
  }
}

}  // namespace
}  // namespace yun
