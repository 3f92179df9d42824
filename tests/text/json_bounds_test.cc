// JSON bounds in text/: depth bombs in tokenizer.json and tokenizer_config.json
// fail with the model-file limit (base/json_limits.h) instead of crashing; the
// limit passes at its boundary; trailing bytes are rejected; the real Qwen3
// tokenizer still loads; Jinja's conversion of JSON and its rendering bound
// the nesting of values.
// Run: build/tests/yun_text_tests --gtest_filter='JsonBounds*'
#include <gtest/gtest.h>
#include <pthread.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "test_util.h"
#include "yun/text/chat_template.h"
#include "yun/text/jinja_renderer.h"
#include "yun/text/tokenizer.h"

namespace yun {
namespace {

std::string deep_arrays(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }
std::string deep_objects(size_t depth) {
  std::string s;
  for (size_t k = 0; k < depth; ++k) s += R"({"a":)";
  return s + "1" + std::string(depth, '}');
}
std::string open_objects(size_t depth) {
  std::string s;
  for (size_t k = 0; k < depth; ++k) s += R"({"a":)";
  return s;
}

// A tiny valid tokenizer.json with `extra` as the value of one more section.
std::string tiny_tokenizer(const std::string& extra = "null") {
  return R"({"version": "1.0", "added_tokens": [], "extra": )" + extra + R"(,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})";
}

void expect_error(const Result<std::shared_ptr<Tokenizer>>& r, const std::string& needle) {
  ASSERT_FALSE(r.is_ok()) << "expected an error mentioning " << needle;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().to_string();
}

TEST(JsonBounds, TokenizerJsonDepthBombs) {
  ASSERT_TRUE(Tokenizer::from_json(tiny_tokenizer(), "").is_ok());
  for (const std::string& bomb : {std::string(100000, '['), deep_arrays(100000),
                                  open_objects(100000), deep_objects(100000)}) {
    expect_error(Tokenizer::from_json(tiny_tokenizer(bomb), ""),
                 "tokenizer.json: JSON nesting deeper than 256");
    expect_error(Tokenizer::from_json(bomb, ""), "tokenizer.json: JSON nesting deeper than 256");
  }
}

TEST(JsonBounds, TokenizerJsonDepthBoundary) {
  // The top-level object is one level: 255 more pass, 256 more fail.
  EXPECT_TRUE(Tokenizer::from_json(tiny_tokenizer(deep_arrays(255)), "").is_ok());
  expect_error(Tokenizer::from_json(tiny_tokenizer(deep_arrays(256)), ""), "deeper than 256");
}

TEST(JsonBounds, TokenizerConfigDepthBombsAndTrailingBytes) {
  const std::string tok = tiny_tokenizer();
  for (const std::string& bomb : {std::string(100000, '['), open_objects(100000),
                                  R"({"chat_template": )" + deep_objects(100000) + "}"}) {
    expect_error(Tokenizer::from_json(tok, bomb),
                 "tokenizer_config.json: JSON nesting deeper than 256");
  }
  EXPECT_TRUE(Tokenizer::from_json(tok, R"({"x": )" + deep_arrays(255) + "}").is_ok());
  expect_error(Tokenizer::from_json(tok, R"({"x": )" + deep_arrays(256) + "}"), "deeper than 256");
  expect_error(Tokenizer::from_json(tok, std::string(R"({"eos_token": "b"})") + '\0'),
               "trailing bytes");
  expect_error(Tokenizer::from_json(tok, R"({"eos_token": "b"} x)"), "trailing bytes");
  expect_error(Tokenizer::from_json(tok + std::string(1, '\0'), ""), "trailing");
}

TEST(JsonBounds, TokenizerJsonNulInsideASectionIsAnErrorNotAHang) {
  // Found by fuzz_model_dir (fuzz/corpus/model_dir/crash-tokenizer-json-nul-in-section-hang):
  // the section scanner looped forever on a NUL byte where a value was due.
  const std::string nul(1, '\0');
  for (const std::string& section : {nul, "[1, " + nul + "]", R"({"a": )" + nul + "}"}) {
    auto r = Tokenizer::from_json(tiny_tokenizer(section), "");
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("tokenizer.json"), std::string::npos);
  }
}

TEST(JsonBounds, RealQwenTokenizerStillLoads) {
  auto t0 = std::chrono::steady_clock::now();
  auto tok = Tokenizer::load(test::tokenizer_dir());
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  EXPECT_GT((*tok)->vocab_size(), 150000);
  EXPECT_FALSE((*tok)->chat_template().empty());
  EXPECT_EQ((*tok)->decode((*tok)->encode("Hello, world!"), false), "Hello, world!");
  std::printf("Qwen3 tokenizer load with the pre-scan: %.1f ms\n", ms);
}

TEST(JsonBounds, JinjaConversionOfDeepJsonIsAnError) {
  // Values that did not come through the request limits (e.g. `yun template`
  // lines): the conversion stops at 512 levels with an error.
  auto body = jinja::parse("{{ x | length }}");
  ASSERT_TRUE(body.is_ok());
  nlohmann::ordered_json deep = nlohmann::ordered_json::array();
  for (int k = 0; k < 2000; ++k) deep = nlohmann::ordered_json::array({std::move(deep)});
  auto r = jinja::render(**body, nlohmann::ordered_json{{"x", deep}});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("nested too deeply"), std::string::npos)
      << r.status().to_string();
  nlohmann::ordered_json shallow = nlohmann::ordered_json::array();
  for (int k = 0; k < 60; ++k) shallow = nlohmann::ordered_json::array({std::move(shallow)});
  r = jinja::render(**body, nlohmann::ordered_json{{"x", shallow}});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, "1");

  auto tmpl = ChatTemplate::parse("{% for m in messages %}{{ m | tojson }}{% endfor %}");
  ASSERT_TRUE(tmpl.is_ok());
  ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::array({deep});
  auto out = (*tmpl)->render(in);
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("nested too deeply"), std::string::npos);
  in.messages = nlohmann::ordered_json::array();
  in.extra = nlohmann::ordered_json{{"kw", deep}};
  EXPECT_FALSE((*tmpl)->render(in).is_ok());
  in.extra = nlohmann::ordered_json{{"kw", shallow}};
  EXPECT_TRUE((*tmpl)->render(in).is_ok());
}

