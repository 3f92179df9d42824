// Tokenizer::from_json on small hand-written tokenizer.json files: the
// supported components, and errors that name the problem.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "yun/text/pretokenizer.h"
#include "yun/text/tokenizer.h"

namespace yun {
namespace {

// A tiny byte-level BPE over "a", "b", "c", " " with merges a+b, ab+c.
std::string tiny_json(const std::string& merges = R"(["a b", "ab c"])",
                      const std::string& pre = R"({"type": "ByteLevel", "add_prefix_space": false,
                                                    "use_regex": true})",
                      const std::string& added = "[]") {
  return R"({"version": "1.0", "added_tokens": )" + added +
         R"(, "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}]},
         "pre_tokenizer": )" + pre + R"(,
         "decoder": {"type": "ByteLevel"},
         "model": {"type": "BPE", "ignore_merges": false,
           "vocab": {"a": 0, "b": 1, "c": 2, "Ġ": 3, "ab": 4, "abc": 5, "\u0120a": 6},
           "merges": )" + merges + "}}";
}

std::shared_ptr<Tokenizer> must_load(const std::string& json, const std::string& cfg = "") {
  auto r = Tokenizer::from_json(json, cfg);
  EXPECT_TRUE(r) << r.status().to_string();
  return r ? r.value() : nullptr;
}

TEST(TokenizerJson, TinyBpeEncodesAndDecodes) {
  auto tok = must_load(tiny_json());
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->encode("abc"), (std::vector<int32_t>{5}));
  EXPECT_EQ(tok->encode("ab"), (std::vector<int32_t>{4}));
  EXPECT_EQ(tok->encode("cab a"), (std::vector<int32_t>{2, 4, 3, 0}));
  EXPECT_EQ(tok->decode({2, 4, 3, 0}, false), "cab a");
  EXPECT_EQ(tok->token_bytes(3), " ");
  EXPECT_EQ(tok->vocab_size(), 7);
}

TEST(TokenizerJson, MergesAsArrays) {
  auto tok = must_load(tiny_json(R"([["a", "b"], ["ab", "c"]])"));
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->encode("abc"), (std::vector<int32_t>{5}));
}

TEST(TokenizerJson, SplitRegexBehaviors) {
  auto pre = [](const std::string& behavior) {
    return R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "c"},
               "behavior": ")" + behavior + R"(", "invert": false},
              {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})";
  };
  auto iso = must_load(tiny_json(R"(["a b", "ab c"])", pre("Isolated")));
  ASSERT_TRUE(iso);
  EXPECT_EQ(iso->encode("abc"), (std::vector<int32_t>{4, 2}));
  auto rem = must_load(tiny_json(R"(["a b", "ab c"])", pre("Removed")));
  ASSERT_TRUE(rem);
  EXPECT_EQ(rem->encode("abcab"), (std::vector<int32_t>{4, 4}));
  auto prev = must_load(tiny_json(R"(["a b", "ab c"])", pre("MergedWithPrevious")));
  ASSERT_TRUE(prev);
  EXPECT_EQ(prev->encode("abc"), (std::vector<int32_t>{5}));
  auto next = must_load(tiny_json(R"(["a b", "ab c"])", pre("MergedWithNext")));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->encode("abcab"), (std::vector<int32_t>{4, 2, 4}));
}

TEST(TokenizerJson, AddedTokenFlags) {
  auto tok = must_load(tiny_json(R"(["a b", "ab c"])",
                                 R"({"type": "ByteLevel", "add_prefix_space": false})",
                                 R"([{"id": 7, "content": "<x>", "special": true, "lstrip": true,
                                      "rstrip": true, "normalized": false, "single_word": false},
                                     {"id": 8, "content": "<x>y", "special": false,
                                      "normalized": false}])"));
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->encode("a <x> b"), (std::vector<int32_t>{0, 7, 1}));
  EXPECT_EQ(tok->encode("a<x>y"), (std::vector<int32_t>{0, 8}));  // longest match
  EXPECT_EQ(tok->decode({0, 7, 1}, true), "ab");
  EXPECT_EQ(tok->decode({0, 7, 1}, false), "a<x>b");
  EXPECT_TRUE(tok->is_special(7));
  EXPECT_FALSE(tok->is_special(8));
}

