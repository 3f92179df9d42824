// The one sampling rule (engine/sampling_defaults.h) on a table of cases:
// the model's generation defaults x a request's fields -> SamplingParams.
// `yun run` (flags and --prompts-file lines) and `yun serve` both call
// resolve_sampling_params; tests/e2e/catalogue_sampling.test.mjs checks that
// the three doors give the same tokens.
// Run: build/tests/yun_engine_tests --gtest_filter='SamplingDefaults*'
#include <gtest/gtest.h>

#include "yun/engine/sampling_defaults.h"

namespace yun {
namespace {

using Gen = ModelConfig::GenerationDefaults;

Gen qwen_like() {  // what Qwen2.5/3 instruct models ship
  Gen g;
  g.do_sample = true;
  g.temperature = 0.7;
  g.top_p = 0.8;
  g.top_k = 20;
  g.repetition_penalty = 1.05;
  return g;
}

SamplingParams resolve(const Gen& g, const SamplingRequest& r, int64_t prompt = 10,
                       int64_t ctx_len = 100, std::optional<int64_t> dflt = std::nullopt) {
  SamplingParams p;
  SamplingContext c{prompt, ctx_len, dflt};
  auto e = resolve_sampling_params(g, r, c, p);
  EXPECT_FALSE(e) << (e ? e->field + ": " + e->status.message() : "");
  return p;
}

struct Case {
  const char* name;
  Gen gen;
  SamplingRequest req;
  double temperature, top_p;
  int32_t top_k;
  double min_p, repetition_penalty;
};

TEST(SamplingDefaultsTest, TableOfCases) {
  Gen none;
  Gen greedy_model;
  greedy_model.do_sample = false;
  greedy_model.temperature = 0.6;  // unused by transformers when do_sample is false
  greedy_model.repetition_penalty = 1.1;
  SamplingRequest empty;
  SamplingRequest t0;
  t0.temperature = 0;
  SamplingRequest t0_pen = t0;
  t0_pen.repetition_penalty = 1.3;
  SamplingRequest t09;
  t09.temperature = 0.9;
  SamplingRequest k0;
  k0.top_k = 0;
  k0.top_p = 0.5;
  const Case cases[] = {
      {"no generation config: neutral", none, empty, 1.0, 1.0, -1, 0.0, 1.0},
      {"model defaults", qwen_like(), empty, 0.7, 0.8, 20, 0.0, 1.05},
      {"temperature 0: raw argmax", qwen_like(), t0, 0.0, 1.0, -1, 0.0, 1.0},
      {"temperature 0 + own penalty", qwen_like(), t0_pen, 0.0, 1.0, -1, 0.0, 1.3},
      {"request temperature over model", qwen_like(), t09, 0.9, 0.8, 20, 0.0, 1.05},
      {"top_k 0 is off", qwen_like(), k0, 0.7, 0.5, -1, 0.0, 1.05},
      {"do_sample false: greedy", greedy_model, empty, 0.0, 1.0, -1, 0.0, 1.0},
      {"do_sample false, request samples", greedy_model, t09, 0.9, 1.0, -1, 0.0, 1.0},
      {"do_sample false + own penalty", greedy_model, t0_pen, 0.0, 1.0, -1, 0.0, 1.3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SamplingParams p = resolve(c.gen, c.req);
    EXPECT_DOUBLE_EQ(p.temperature, c.temperature);
    EXPECT_DOUBLE_EQ(p.top_p, c.top_p);
    EXPECT_EQ(p.top_k, c.top_k);
    EXPECT_DOUBLE_EQ(p.min_p, c.min_p);
    EXPECT_DOUBLE_EQ(p.repetition_penalty, c.repetition_penalty);
    EXPECT_EQ(p.greedy(), c.temperature == 0.0);
  }
}

TEST(SamplingDefaultsTest, MaxTokensDefaultsAndContext) {
  SamplingRequest r;
  EXPECT_EQ(resolve({}, r).max_tokens, 90);               // serve: the remaining context
  EXPECT_EQ(resolve({}, r, 10, 100, 256).max_tokens, 90);  // run's 256, within the context
  EXPECT_EQ(resolve({}, r, 10, 1000, 256).max_tokens, 256);
  Gen g;
  g.max_new_tokens = 40;  // the model's cap, as vLLM applies it
  EXPECT_EQ(resolve(g, r).max_tokens, 40);
  r.max_tokens = 90;  // explicit: up to the context
  EXPECT_EQ(resolve(g, r).max_tokens, 90);

  SamplingParams p;
  r.max_tokens = 91;
  auto e = resolve_sampling_params({}, r, {10, 100, std::nullopt}, p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "max_tokens");
  EXPECT_NE(e->status.message().find("maximum context length is 100"), std::string::npos);
  r.max_tokens.reset();
  e = resolve_sampling_params({}, r, {100, 100, std::nullopt}, p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "prompt");
  e = resolve_sampling_params({}, r, {0, 100, std::nullopt}, p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "prompt");
  r.min_tokens = 95;
  e = resolve_sampling_params({}, r, {10, 100, std::nullopt}, p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "min_tokens");
}

TEST(SamplingDefaultsTest, RequestOnlyFieldsAndValidation) {
  SamplingRequest r;
  r.presence_penalty = 0.5;
  r.seed = 7;
  r.stop = {"END"};
  r.stop_token_ids = {3};
  r.logprobs = 2;
  r.ignore_eos = true;
  SamplingParams p = resolve(qwen_like(), r);
  EXPECT_EQ(p.presence_penalty, 0.5);
  EXPECT_EQ(*p.seed, 7u);
  EXPECT_EQ(p.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(p.stop_token_ids, std::vector<int32_t>{3});
  EXPECT_EQ(p.logprobs, 2);
  EXPECT_TRUE(p.ignore_eos);
  // The runner gets the same numbers (SamplingParams is a SamplingOptions).
  EXPECT_EQ(p.sampling_options().top_k, 20);

  r.top_p = 1.5;
  auto e = resolve_sampling_params(qwen_like(), r, {10, 100, std::nullopt}, p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "top_p");
  EXPECT_EQ(e->status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace yun
