// The parts of POST /v1/embeddings that need no engine (serve/embeddings_api.h):
// body parsing and its 400s, L2 normalization with Matryoshka truncation, and
// the base64 encoding (little-endian float32), checked against a decoder
// written here. The route itself runs in tests/e2e/embeddings.test.mjs.
// Run: build/tests/yun_serve_tests --gtest_filter='EmbeddingsApi*'
#include "yun/serve/embeddings_api.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace yun::serve {
namespace {

std::optional<ApiError> parse(const std::string& body, EmbeddingsRequest& r) {
  return parse_embeddings_request(body, r);
}

TEST(EmbeddingsApi, ParsesEveryInputShape) {
  EmbeddingsRequest r;
  ASSERT_FALSE(parse(R"({"input": "hello", "model": "m"})", r));
  EXPECT_EQ(r.texts, std::vector<std::string>{"hello"});
  EXPECT_FALSE(r.input_is_ids);
  EXPECT_EQ(r.model, "m");
  EXPECT_FALSE(r.base64);
  EXPECT_FALSE(r.dimensions);

  ASSERT_FALSE(
      parse(R"({"input": ["a", "b c"], "encoding_format": "base64", "dimensions": 8})", r));
  EXPECT_EQ(r.texts, (std::vector<std::string>{"a", "b c"}));
  EXPECT_TRUE(r.base64);
  EXPECT_EQ(r.dimensions, 8);

  ASSERT_FALSE(parse(R"({"input": [1, 2, 3], "encoding_format": "float"})", r));
  ASSERT_TRUE(r.input_is_ids);
  EXPECT_EQ(r.token_ids, (std::vector<std::vector<int32_t>>{{1, 2, 3}}));

  ASSERT_FALSE(parse(R"({"input": [[1], [2, 3]], "dimensions": null, "user": "u"})", r));
  EXPECT_EQ(r.token_ids, (std::vector<std::vector<int32_t>>{{1}, {2, 3}}));
  EXPECT_TRUE(r.texts.empty());
}

TEST(EmbeddingsApi, BadBodiesAre400sNamingTheField) {
  struct Case {
    const char* body;
    const char* param;
  };
  const Case cases[] = {
      {R"({})", "input"},
      {R"({"input": null})", "input"},
      {R"({"input": ""})", "input"},
      {R"({"input": []})", "input"},
      {R"({"input": [""]})", "input"},
      {R"({"input": [[]]})", "input"},
      {R"({"input": ["a", 1]})", "input"},
      {R"({"input": [1, "a"]})", "input"},
      {R"({"input": [[1], 2]})", "input"},
      {R"({"input": [-1]})", "input"},
      {R"({"input": [1.5]})", "input"},
      {R"({"input": [4294967296]})", "input"},
      {R"({"input": 5})", "input"},
      {R"({"input": {"a": 1}})", "input"},
      {R"({"input": "a", "encoding_format": "int8"})", "encoding_format"},
      {R"({"input": "a", "encoding_format": 1})", "encoding_format"},
      {R"({"input": "a", "dimensions": 0})", "dimensions"},
      {R"({"input": "a", "dimensions": -3})", "dimensions"},
      {R"({"input": "a", "dimensions": "8"})", "dimensions"},
      {R"({"input": "a", "model": 3})", "model"},
      {R"({"input": "a", "user": 3})", "user"},
  };
  for (const Case& c : cases) {
    EmbeddingsRequest r;
    auto e = parse(c.body, r);
    ASSERT_TRUE(e) << c.body;
    EXPECT_EQ(e->http_status, 400) << c.body;
    EXPECT_EQ(e->param, c.param) << c.body;
  }
  EmbeddingsRequest r;
  EXPECT_TRUE(parse("not json", r));
  EXPECT_TRUE(parse("[1]", r));
  std::string many = R"({"input": [)";
  for (int i = 0; i <= kMaxEmbeddingInputs; ++i) many += (i ? ",\"x\"" : "\"x\"");
  many += "]}";
  auto e = parse(many, r);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "input");
}

TEST(EmbeddingsApi, NormalizesAndTruncates) {
  const std::vector<float> h = {3, 4, 12, 0};
  std::vector<float> full = normalize_embedding(h, 0);
  ASSERT_EQ(full.size(), 4u);
  EXPECT_NEAR(full[0], 3.0 / 13, 1e-7);
  EXPECT_NEAR(full[2], 12.0 / 13, 1e-7);
  std::vector<float> two = normalize_embedding(h, 2);  // Matryoshka: truncate, then renormalize
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NEAR(two[0], 0.6, 1e-7);
  EXPECT_NEAR(two[1], 0.8, 1e-7);
  EXPECT_EQ(normalize_embedding(h, 99).size(), 4u);
  std::vector<float> zero = normalize_embedding(std::vector<float>{0, 0}, 0);
  EXPECT_EQ(zero, (std::vector<float>{0, 0}));
}

std::vector<uint8_t> decode_base64(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    int v = val(c);
    EXPECT_GE(v, 0) << "bad base64 char " << c;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(uint8_t(acc >> bits));
    }
  }
  return out;
}

TEST(EmbeddingsApi, Base64IsLittleEndianFloat32) {
  for (size_t n : {0, 1, 2, 3, 5}) {  // every padding case
    std::vector<float> v;
    for (size_t i = 0; i < n; ++i) v.push_back(float(i) * -0.37f + 1.25f);
    const std::string b = embedding_base64(v);
    EXPECT_EQ(b.size() % 4, 0u);
    std::vector<uint8_t> bytes = decode_base64(b);
    ASSERT_EQ(bytes.size(), n * 4);
    for (size_t i = 0; i < n; ++i) {
      uint32_t u = uint32_t(bytes[4 * i]) | uint32_t(bytes[4 * i + 1]) << 8 |
                   uint32_t(bytes[4 * i + 2]) << 16 | uint32_t(bytes[4 * i + 3]) << 24;
      float f;
      std::memcpy(&f, &u, 4);
      EXPECT_EQ(f, v[i]);
    }
  }
  EXPECT_EQ(embedding_base64(std::vector<float>{1.0f}), "AACAPw==");  // 00 00 80 3f
}

}  // namespace
}  // namespace yun::serve
