// Engine tests for token constraints (engine/sampling_params.h): structured
// output through a grammar, allowed_token_ids, logit_bias and bad_words, with
// a FakeRunner and a small byte vocabulary (ids 0..94 the printable ASCII
// characters, a few multi-byte tokens, EOS 100).
//   - a constrained request gives the same tokens alone, batched in the same
//     steps with unconstrained and other constrained requests, under chunked
//     prefill and under preemption (recompute), and its output always parses
//     and validates against the schema (tests/grammar/schema_validator.h);
//   - n > 1 samples each follow the grammar, reproducibly with a seed;
//   - the grammar starts after grammar_after_token_id (reasoning);
//   - a grammar that allows nothing more ends the sample with kStop; a token
//     the grammar refuses ends it with kError;
//   - allowed_token_ids, logit_bias and bad_words act as vLLM/OpenAI say.
// Run: build/tests/yun_engine_tests --gtest_filter='EngineGrammar*'
#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/collector.h"
#include "engine/fake_runner.h"
#include "grammar/schema_validator.h"
#include "yun/engine/engine.h"
#include "yun/grammar/compile.h"

namespace yun::test {
namespace {

constexpr int32_t kVocab = 101;
constexpr int32_t kThinkEnd = 99;  // plays </think>
constexpr int32_t kEos = 100;

std::vector<std::string> token_bytes() {
  std::vector<std::string> t;
  for (int c = 32; c < 127; ++c) t.push_back(std::string(1, char(c)));  // ids 0..94
  t.push_back("{\"");    // 95
  t.push_back("\":");    // 96
  t.push_back("\", \"");  // 97
  t.push_back("true");   // 98
  t.push_back("");       // 99: a special token (never allowed by a grammar)
  t.push_back("");       // 100: EOS
  return t;
}

std::shared_ptr<const grammar::TokenVocab> vocab() {
  static auto v = std::make_shared<const grammar::TokenVocab>(token_bytes(), kVocab,
                                                              std::vector<int32_t>{kEos});
  return v;
}

std::string text_of(const std::vector<int32_t>& ids) {
  static const std::vector<std::string> bytes = token_bytes();
  std::string s;
  for (int32_t id : ids) s += bytes[size_t(id)];
  return s;
}

const char* kSchema = R"({"type": "object", "properties": {
  "color": {"enum": ["red", "green", "blue"]},
  "n": {"type": "integer", "minimum": 0, "maximum": 99},
  "ok": {"type": "boolean"},
  "tag": {"type": "string", "maxLength": 4}},
  "required": ["color", "n", "ok"], "additionalProperties": false})";

std::shared_ptr<const grammar::CompiledGrammar> compile(grammar::GrammarSpec spec) {
  grammar::CompileOptions o;
  o.json.max_whitespace = 2;  // short outputs: the tiny KV pools below hold them
  auto g = grammar::compile(spec, vocab(), o);
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  return g.is_ok() ? *g : nullptr;
}

std::shared_ptr<const grammar::CompiledGrammar> schema_grammar(const char* schema = kSchema) {
  return compile({grammar::GrammarSpec::kJsonSchema, schema, {}});
}

std::vector<int32_t> prompt_of(int32_t len, uint32_t salt) {
  std::vector<int32_t> p;
  for (int32_t i = 0; i < len; ++i) p.push_back(int32_t((i * 7 + salt * 31 + 5) % 95));
  return p;
}

EngineConfig config() {
  EngineConfig cfg;
  cfg.num_kv_blocks = 512;
  cfg.eos_token_ids = {kEos};
  return cfg;
}

std::unique_ptr<Engine> make_engine(EngineConfig cfg, FakeRunner** runner_out = nullptr) {
  auto runner = std::make_unique<FakeRunner>(kVocab);
  if (runner_out) *runner_out = runner.get();
  auto e = Engine::create(cfg, std::move(runner), nullptr);
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return std::move(e).value();
}

SamplingParams constrained(uint64_t seed, double temperature = 0.8) {
  SamplingParams p;
  p.temperature = temperature;
  p.seed = seed;
  p.max_tokens = 200;
  p.grammar = schema_grammar();
  return p;
}

