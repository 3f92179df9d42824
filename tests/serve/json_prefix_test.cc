// Tests of JsonPrefixScanner: valid objects/arrays complete exactly at their
// closing bracket whatever the split, invalid text stops at the first bad
// byte, and on random mutations it agrees with nlohmann::json's parser.
// Run: build/tests/yun_serve_tests --gtest_filter='JsonPrefix*'
#include "yun/serve/json_prefix.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

namespace yun::serve {
namespace {

using State = JsonPrefixScanner::State;

const char* kValid[] = {
    "{}",
    "[]",
    " \n{ }",
    R"({"city": "Paris"})",
    R"({"a": [1, -2.5e+3, 0, 0.0, -0, 1E9, true, false, null, {"b": {}}], "c": []})",
    R"({"s": "q\"uo\\te \/ \b\f\n\r\t \u00e9 } ] , :", "n": "</tool_call>"})",
    R"([[[]], [{}], "x", 12, {"k": [true]}])",
    "{\"utf8\": \"caf\xc3\xa9 \xe4\xba\x91\"}",
};

TEST(JsonPrefix, ValidCompletesAtClosingBracketInEverySplit) {
  for (std::string text : kValid) {
    for (size_t split = 0; split <= text.size(); ++split) {
      JsonPrefixScanner s;
      size_t n = s.feed(std::string_view(text).substr(0, split));
      EXPECT_EQ(n, split) << text;
      EXPECT_EQ(s.state(), split == text.size() ? State::kComplete : State::kPartial) << text;
      n += s.feed(std::string_view(text).substr(split));
      EXPECT_EQ(n, text.size()) << text;
      EXPECT_EQ(s.state(), State::kComplete) << text;
    }
  }
}

TEST(JsonPrefix, StopsAfterTheValue) {
  JsonPrefixScanner s;
  EXPECT_EQ(s.feed(R"({"a": 1}}\n</tool_call>)"), 8u);
  EXPECT_EQ(s.state(), State::kComplete);
  EXPECT_EQ(s.feed("more"), 0u);
}

TEST(JsonPrefix, StopsBeforeTheFirstBadByte) {
  struct Case {
    std::string text;
    size_t consumed;
  };
  const Case cases[] = {
      {R"({"a": oops})", 6},      {R"({"a": 1,})", 8},      {R"({"a" 1})", 5},
      {R"({a: 1})", 1},           {"\"str\"", 0},           {"5", 0},
      {R"({"a": 01})", 7},        {R"({"a": 1.})", 8},      {R"({"a": -})", 7},
      {R"({"a": 1e})", 8},        {R"({"a": tru})", 9},     {R"({"a": "\x"})", 8},
      {R"({"a": "\u12g4"})", 11}, {"{\"a\": \"x\ny\"}", 8}, {R"([1 2])", 3},
      {R"({"a": 1])", 7},         {R"([1}])", 2},
  };
  for (const auto& c : cases) {
    JsonPrefixScanner s;
    EXPECT_EQ(s.feed(c.text), c.consumed) << c.text;
    EXPECT_EQ(s.state(), State::kError) << c.text;
    EXPECT_TRUE(nlohmann::json::parse(c.text, nullptr, false).is_discarded() ||
                !nlohmann::json::parse(c.text).is_structured())
        << c.text;
  }
}

// Random edits of valid documents: the scanner completes with only
// whitespace after the value exactly when nlohmann parses an object/array.
TEST(JsonPrefix, AgreesWithNlohmannOnMutations) {
  std::mt19937 rng(1234);
  const std::string alphabet = "{}[]\":,.-+eE0123456789 \n\ttrufalsn\\/bx";
  int checked = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string text = kValid[rng() % std::size(kValid)];
    // UTF-8 is not checked by the scanner: mutate ASCII documents only.
    if (std::any_of(text.begin(), text.end(), [](char c) { return c & 0x80; })) continue;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      size_t pos = rng() % text.size();
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          text[pos] = c;
          break;
        case 1:
          text.insert(text.begin() + pos, c);
          break;
        default:
          text.erase(pos, 1);
      }
    }
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_discarded() && !j.is_structured()) continue;  // a scalar document
    JsonPrefixScanner s;
    size_t n = s.feed(text);
    bool complete =
        s.state() == State::kComplete && text.find_first_not_of(" \t\r\n", n) == std::string::npos;
    EXPECT_EQ(complete, !j.is_discarded()) << text;
    ++checked;
  }
  EXPECT_GT(checked, 10000);
}

}  // namespace
}  // namespace yun::serve