TEST(TokenizerJson, ConfigFields) {
  auto tok = must_load(tiny_json(), R"({"bos_token": {"content": "<s>"}, "eos_token": "</s>",
      "pad_token": null, "chat_template": [{"name": "tool_use", "template": "T"},
                                           {"name": "default", "template": "D"}],
      "added_tokens_decoder": {"9": {"content": "<z>", "special": true}}})");
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->bos_token(), "<s>");
  EXPECT_EQ(tok->eos_token(), "</s>");
  EXPECT_EQ(tok->pad_token(), "");
  EXPECT_EQ(tok->chat_template(), "D");
  EXPECT_EQ(tok->encode("<z>"), (std::vector<int32_t>{9}));
  EXPECT_EQ(tok->vocab_size(), 10);
}

void expect_error(const std::string& json, const std::string& needle,
                  const std::string& cfg = "") {
  auto r = Tokenizer::from_json(json, cfg);
  ASSERT_FALSE(r) << "expected an error mentioning " << needle;
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().to_string();
}

TEST(TokenizerJson, MalformedFilesNameTheProblem) {
  expect_error("", "expected a JSON object");
  expect_error("{\"model\": {", "tokenizer.json");
  expect_error("[1, 2]", "expected a JSON object");
  expect_error(R"({"version": "1.0"})", "no \"model\"");
  expect_error(R"({"model": {"type": "BPE", "merges": []}})", "no \"vocab\"");
  expect_error(R"({"model": {"type": "BPE", "vocab": {}}})", "no \"merges\"");
  expect_error(R"({"model": {"type": "WordPiece", "vocab": {}, "merges": []}})", "WordPiece");
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}})", "model.vocab");
  expect_error(tiny_json(R"(["a q"])"), "\"q\" is not in the vocab");
  expect_error(tiny_json(R"(["a c"])"), "merged token \"ac\"");
  expect_error(tiny_json(R"(["abc"])"), "not two tokens");
  expect_error(tiny_json(R"(["a b"])", R"({"type": "Split", "pattern": {"Regex": "("},
                                          "behavior": "Isolated"})"),
               "does not compile");
  expect_error(tiny_json(R"(["a b"])", R"({"type": "Split", "pattern": {"Regex": "a"},
                                          "behavior": "Sideways"})"),
               "Sideways");
  expect_error(tiny_json(R"(["a b"])", R"({"type": "Metaspace"})"), "Metaspace");
  expect_error(tiny_json(R"(["a b"])", "null", R"([{"id": 1}])"), "added_tokens[0]");
  expect_error(tiny_json(), "eos_token", R"({"eos_token": 5})");
  expect_error(tiny_json(), "tokenizer_config.json", "{not json");
  expect_error(tiny_json() + " x", "trailing characters");
  expect_error(tiny_json(), "out-of-range id",
               R"({"added_tokens_decoder": {"2147483647": {"content": "<big>"}}})");
}

TEST(TokenizerJson, NormalizerTypes) {
  std::string json = tiny_json();
  auto pos = json.find(R"({"type": "Sequence", "normalizers")");
  ASSERT_NE(pos, std::string::npos);
  std::string bad = json;
  bad.replace(pos, std::string(R"({"type": "Sequence", "normalizers": [{"type": "NFC"}]})").size(),
              R"({"type": "Precompiled"})");
  expect_error(bad, "Precompiled");
}

}  // namespace
}  // namespace yun

namespace yun::text {
namespace {

std::vector<std::string> pieces(const PreTokenizer& p, const std::string& text) {
  std::string buf;
  std::vector<Span> spans;
  p.split(text, buf, spans);
  std::vector<std::string> out;
  for (Span s : spans) out.push_back(buf.substr(s.begin, s.end - s.begin));
  return out;
}

TEST(TokenizerPreTokenizer, Llama3PatternGroupsDigitsByThree) {
  const std::string llama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  auto p = PreTokenizer::from_json(nlohmann::json{
      {"type", "Split"}, {"pattern", {{"Regex", llama3}}}, {"behavior", "Isolated"}});
  ASSERT_TRUE(p) << p.status().to_string();
  EXPECT_EQ(pieces(*p, "x 1234567 HELLO'S  world\n\n"),
            (std::vector<std::string>{"x", " ", "123", "456", "7", " HELLO", "'S", " ", " world",
                                      "\n\n"}));
}

TEST(TokenizerPreTokenizer, ByteLevelPrefixSpaceAndGpt2Regex) {
  auto p = PreTokenizer::from_json(
      nlohmann::json{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}});
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->byte_level());
  EXPECT_EQ(pieces(*p, "Hello world's 42"),
            (std::vector<std::string>{" Hello", " world", "'s", " 42"}));
}

}  // namespace
}  // namespace yun::text