SamplingParams unconstrained(int32_t max_tokens) {
  SamplingParams p;
  p.temperature = 1.0;
  p.max_tokens = max_tokens;
  p.ignore_eos = true;
  return p;
}

uint64_t submit(Engine& e, Collector& c, std::vector<int32_t> prompt, SamplingParams p) {
  auto r = e.submit({std::move(prompt), std::move(p), c.sink()});
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : 0;
}

// The reply ended as the grammar says and validates against kSchema.
void expect_valid(const Collected& r, const char* schema = kSchema) {
  ASSERT_EQ(r.finish, FinishReason::kStop) << text_of(r.ids) << " " << r.error.to_string();
  std::vector<int32_t> ids = r.ids;
  if (!ids.empty() && ids.back() == kEos) ids.pop_back();
  const std::string text = text_of(ids);
  auto v = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(v.is_discarded()) << text;
  EXPECT_EQ(SchemaValidator(nlohmann::json::parse(schema)).validate(v), "") << text;
}

// The constrained request `prompt` with `p` in a run where `crowd` other
// requests (half unconstrained, half another grammar) share its steps.
std::vector<int32_t> run_one(EngineConfig cfg, const std::vector<int32_t>& prompt,
                             const SamplingParams& p, int crowd, int64_t* preemptions = nullptr) {
  FakeRunner* runner = nullptr;
  auto e = make_engine(cfg, &runner);
  Collector c;
  uint64_t id = 0;
  std::vector<uint64_t> others;
  {
    std::lock_guard<std::mutex> hold(runner->gate);  // all in the same first steps
    for (int i = 0; i < crowd; ++i) {
      SamplingParams o = i % 2 ? constrained(77 + uint64_t(i), 1.0) : unconstrained(40);
      others.push_back(submit(*e, c, prompt_of(10 + i * 3, uint32_t(i)), o));
    }
    id = submit(*e, c, prompt, p);
  }
  c.wait(crowd + 1);
  for (int i = 0; i < crowd; ++i) {
    if (i % 2) expect_valid(c.get(others[size_t(i)]));
  }
  Collected r = c.get(id);
  expect_valid(r);
  if (preemptions) *preemptions = e->stats().num_preemptions;
  e->shutdown();
  EXPECT_EQ(e->stats().kv_cache_usage, 0.0);
  return r.ids;
}

TEST(EngineGrammarTest, SameOutputAloneBatchedChunkedAndPreempted) {
  for (double temperature : {0.0, 0.8}) {
    for (uint64_t seed : {1u, 2u, 3u}) {
      SCOPED_TRACE("temperature " + std::to_string(temperature) + " seed " + std::to_string(seed));
      const std::vector<int32_t> prompt = prompt_of(23, uint32_t(seed));
      const SamplingParams p = constrained(seed, temperature);
      const std::vector<int32_t> alone = run_one(config(), prompt, p, 0);
      EXPECT_EQ(run_one(config(), prompt, p, 6), alone) << "batched";
      EngineConfig chunked = config();
      chunked.max_num_batched_tokens = 8;
      EXPECT_EQ(run_one(chunked, prompt, p, 4), alone) << "chunked";
      EngineConfig tiny = config();
      tiny.block_size = 4;
      tiny.num_kv_blocks = 40;
      tiny.max_num_seqs = 8;
      int64_t preemptions = 0;
      EXPECT_EQ(run_one(tiny, prompt, p, 7, &preemptions), alone) << "preempted";
      EXPECT_GT(preemptions, 0);
    }
  }
}

TEST(EngineGrammarTest, NSamplesEachFollowTheGrammarReproducibly) {
  auto run = [] {
    auto e = make_engine(config());
    Collector c;
    SamplingParams p = constrained(5, 1.0);
    p.n = 3;
    uint64_t id = submit(*e, c, prompt_of(30, 1), p);
    submit(*e, c, prompt_of(12, 2), unconstrained(30));
    c.wait(4);
    std::vector<std::vector<int32_t>> out;
    for (int i = 0; i < 3; ++i) {
      expect_valid(c.get(id, i));
      out.push_back(c.get(id, i).ids);
    }
    return out;
  };
  auto a = run();
  EXPECT_EQ(a, run());
  EXPECT_TRUE(a[0] != a[1] || a[1] != a[2]) << "samples differ";
}

