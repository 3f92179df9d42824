// The engine with tenants (GenerateRequest::meta, request_meta.h), through
// the public API with a FakeRunner:
// - the bound: tenant A floods 1,000 long requests that fill the batch and
//   the KV pool; tenant B's short request gets its first token within
//   kResumeGraceSteps + 1 engine steps more than on an idle engine;
// - the cache salt: different salts never share prefix-cache blocks, equal
//   salts do, salt 0 is the cache of before, forks still share the prompt;
// - meta validation at submit;
// - invariants: with several tenants (weights, priorities, salts, n > 1),
//   greedy outputs equal the fake model's reference (what each request gives
//   alone) batched, chunked, preempted, with the prefix cache on and off.
// Run: build/tests/yun_engine_tests --gtest_filter='EngineTenant*'
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <thread>

#include "engine/collector.h"
#include "engine/fake_runner.h"
#include "yun/engine/engine.h"
#include "yun/engine/scheduler.h"

namespace yun::test {
namespace {

constexpr int32_t kVocab = 101;

std::vector<int32_t> make_prompt(int32_t len, uint32_t salt) {
  std::vector<int32_t> p;
  for (int32_t i = 0; i < len; ++i)
    p.push_back(static_cast<int32_t>((i * 7 + salt * 31 + 5) % kVocab));
  return p;
}

SamplingParams greedy(int32_t max_tokens, int32_t n = 1) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  p.ignore_eos = true;
  p.n = n;
  return p;
}

RequestMeta meta(uint64_t tenant, double weight = 1.0, int32_t priority = 0,
                 uint64_t cache_salt = 0) {
  RequestMeta m;
  m.tenant = tenant;
  m.weight = weight;
  m.priority = priority;
  m.cache_salt = cache_salt;
  return m;
}

std::unique_ptr<Engine> make_engine(const EngineConfig& cfg, FakeRunner** runner_out = nullptr) {
  auto runner = std::make_unique<FakeRunner>(kVocab);
  if (runner_out) *runner_out = runner.get();
  auto e = Engine::create(cfg, std::move(runner), nullptr);
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return std::move(e).value();
}

uint64_t submit(Engine& e, Collector& c, std::vector<int32_t> prompt, SamplingParams p,
                RequestMeta m) {
  auto r = e.submit({std::move(prompt), std::move(p), c.sink(), m});
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : 0;
}

// Engine steps from B's submission (made between two known steps) to its
// first token, and B's tokens.
struct FirstToken {
  std::atomic<int64_t> step{-1};
  Collector c;
  RequestSink sink(const FakeRunner* runner) {
    RequestSink inner = c.sink();
    return [this, runner, inner](const RequestEvent& e) {
      if (!e.token_ids.empty() && step.load() < 0) step = runner->num_forwards.load();
      inner(e);
    };
  }
};

// Submits B (tenant 2) while the caller holds runner->gate, so that it lands
// between two known steps; returns the engine steps until its first token.
int64_t submit_b_and_wait(Engine& e, FakeRunner* runner, std::unique_lock<std::mutex>& hold,
                          FirstToken& b, uint64_t* id) {
  const int64_t submitted_at = runner->num_forwards.load();
  auto r = e.submit({make_prompt(10, 2), greedy(8), b.sink(runner), meta(2)});
  EXPECT_TRUE(r.is_ok());
  *id = r.is_ok() ? *r : 0;
  hold.unlock();
  b.c.wait(1);
  return b.step.load() - submitted_at;
}

TEST(EngineTenantTest, FloodingTenantDoesNotStarveAnother) {
  EngineConfig cfg;
  cfg.block_size = 16;
  cfg.num_kv_blocks = 256;
  cfg.max_num_seqs = 64;
  int64_t idle = 0;
  {
    FakeRunner* runner = nullptr;
    auto e = make_engine(cfg, &runner);
    FirstToken b;
    uint64_t id = 0;
    std::unique_lock<std::mutex> hold(runner->gate);
    idle = submit_b_and_wait(*e, runner, hold, b, &id);
  }
  EXPECT_EQ(idle, 1);

  FakeRunner* runner = nullptr;
  auto e = make_engine(cfg, &runner);
  runner->step_delay_us = 100;  // the flood's 2,000 steps to its first end take > 0.2 s
  Collector a;
  std::vector<std::pair<uint64_t, std::vector<int32_t>>> flood;
  std::unique_lock<std::mutex> hold(runner->gate);  // all queued before the first step
  for (int i = 0; i < 1000; ++i) {
    auto p = make_prompt(20, 100 + i);
    flood.push_back({submit(*e, a, p, greedy(2000), meta(1)), p});
  }
  // Let the flood fill the batch and the pool; the engine pauses while the
  // gate is held, so the stats read are those of the steps B arrives after.
  EngineStats s;
  for (int i = 0; i < 20000; ++i) {
    hold.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    hold.lock();
    s = e->stats();
    if (s.kv_cache_usage > 0.95 && s.num_waiting > 900 && s.generation_tokens_total > 5000) break;
  }
  EXPECT_GT(s.kv_cache_usage, 0.95);
  EXPECT_GT(s.num_waiting, 900);
  EXPECT_GT(s.num_running, 16);  // the pool binds before the 64 slots do
  FirstToken b;
  uint64_t id = 0;
  const int64_t steps = submit_b_and_wait(*e, runner, hold, b, &id);
  std::printf("[ tenants ] B's first token %lld engine steps after its submission (idle: %lld)\n",
              static_cast<long long>(steps), static_cast<long long>(idle));
  EXPECT_GE(steps, 1);
  EXPECT_LE(steps, idle + Scheduler::kResumeGraceSteps + 1);
  EXPECT_EQ(b.c.get(id).ids, fake_greedy(make_prompt(10, 2), 8, kVocab));
  EXPECT_LT(e->stats().generation_tokens_total, 1000 * 2000 / 4);  // the flood is far from done
  e->shutdown();  // aborts the flood
  a.wait(1000);
  for (auto& [rid, p] : flood) {
    Collected r = a.get(rid);
    ASSERT_EQ(r.ids, fake_greedy(p, static_cast<int>(r.ids.size()), kVocab));
  }
  EXPECT_EQ(e->stats().kv_cache_usage, 0.0);
}

TEST(EngineTenantTest, CacheSaltSeparatesThePrefixCache) {
  EngineConfig cfg;
  cfg.num_kv_blocks = 64;
  auto e = make_engine(cfg);
  Collector c;
  const auto prompt = make_prompt(40, 3);  // 2 full blocks of 16, then 8 tokens
  int done = 0;
  auto one = [&](uint64_t salt) {
    const uint64_t id = submit(*e, c, prompt, greedy(5), meta(salt, 1.0, 0, salt));
    c.wait(++done);
    return c.get(id);
  };
  const Collected a0 = one(0), b0 = one(0), a7 = one(7), b7 = one(7), a8 = one(8);
  EXPECT_EQ(a0.usage.cached_prompt_tokens, 0);
  EXPECT_EQ(b0.usage.cached_prompt_tokens, 32);  // salt 0: the cache of before
  EXPECT_EQ(a7.usage.cached_prompt_tokens, 0);   // another salt: no hit
  EXPECT_EQ(b7.usage.cached_prompt_tokens, 32);  // the same salt: hits
  EXPECT_EQ(a8.usage.cached_prompt_tokens, 0);
  for (const Collected* r : {&b0, &a7, &b7, &a8}) EXPECT_EQ(r->ids, a0.ids);
  EngineStats s = e->stats();
  EXPECT_EQ(s.prefix_cache_queries, 5 * 40);
  EXPECT_EQ(s.prefix_cache_hits, 2 * 32);

  // Forks (n > 1) of a salted request share its prompt blocks; the blocks
  // are findable under that salt only.
  const uint64_t f = submit(*e, c, prompt, greedy(5, 3), meta(9, 1.0, 0, 9));
  done += 3;
  c.wait(done);
  EXPECT_EQ(c.get(f, 0).usage.cached_prompt_tokens, 0);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(c.get(f, i).usage.cached_prompt_tokens, 32) << i;
    EXPECT_EQ(c.get(f, i).ids, a0.ids);
  }
  EXPECT_EQ(one(9).usage.cached_prompt_tokens, 32);
  EXPECT_EQ(one(10).usage.cached_prompt_tokens, 0);
  e->shutdown();
  EXPECT_EQ(e->stats().kv_cache_usage, 0.0);
}

