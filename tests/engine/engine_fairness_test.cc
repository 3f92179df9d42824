// The engine under a hog (the `yun serve` attack): one request with n = 64
// and 1000-token outputs over a 128-block KV pool, then a short request from
// another client. With the fair-share scheduler (scheduler.h) the short
// request's first token comes within a bounded number of engine steps, and
// every hog sample still ends with exactly its greedy tokens.
// Run: build/tests/yun_engine_tests --gtest_filter='EngineFairness*'
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

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

struct Samples {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<int32_t>> ids;
  int finished = 0;
  std::atomic<int64_t> tokens{0};
  std::atomic<int64_t> first_token_step{-1};  // runner forwards when the first token came

  explicit Samples(int n) : ids(n) {}
  RequestSink sink(const FakeRunner* runner) {
    return [this, runner](const RequestEvent& e) {
      std::lock_guard<std::mutex> lk(mu);
      if (!e.token_ids.empty() && first_token_step.load() < 0) {
        first_token_step = runner->num_forwards.load();
      }
      ids[e.index].insert(ids[e.index].end(), e.token_ids.begin(), e.token_ids.end());
      tokens += static_cast<int64_t>(e.token_ids.size());
      if (e.finish) {
        EXPECT_EQ(*e.finish, FinishReason::kLength);
        ++finished;
        cv.notify_all();
      }
    };
  }
  bool wait(int n, std::chrono::seconds limit) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, limit, [&] { return finished >= n; });
  }
};

TEST(EngineFairnessTest, ShortRequestIsNotStarvedByHog) {
  EngineConfig cfg;
  cfg.block_size = 16;
  cfg.num_kv_blocks = 128;
  auto runner_owned = std::make_unique<FakeRunner>(kVocab);
  FakeRunner* runner = runner_owned.get();
  auto created = Engine::create(cfg, std::move(runner_owned), nullptr);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  Engine& e = **created;

  const auto hog_prompt = make_prompt(20, 1);
  Samples hog(64);
  ASSERT_TRUE(e.submit({hog_prompt, greedy(1000, 64), hog.sink(runner)}).is_ok());
  // Let the hog fill the pool and start preempting itself.
  for (int i = 0; i < 20000 && hog.tokens.load() < 3000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Samples short_req(1);
  int64_t submitted_at = 0;
  {
    // Hold the runner so that the submission lands between two known steps.
    std::lock_guard<std::mutex> hold(runner->gate);
    EngineStats s = e.stats();
    EXPECT_GT(s.kv_cache_usage, 0.9);
    EXPECT_GT(s.num_waiting, 0);
    EXPECT_LT(hog.tokens.load(), 64 * 1000 / 2);  // the hog is far from done
    submitted_at = runner->num_forwards.load();
    ASSERT_TRUE(e.submit({make_prompt(10, 2), greedy(8), short_req.sink(runner)}).is_ok());
  }
  ASSERT_TRUE(short_req.wait(1, std::chrono::seconds(60)));
  // The step in flight at submission, then at most the scheduler's bound.
  const int64_t steps = short_req.first_token_step.load() - submitted_at;
  std::printf("[ fairness ] short request's first token %lld engine steps after its submission\n",
              static_cast<long long>(steps));
  EXPECT_GE(steps, 1);
  EXPECT_LE(steps, 1 + Scheduler::kResumeGraceSteps + 1);
  EXPECT_EQ(short_req.ids[0], fake_greedy(make_prompt(10, 2), 8, kVocab));
  // Meanwhile the hog went on; it ends with exactly its tokens.
  EXPECT_LT(hog.tokens.load(), 64 * 1000 / 2);
  ASSERT_TRUE(hog.wait(64, std::chrono::seconds(120)));
  const auto ref = fake_greedy(hog_prompt, 1000, kVocab);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(hog.ids[i], ref) << "sample " << i;
  e.shutdown();
  EXPECT_GT(e.stats().num_preemptions, 0);
  EXPECT_EQ(e.stats().kv_cache_usage, 0.0);
}

}  // namespace
}  // namespace yun::test