TEST(EngineGrammarTest, GrammarStartsAfterTheReasoningEnd) {
  auto e = make_engine(config());
  Collector c;
  SamplingParams p = constrained(3, 0.0);
  p.grammar_after_token_id = kThinkEnd;
  p.logit_bias = {{kThinkEnd, 100.0f}};  // the "model" ends its reasoning at once
  uint64_t id = submit(*e, c, prompt_of(9, 3), p);
  c.wait(1);
  Collected r = c.get(id);
  ASSERT_GE(r.ids.size(), 2u);
  EXPECT_EQ(r.ids[0], kThinkEnd);  // unconstrained: the grammar would not allow it
  r.ids.erase(r.ids.begin());
  expect_valid(r);
  // Without the reasoning field the same bias cannot reach the grammar's output.
  p.grammar_after_token_id = -1;
  id = submit(*e, c, prompt_of(9, 3), p);
  c.wait(2);
  expect_valid(c.get(id));
}

TEST(EngineGrammarTest, FinishedGrammarStopsAndRefusedTokenIsAnError) {
  auto e = make_engine(config());
  Collector c;
  SamplingParams p = unconstrained(50);
  p.ignore_eos = false;
  p.grammar = compile({grammar::GrammarSpec::kChoice, "", {"yes", "no", "maybe"}});
  uint64_t id = submit(*e, c, prompt_of(15, 4), p);
  c.wait(1);
  Collected r = c.get(id);
  EXPECT_EQ(r.finish, FinishReason::kStop);
  const std::string t = text_of(r.ids);
  EXPECT_TRUE(t == "yes" || t == "no" || t == "maybe") << t;
  // allowed_token_ids that the grammar never allows: the row is all -inf,
  // the drawn token is refused.
  p.allowed_token_ids = {0};  // ' '
  id = submit(*e, c, prompt_of(15, 4), p);
  c.wait(2);
  r = c.get(id);
  EXPECT_EQ(r.finish, FinishReason::kError);
  EXPECT_NE(r.error.message().find("response format"), std::string::npos) << r.error.to_string();
}

TEST(EngineGrammarTest, AllowedTokenIdsLogitBiasAndBadWords) {
  auto e = make_engine(config());
  Collector c;
  SamplingParams a = unconstrained(60);
  a.seed = 1;
  a.allowed_token_ids = {5, 6, 7};
  uint64_t ia = submit(*e, c, prompt_of(11, 1), a);
  SamplingParams b = unconstrained(20);
  b.temperature = 0;
  b.logit_bias = {{3, 100.0f}};
  uint64_t ib = submit(*e, c, prompt_of(11, 2), b);
  SamplingParams w = a;
  w.bad_words_ids = {{6}, {5, 7}};
  uint64_t iw = submit(*e, c, prompt_of(11, 1), w);
  c.wait(3);
  std::set<int32_t> seen;
  for (int32_t t : c.get(ia).ids) {
    EXPECT_TRUE(t >= 5 && t <= 7) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 3u);
  for (int32_t t : c.get(ib).ids) EXPECT_EQ(t, 3);
  const auto ws = c.get(iw).ids;
  ASSERT_EQ(ws.size(), 60u);
  bool saw_57_candidate = false;
  for (size_t i = 0; i < ws.size(); ++i) {
    EXPECT_NE(ws[i], 6);
    if (i > 0 && ws[i - 1] == 5) EXPECT_NE(ws[i], 7) << i;
    saw_57_candidate |= ws[i] == 7;
  }
  EXPECT_TRUE(saw_57_candidate) << "7 is still allowed after other tokens";
  // Ids past the vocabulary are refused at submit.
  SamplingParams bad = unconstrained(4);
  bad.logit_bias = {{kVocab, 1.0f}};
  EXPECT_EQ(e->submit({prompt_of(3, 0), bad, c.sink()}).status().code(), StatusCode::kInvalidArgument);
  bad = unconstrained(4);
  bad.allowed_token_ids = {-1};
  EXPECT_EQ(e->submit({prompt_of(3, 0), bad, c.sink()}).status().code(), StatusCode::kInvalidArgument);
  bad = unconstrained(4);
  bad.bad_words_ids = {{}};
  EXPECT_EQ(e->submit({prompt_of(3, 0), bad, c.sink()}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace yun::test