// Runs fn on a thread with a 256 KiB stack (an io or worker thread's budget).
void on_small_stack(void (*fn)(void*), void* arg) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 << 10);
  struct Call {
    void (*fn)(void*);
    void* arg;
  } call{fn, arg};
  pthread_t t;
  ASSERT_EQ(pthread_create(
                &t, &attr,
                [](void* c) -> void* {
                  static_cast<Call*>(c)->fn(static_cast<Call*>(c)->arg);
                  return nullptr;
                },
                &call),
            0);
  pthread_join(t, nullptr);
  pthread_attr_destroy(&attr);
}

TEST(JsonBounds, JinjaValuesBuiltDeepByATemplateAreBounded) {
  // A loop wraps a list in a list 20,000 times, then prints it (refused past
  // 512 levels) and drops it: freeing it must not recurse 20,000 deep.
  Result<std::string> r = std::string();
  on_small_stack(
      [](void* out) {
        auto body = jinja::parse(
            "{% set ns = namespace(x=[]) %}{% for i in range(20000) %}{% set ns.x = [ns.x] %}"
            "{% endfor %}{{ ns.x | tojson }}");
        ASSERT_TRUE(body.is_ok());
        *static_cast<Result<std::string>*>(out) =
            jinja::render(**body, nlohmann::ordered_json::object());
      },
      &r);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("too deep"), std::string::npos) << r.status().to_string();
  auto body = jinja::parse("{{ 1 }}");
  // Recursive macros stop at the call-depth limit.
  body = jinja::parse("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  ASSERT_TRUE(body.is_ok());
  r = jinja::render(**body, nlohmann::ordered_json::object());
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("recursion too deep"), std::string::npos);
  // So does an expression nested 100,000 deep in the template text.
  EXPECT_FALSE(
      jinja::parse("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}")
          .is_ok());
  EXPECT_FALSE(jinja::parse("{{ " + std::string(100000, '[') + " }}").is_ok());
}

}  // namespace
}  // namespace yun
