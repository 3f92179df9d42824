// The engine's side of the runner contract: Engine::create sizes its block
// pool from what the runner plans and allocates (plan_kv_cache ->
// allocate_kv_cache -> kv_cache_spec, as a GPU runner with its own memory
// budget does), and each step samples through forward(batch, sampling,
// results) with one RowSampling per logit row carrying the request's
// settings, its tokens and its RNG.
// Run: build/tests/yun_engine_tests --gtest_filter='RunnerContract*'
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "engine/fake_runner.h"
#include "yun/engine/engine.h"

namespace yun::test {
namespace {

// A FakeRunner whose backend plans 37 blocks whatever it is asked, and that
// records the sampling rows of every step.
class PlanningRunner : public FakeRunner {
 public:
  explicit PlanningRunner(std::vector<KvCacheBudget>* budgets,
                          std::vector<std::vector<RowSampling>>* steps)
      : FakeRunner(101), budgets_(budgets), steps_(steps) {}
  Result<KvCacheSpec> plan_kv_cache(const KvCacheBudget& budget) const override {
    budgets_->push_back(budget);
    return KvCacheSpec{37, budget.block_size};
  }
  Status forward(const ForwardBatch& b, std::span<const RowSampling> sampling,
                 std::vector<SampleResult>& results) override {
    steps_->emplace_back(sampling.begin(), sampling.end());
    return ModelRunner::forward(b, sampling, results);
  }

 private:
  std::vector<KvCacheBudget>* budgets_;
  std::vector<std::vector<RowSampling>>* steps_;
};

TEST(RunnerContractTest, PoolIsWhatTheRunnerPlannedAndSamplingGoesThroughIt) {
  std::vector<KvCacheBudget> budgets;
  std::vector<std::vector<RowSampling>> steps;
  EngineConfig cfg;
  cfg.kv_cache_memory = 12345678;
  cfg.max_num_seqs = 3;
  cfg.max_model_len = 1000;
  auto e = Engine::create(cfg, std::make_unique<PlanningRunner>(&budgets, &steps), nullptr);
  ASSERT_TRUE(e.is_ok()) << e.status().to_string();
  ASSERT_EQ(budgets.size(), 1u);
  EXPECT_EQ(budgets[0].memory_bytes, 12345678);
  EXPECT_EQ(budgets[0].num_blocks, 0);
  EXPECT_EQ(budgets[0].block_size, 16);
  EXPECT_EQ(budgets[0].max_num_seqs, 3);
  EXPECT_EQ(budgets[0].max_model_len, 1000);
  EXPECT_EQ((*e)->stats().num_kv_blocks, 37);

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::vector<int32_t> out;
  GenerateRequest req;
  req.prompt_ids = {5, 6, 7};
  req.params.temperature = 0.5;
  req.params.top_k = 7;
  req.params.repetition_penalty = 1.2;
  req.params.max_tokens = 3;
  req.params.seed = 11;
  req.sink = [&](const RequestEvent& ev) {
    std::lock_guard<std::mutex> lk(mu);
    out.insert(out.end(), ev.token_ids.begin(), ev.token_ids.end());
    if (ev.finish) {
      done = true;
      cv.notify_all();
    }
  };
  ASSERT_TRUE((*e)->submit(std::move(req)).is_ok());
  {
    std::unique_lock<std::mutex> lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(30), [&] { return done; }));
  }
  (*e)->shutdown();
  ASSERT_EQ(out.size(), 3u);
  ASSERT_EQ(steps.size(), 3u);  // prefill + 2 decode steps, one row each
  for (size_t s = 0; s < steps.size(); ++s) {
    ASSERT_EQ(steps[s].size(), 1u);
    const RowSampling& r = steps[s][0];
    EXPECT_EQ(r.options.temperature, 0.5);
    EXPECT_EQ(r.options.top_k, 7);
    EXPECT_EQ(r.options.repetition_penalty, 1.2);
    EXPECT_EQ(r.num_prompt, 3);
    EXPECT_EQ(r.tokens.size(), 3 + s);  // prompt + output so far (the view itself is stale now)
    EXPECT_NE(r.rng, nullptr);
  }
}

}  // namespace
}  // namespace yun::test
