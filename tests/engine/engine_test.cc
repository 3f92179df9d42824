// Engine tests through the public API with a FakeRunner (deterministic
// logits computed from the KV cache contents): greedy outputs equal the
// reference under chunking, preemption and prefix caching; stops; aborts;
// validation; seeded sampling independent of the batch; n > 1; logprobs;
// runner errors; and 10,000 random requests with random aborts ending with
// every block back in the pool.
// Run: build-engine/tests/yun_engine_tests --gtest_filter='Engine*'
#include "yun/engine/engine.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "engine/collector.h"
#include "engine/fake_runner.h"

namespace yun::test {
namespace {

constexpr int32_t kVocab = 101;

std::vector<int32_t> make_prompt(int32_t len, uint32_t salt) {
  std::vector<int32_t> p;
  for (int32_t i = 0; i < len; ++i)
    p.push_back(static_cast<int32_t>((i * 7 + salt * 31 + 5) % kVocab));
  return p;
}

std::unique_ptr<Engine> make_engine(EngineConfig cfg, FakeRunner** runner_out = nullptr) {
  auto runner = std::make_unique<FakeRunner>(kVocab);
  if (runner_out) *runner_out = runner.get();
  auto e = Engine::create(cfg, std::move(runner), nullptr);
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return std::move(e).value();
}

SamplingParams greedy(int32_t max_tokens) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  p.ignore_eos = true;
  return p;
}

uint64_t submit(Engine& e, Collector& c, std::vector<int32_t> prompt, SamplingParams p) {
  auto r = e.submit({std::move(prompt), std::move(p), c.sink()});
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : 0;
}

// Greedy outputs equal the reference in several engine configurations.
void check_greedy_configs(const EngineConfig& cfg, int num_requests, bool expect_preemption) {
  FakeRunner* runner = nullptr;
  auto e = make_engine(cfg, &runner);
  Collector c;
  std::vector<std::pair<uint64_t, std::vector<int32_t>>> reqs;
  {
    // Hold the runner so that all requests are queued before the first step ends.
    std::lock_guard<std::mutex> hold(runner->gate);
    for (int i = 0; i < num_requests; ++i) {
      auto prompt = make_prompt(1 + (i * 13) % 57, i % 5);  // repeated salts: shared prefixes
      reqs.push_back({submit(*e, c, prompt, greedy(12)), prompt});
    }
  }
  c.wait(num_requests);
  for (auto& [id, prompt] : reqs) {
    Collected r = c.get(id);
    EXPECT_EQ(r.ids, fake_greedy(prompt, 12, kVocab)) << "prompt len " << prompt.size();
    EXPECT_EQ(r.finish, FinishReason::kLength);
    EXPECT_EQ(r.usage.completion_tokens, 12);
    EXPECT_EQ(r.usage.prompt_tokens, static_cast<int32_t>(prompt.size()));
  }
  EngineStats s = e->stats();
  if (expect_preemption) EXPECT_GT(s.num_preemptions, 0);
  e->shutdown();
  EXPECT_EQ(e->stats().kv_cache_usage, 0.0);
}

TEST(EngineTest, GreedyMatchesReferenceDefaultConfig) {
  EngineConfig cfg;
  cfg.num_kv_blocks = 512;
  check_greedy_configs(cfg, 16, false);
}

TEST(EngineTest, GreedyMatchesReferenceChunkedTinyPoolFewSeqs) {
  EngineConfig cfg;
  cfg.block_size = 4;
  cfg.num_kv_blocks = 24;  // 96 tokens for 16 requests of up to 69 tokens each
  cfg.max_num_batched_tokens = 16;
  cfg.max_num_seqs = 4;
  check_greedy_configs(cfg, 16, true);
  cfg.enable_prefix_cache = false;
  check_greedy_configs(cfg, 16, true);
  cfg.max_num_seqs = 2;
  cfg.num_kv_blocks = 64;
  check_greedy_configs(cfg, 16, false);
}

TEST(EngineTest, DuplicatePromptsHitPrefixCache) {
  EngineConfig cfg;
  cfg.num_kv_blocks = 64;
  auto e = make_engine(cfg);
  Collector c;
  auto prompt = make_prompt(40, 3);
  uint64_t a = submit(*e, c, prompt, greedy(5));
  c.wait(1);
  uint64_t b = submit(*e, c, prompt, greedy(5));
  c.wait(2);
  EXPECT_EQ(c.get(a).ids, c.get(b).ids);
  EXPECT_EQ(c.get(a).usage.cached_prompt_tokens, 0);
  EXPECT_EQ(c.get(b).usage.cached_prompt_tokens, 32);  // two full blocks of 16
  EngineStats s = e->stats();
  EXPECT_EQ(s.prefix_cache_queries, 80);
  EXPECT_EQ(s.prefix_cache_hits, 32);
}

TEST(EngineTest, EosStopTokenIdsAndMinTokens) {
  auto prompt = make_prompt(9, 1);
  auto ref = fake_greedy(prompt, 20, kVocab);
  EngineConfig cfg;
  cfg.num_kv_blocks = 64;
  cfg.eos_token_ids = {ref[3]};
  auto e = make_engine(cfg);
  Collector c;
  SamplingParams p = greedy(20);
  p.ignore_eos = false;
  uint64_t a = submit(*e, c, prompt, p);
  p.ignore_eos = true;
  uint64_t b = submit(*e, c, prompt, p);
  SamplingParams q = greedy(20);
  q.stop_token_ids = {ref[5]};
  uint64_t d = submit(*e, c, prompt, q);
  c.wait(3);
  auto first = std::find(ref.begin(), ref.end(), ref[3]) - ref.begin();
  EXPECT_EQ(c.get(a).ids, std::vector<int32_t>(ref.begin(), ref.begin() + first + 1));
  EXPECT_EQ(c.get(a).finish, FinishReason::kStop);
  EXPECT_EQ(c.get(b).ids, ref);
  EXPECT_EQ(c.get(b).finish, FinishReason::kLength);
  EXPECT_EQ(c.get(d).finish, FinishReason::kStop);
  EXPECT_EQ(c.get(d).stop_reason, std::to_string(ref[5]));
  EXPECT_EQ(c.get(d).ids.back(), ref[5]);

  // min_tokens: the EOS id cannot be sampled before 8 tokens.
  SamplingParams m = greedy(20);
  m.ignore_eos = false;
  m.min_tokens = 8;
  uint64_t f = submit(*e, c, prompt, m);
  c.wait(4);
  Collected rf = c.get(f);
  ASSERT_GE(rf.ids.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_NE(rf.ids[i], ref[3]);
}

TEST(EngineTest, SubmitValidation) {
  EngineConfig cfg;
  cfg.num_kv_blocks = 4;  // 64 tokens
  cfg.max_model_len = 100;
  auto e = make_engine(cfg);
  Collector c;
  EXPECT_EQ(e->submit({{}, greedy(1), c.sink()}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e->submit({{1, kVocab}, greedy(1), c.sink()}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(e->submit({make_prompt(90, 0), greedy(20), c.sink()}).status().code(),
            StatusCode::kInvalidArgument);  // past max_model_len
  auto too_big = e->submit({make_prompt(70, 0), greedy(1), c.sink()});
  EXPECT_FALSE(too_big.is_ok());
  EXPECT_NE(too_big.status().message().find("KV"), std::string::npos);
  SamplingParams bad = greedy(1);
  bad.top_p = 0;
  EXPECT_EQ(e->submit({{1}, bad, c.sink()}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e->max_model_len(), 100);
  e->shutdown();
  EXPECT_EQ(e->submit({{1}, greedy(1), c.sink()}).status().code(), StatusCode::kUnavailable);
}

TEST(EngineTest, CreateValidation) {
  EngineConfig cfg;
  cfg.max_model_len = 100000;  // past max_position_embeddings
  EXPECT_FALSE(Engine::create(cfg, std::make_unique<FakeRunner>(kVocab), nullptr).is_ok());
  cfg = EngineConfig();
  cfg.max_num_seqs = 0;
  EXPECT_FALSE(Engine::create(cfg, std::make_unique<FakeRunner>(kVocab), nullptr).is_ok());
  cfg = EngineConfig();
  cfg.kv_cache_memory = 10;  // less than one block
  auto r = Engine::create(cfg, std::make_unique<FakeRunner>(kVocab), nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  cfg = EngineConfig();  // default size: min(1 GiB, 4096 * 256 * 64 bytes) / (64 * 16)
  auto d = Engine::create(cfg, std::make_unique<FakeRunner>(kVocab), nullptr);
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ((*d)->stats().num_kv_blocks, 4096 * 256 / 16);
}

TEST(EngineTest, AbortAndShutdownEndEveryRequest) {
  EngineConfig cfg;
  cfg.num_kv_blocks = 64;
  FakeRunner* runner = nullptr;
  auto e = make_engine(cfg, &runner);
  runner->step_delay_us = 500;  // 4000 steps take seconds: still running at shutdown
  Collector c;
  uint64_t a = submit(*e, c, make_prompt(10, 1), greedy(4000));
  uint64_t b = submit(*e, c, make_prompt(10, 2), greedy(4000));
  e->abort(a);
  c.wait(1);
  EXPECT_EQ(c.get(a).finish, FinishReason::kAbort);
  e->abort(a);  // no-op
  e->shutdown();
  c.wait(2);
  EXPECT_EQ(c.get(b).finish, FinishReason::kAbort);
}

TEST(EngineTest, SeededSamplingIgnoresBatchCompanions) {
  EngineConfig cfg;
  cfg.num_kv_blocks = 256;
  SamplingParams p;
  p.temperature = 1.3;
  p.top_k = 20;
  p.top_p = 0.95;
  p.seed = 1234;
  p.max_tokens = 30;
  p.ignore_eos = true;
  auto prompt = make_prompt(17, 4);
  std::vector<int32_t> alone, crowded;
  {
    auto e = make_engine(cfg);
    Collector c;
    uint64_t id = submit(*e, c, prompt, p);
    c.wait(1);
    alone = c.get(id).ids;
  }
  {
    auto e = make_engine(cfg);
    Collector c;
    for (int i = 0; i < 6; ++i) {
      SamplingParams o = p;
      o.seed = std::nullopt;
      submit(*e, c, make_prompt(5 + i, i), o);
    }
    uint64_t id = submit(*e, c, prompt, p);
    c.wait(7);
    crowded = c.get(id).ids;
  }
  EXPECT_EQ(alone.size(), 30u);
  EXPECT_EQ(alone, crowded);
  EXPECT_NE(alone, fake_greedy(prompt, 30, kVocab));  // really sampled
}

TEST(EngineTest, NSamplesShareThePrompt) {
  EngineConfig cfg;
  cfg.num_kv_blocks = 64;
  auto e = make_engine(cfg);
  Collector c;
  auto prompt = make_prompt(37, 2);
  SamplingParams g = greedy(6);
  g.n = 3;
  uint64_t a = submit(*e, c, prompt, g);
  SamplingParams s;
  s.temperature = 1.0;
  s.seed = 9;
  s.n = 4;
  s.max_tokens = 8;
  s.ignore_eos = true;
  uint64_t b = submit(*e, c, prompt, s);
  c.wait(7);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.get(a, i).ids, fake_greedy(prompt, 6, kVocab)) << i;
    EXPECT_EQ(c.get(a, i).finish, FinishReason::kLength);
  }
  EXPECT_EQ(c.get(a, 1).usage.cached_prompt_tokens, 32);  // the fork shares 2 full blocks
  std::set<std::vector<int32_t>> distinct;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(c.get(b, i).ids.size(), 8u);
    distinct.insert(c.get(b, i).ids);
  }
  EXPECT_GT(distinct.size(), 1u);
  e->shutdown();
  EXPECT_EQ(e->stats().kv_cache_usage, 0.0);
}

TEST(EngineTest, LogprobsAreNormalizedAndRanked) {
  EngineConfig cfg;
  cfg.num_kv_blocks = 64;
  auto e = make_engine(cfg);
  Collector c;
  SamplingParams p = greedy(5);
  p.logprobs = 3;
  uint64_t a = submit(*e, c, make_prompt(8, 1), p);
  c.wait(1);
  Collected r = c.get(a);
  ASSERT_EQ(r.logprobs.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    const TokenLogprob& lp = r.logprobs[i];
    EXPECT_EQ(lp.token_id, r.ids[i]);
    ASSERT_EQ(lp.top.size(), 3u);
    EXPECT_EQ(lp.top[0].first, r.ids[i]);  // greedy picks the best
    EXPECT_FLOAT_EQ(lp.top[0].second, lp.logprob);
    EXPECT_GE(lp.top[0].second, lp.top[1].second);
    EXPECT_GE(lp.top[1].second, lp.top[2].second);
    EXPECT_LT(lp.logprob, 0.0f);
    EXPECT_GT(lp.logprob, -1.0f);
  }
}

TEST(EngineTest, RunnerErrorFailsTheBatch) {
  EngineConfig cfg;
  cfg.num_kv_blocks = 64;
  FakeRunner* runner = nullptr;
  auto e = make_engine(cfg, &runner);
  Collector c;
  runner->fail_next = true;
  uint64_t a = submit(*e, c, make_prompt(8, 1), greedy(5));
  c.wait(1);
  EXPECT_EQ(c.get(a).finish, FinishReason::kError);
  EXPECT_FALSE(c.get(a).error.is_ok());
  uint64_t b = submit(*e, c, make_prompt(8, 1), greedy(5));  // the engine goes on
  c.wait(2);
  EXPECT_EQ(c.get(b).ids, fake_greedy(make_prompt(8, 1), 5, kVocab));
}

// 10,000 random requests, random aborts from another thread, a small pool:
// every request ends exactly once, completed ones equal the reference, and
// every block is back (free, or cached with ref count 0: usage 0).
TEST(EngineTest, TenThousandRandomRequestsWithAborts) {
  for (bool prefix : {true, false}) {
    EngineConfig cfg;
    cfg.block_size = 8;
    cfg.num_kv_blocks = 96;
    cfg.max_num_seqs = 32;
    cfg.max_num_batched_tokens = 128;
    cfg.enable_prefix_cache = prefix;
    auto e = make_engine(cfg);
    Collector c;
    std::mt19937 rng(prefix ? 1 : 2);
    const int kN = prefix ? 10000 : 3000;
    std::vector<std::tuple<uint64_t, std::vector<int32_t>, int32_t>> reqs;
    for (int i = 0; i < kN; ++i) {
      auto prompt = make_prompt(1 + rng() % 60, rng() % 8);
      int32_t max_tokens = 1 + rng() % 16;
      uint64_t id = submit(*e, c, prompt, greedy(max_tokens));
      reqs.emplace_back(id, prompt, max_tokens);
      if (rng() % 7 == 0) e->abort(std::get<0>(reqs[rng() % reqs.size()]));
    }
    c.wait(kN);
    int aborted = 0;
    for (auto& [id, prompt, max_tokens] : reqs) {
      Collected r = c.get(id);
      auto ref = fake_greedy(prompt, max_tokens, kVocab);
      if (r.finish == FinishReason::kAbort) {
        ++aborted;
        ASSERT_LE(r.ids.size(), ref.size());
        ASSERT_TRUE(std::equal(r.ids.begin(), r.ids.end(), ref.begin()));
      } else {
        ASSERT_EQ(r.finish, FinishReason::kLength);
        ASSERT_EQ(r.ids, ref);
      }
    }
    EXPECT_GT(aborted, 0);
    // Stats are published after each step; wait for the final snapshot.
    for (int i = 0; i < 1000 && (e->stats().num_running || e->stats().num_waiting); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EngineStats s = e->stats();
    EXPECT_EQ(s.num_running + s.num_waiting, 0);
    EXPECT_EQ(s.kv_cache_usage, 0.0);
    if (prefix) EXPECT_GT(s.prefix_cache_hits, 0);
  }
}

}  // namespace
}  // namespace yun::test