TEST(EngineTenantTest, SubmitValidatesMeta) {
  EngineConfig cfg;
  cfg.num_kv_blocks = 16;
  auto e = make_engine(cfg);
  Collector c;
  for (double w : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    auto r = e->submit({{1, 2, 3}, greedy(1), c.sink(), meta(1, w)});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << w;
    EXPECT_NE(r.status().message().find("weight"), std::string::npos);
  }
  EXPECT_TRUE(e->submit({{1, 2, 3}, greedy(1), c.sink(), meta(1, 1e-9, -5, 42)}).is_ok());
  EXPECT_TRUE(e->submit({{1, 2, 3}, greedy(1), c.sink(), meta(~0ULL, 1e9, 7, ~0ULL)}).is_ok());
  c.wait(2);
}

// Greedy outputs equal the reference (the fake model's continuation: what
// each request gives alone) with requests of three tenants (weights 1, 2,
// 3; priorities; salts shared within a tenant, one salt-0 group across
// tenants; some n = 2), in several engine configurations.
void check_tenant_configs(const EngineConfig& cfg, bool expect_preemption) {
  FakeRunner* runner = nullptr;
  auto e = make_engine(cfg, &runner);
  Collector c;
  struct Req {
    uint64_t id;
    std::vector<int32_t> prompt;
    int n;
  };
  std::vector<Req> reqs;
  int samples = 0;
  {
    // Hold the runner so that all requests are queued before the first step ends.
    std::lock_guard<std::mutex> hold(runner->gate);
    for (int i = 0; i < 18; ++i) {
      const uint64_t t = i % 3;
      auto prompt = make_prompt(1 + (i * 13) % 57, i % 5);  // repeated: shared prefixes
      const int n = i % 5 == 0 ? 2 : 1;
      const RequestMeta m = meta(t, 1.0 + t, i % 2, i % 4 == 0 ? 0 : 1000 + t);
      reqs.push_back({submit(*e, c, prompt, greedy(12, n), m), prompt, n});
      samples += n;
    }
  }
  c.wait(samples);
  for (const Req& r : reqs) {
    for (int k = 0; k < r.n; ++k) {
      Collected got = c.get(r.id, k);
      EXPECT_EQ(got.ids, fake_greedy(r.prompt, 12, kVocab))
          << "prompt len " << r.prompt.size() << " sample " << k;
      EXPECT_EQ(got.finish, FinishReason::kLength);
      EXPECT_EQ(got.usage.prompt_tokens, static_cast<int32_t>(r.prompt.size()));
    }
  }
  if (expect_preemption) {
    EXPECT_GT(e->stats().num_preemptions, 0);
  }
  e->shutdown();
  EXPECT_EQ(e->stats().kv_cache_usage, 0.0);
}

TEST(EngineTenantTest, GreedyOutputsUnchangedBatchedChunkedPreempted) {
  EngineConfig cfg;
  cfg.num_kv_blocks = 512;  // batched
  check_tenant_configs(cfg, false);
  cfg.enable_prefix_cache = false;
  check_tenant_configs(cfg, false);
  cfg = EngineConfig();
  cfg.block_size = 4;
  cfg.num_kv_blocks = 24;  // 96 tokens: preempted
  cfg.max_num_batched_tokens = 16;  // chunked
  cfg.max_num_seqs = 4;
  check_tenant_configs(cfg, true);
  cfg.enable_prefix_cache = false;
  check_tenant_configs(cfg, true);
  cfg.max_num_seqs = 2;
  cfg.num_kv_blocks = 64;
  cfg.enable_prefix_cache = true;
  check_tenant_configs(cfg, false);
}

}  // namespace
}  // namespace yun::test
