// The engine's KV-cache event hook (EngineConfig::kv_event_sink) and the
// timings it reports (RequestEvent::queue_time / first_token_time): a
// prompt's full blocks are reported stored once (the chain's first with the
// request's cache salt, the rest with their parents), a second identical
// request reuses them and reports nothing new; under a tiny pool with
// preemption the stream stays consistent (no hash stored twice while
// stored, only stored hashes removed). With a FakeRunner.
// Run: build/tests/yun_engine_tests --gtest_filter='EngineKvEvents*'
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "engine/collector.h"
#include "engine/fake_runner.h"
#include "yun/engine/engine.h"

namespace yun::test {
namespace {

constexpr int32_t kVocab = 101;

struct EventLog {
  std::mutex mu;
  std::vector<KvBlockEvent> events;
  int calls = 0;
  std::function<void(std::vector<KvBlockEvent>&&)> sink() {
    return [this](std::vector<KvBlockEvent>&& ev) {
      std::lock_guard<std::mutex> lk(mu);
      EXPECT_FALSE(ev.empty());
      ++calls;
      events.insert(events.end(), ev.begin(), ev.end());
    };
  }
};

std::unique_ptr<Engine> make(EngineConfig cfg) {
  auto e = Engine::create(cfg, std::make_unique<FakeRunner>(kVocab), nullptr);
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return std::move(e).value();
}

SamplingParams greedy(int32_t n) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = n;
  p.ignore_eos = true;
  return p;
}

std::vector<int32_t> prompt(int32_t len, int32_t salt) {
  std::vector<int32_t> p;
  for (int32_t i = 0; i < len; ++i) p.push_back((i * 7 + salt * 31 + 5) % kVocab);
  return p;
}

TEST(EngineKvEventsTest, FullBlocksStoredOnceWithSaltAndParents) {
  EventLog log;
  EngineConfig cfg;
  cfg.num_kv_blocks = 64;
  cfg.kv_event_sink = log.sink();
  auto e = make(cfg);
  Collector c;
  RequestMeta meta;
  meta.cache_salt = 42;
  auto p = prompt(40, 3);
  auto a = e->submit({p, greedy(5), c.sink(), meta});
  ASSERT_TRUE(a.is_ok());
  c.wait(1);
  auto b = e->submit({p, greedy(5), c.sink(), meta});
  ASSERT_TRUE(b.is_ok());
  c.wait(2);
  EXPECT_EQ(c.get(*b).usage.cached_prompt_tokens, 32);
  e->shutdown();
  std::lock_guard<std::mutex> lk(log.mu);
  // 40 prompt + 5 generated tokens: two full blocks of 16 computed, reported
  // by the first request only.
  ASSERT_EQ(log.events.size(), 2u);
  EXPECT_EQ(log.events[0].kind, KvBlockEvent::Kind::kStored);
  EXPECT_FALSE(log.events[0].parent.has_value());
  EXPECT_EQ(log.events[0].cache_salt, 42u);
  EXPECT_EQ(log.events[0].tokens, std::vector<int32_t>(p.begin(), p.begin() + 16));
  EXPECT_EQ(log.events[0].hash,
            BlockPool::hash_block(BlockPool::root_hash(42), log.events[0].tokens));
  ASSERT_TRUE(log.events[1].parent.has_value());
  EXPECT_EQ(*log.events[1].parent, log.events[0].hash);
  EXPECT_EQ(log.events[1].tokens, std::vector<int32_t>(p.begin() + 16, p.begin() + 32));
}

TEST(EngineKvEventsTest, TimingsOnEvents) {
  EngineConfig cfg;
  cfg.num_kv_blocks = 64;
  auto e = make(cfg);
  std::mutex mu;
  std::vector<RequestEvent> evs;
  auto r = e->submit({prompt(20, 1), greedy(4), [&](const RequestEvent& ev) {
                        std::lock_guard<std::mutex> lk(mu);
                        evs.push_back(ev);
                      }});
  ASSERT_TRUE(r.is_ok());
  for (int i = 0; i < 2000; ++i) {
    {
      std::lock_guard<std::mutex> lk(mu);
      if (!evs.empty() && evs.back().finish) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::lock_guard<std::mutex> lk(mu);
  ASSERT_FALSE(evs.empty());
  const RequestEvent& last = evs.back();
  ASSERT_TRUE(last.finish.has_value());
  EXPECT_GE(last.queue_time, 0);
  EXPECT_GE(last.first_token_time, last.queue_time);
  EXPECT_GE(last.time_since_submit, last.first_token_time);
  EXPECT_GT(evs.front().first_token_time, 0);
  EXPECT_NEAR(evs.front().first_token_time, evs.front().time_since_submit, 0.01);
}

TEST(EngineKvEventsTest, TinyPoolStreamStaysConsistent) {
  EventLog log;
  EngineConfig cfg;
  cfg.num_kv_blocks = 12;
  cfg.block_size = 4;
  cfg.max_num_batched_tokens = 16;
  cfg.kv_event_sink = log.sink();
  auto e = make(cfg);
  Collector c;
  const int n = 60;
  for (int i = 0; i < n; ++i) {
    auto r = e->submit({prompt(6 + i % 13, i % 5), greedy(3 + i % 7), c.sink()});
    ASSERT_TRUE(r.is_ok());
  }
  c.wait(n);
  e->shutdown();
  std::lock_guard<std::mutex> lk(log.mu);
  std::map<uint64_t, int> stored;
  int removed = 0;
  for (const KvBlockEvent& ev : log.events) {
    if (ev.kind == KvBlockEvent::Kind::kStored) {
      ASSERT_EQ(stored.count(ev.hash), 0u) << "stored twice";
      ASSERT_EQ(ev.tokens.size(), 4u);
      stored[ev.hash] = 1;
    } else {
      ASSERT_EQ(stored.count(ev.hash), 1u) << "removed while not stored";
      stored.erase(ev.hash);
      ++removed;
    }
  }
  EXPECT_GT(removed, 0);  // the pool is far too small to keep everything
  EXPECT_LE(stored.size(), 12u);
  EXPECT_GT(log.calls, 1);
}

}  // namespace
}  // namespace yun::test
