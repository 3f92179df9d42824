// Scheduler table tests (TensorRT-LLM style): a FakeRunner with a simulated
// paged KV cache, one row per step saying which sequences ran with how many
// tokens, who was preempted, who failed. Also checks that outputs equal the
// fake model's greedy continuation (so KV placement is right) and that every
// block comes back. Run: build-engine/tests/yun_engine_tests --gtest_filter='Scheduler*'
#include <gtest/gtest.h>

#include <random>

#include "engine/scheduler_harness.h"

namespace yun::test {
namespace {

using Steps = std::vector<std::string>;

TEST(SchedulerTest, ChunkedPrefillRespectsTokenBudget) {
  SchedulerHarness h(/*num_blocks=*/64, /*block_size=*/4, /*max_num_seqs=*/8,
                     /*max_batched_tokens=*/8);
  Sequence* a = h.add('A', SchedulerHarness::prompt(20), 3);
  Sequence* b = h.add('B', SchedulerHarness::prompt(5, 1), 3);
  EXPECT_EQ(h.run(), (Steps{"A/8", "A/8", "A/4* B/4", "A/1* B/1*", "A/1* B/1*", "B/1*"}));
  EXPECT_TRUE(h.output_matches(a));
  EXPECT_TRUE(h.output_matches(b));
  EXPECT_EQ(h.pool.num_free(), 64);
  EXPECT_TRUE(h.pool.check_invariants());
}

TEST(SchedulerTest, MaxNumSeqsLimitsRunningSet) {
  SchedulerHarness h(64, 4, /*max_num_seqs=*/2, 100);
  h.add('A', SchedulerHarness::prompt(4, 1), 2);
  h.add('B', SchedulerHarness::prompt(4, 2), 2);
  h.add('C', SchedulerHarness::prompt(4, 3), 2);
  EXPECT_EQ(h.run(), (Steps{"A/4* B/4*", "A/1* B/1*", "C/4*", "C/1*"}));
}

TEST(SchedulerTest, DecodesRunBeforeNewPrefills) {
  SchedulerHarness h(64, 4, 8, /*max_batched_tokens=*/6);
  h.add('A', SchedulerHarness::prompt(4, 1), 3);
  EXPECT_EQ(h.step(), "A/4*");
  h.add('B', SchedulerHarness::prompt(9, 2), 1);
  // A's decode first, then what is left of the budget goes to B's prefill.
  EXPECT_EQ(h.step(), "A/1* B/5");
  EXPECT_EQ(h.step(), "A/1* B/4*");
  EXPECT_FALSE(h.sched.has_work());
}

TEST(SchedulerTest, PreemptsNewestAndRecomputesPromptPlusOutput) {
  // 4 blocks of 4 tokens: two sequences of 6 + 8 cannot both finish.
  SchedulerHarness h(4, 4, 8, 64, /*prefix_cache=*/false);
  Sequence* a = h.add('A', SchedulerHarness::prompt(6, 1), 8);
  Sequence* b = h.add('B', SchedulerHarness::prompt(6, 2), 8);
  EXPECT_EQ(h.run(), (Steps{"A/6* B/6*", "A/1* B/1*", "A/1* B/1*", "A/1* preempt:B", "A/1*", "A/1*",
                            "A/1*", "A/1*", "B/9*", "B/1*", "B/1*", "B/1*", "B/1*"}));
  EXPECT_EQ(h.sched.num_preemptions(), 1);
  EXPECT_EQ(a->num_output(), 8);
  EXPECT_EQ(b->num_output(), 8);
  EXPECT_TRUE(h.output_matches(a));
  EXPECT_TRUE(h.output_matches(b));
  EXPECT_EQ(h.pool.num_free(), 4);
}

TEST(SchedulerTest, PrefixHitsSkipCachedBlocksButRecomputeLastToken) {
  SchedulerHarness h(64, 4, 8, 64);
  auto p = SchedulerHarness::prompt(10, 5);
  Sequence* a = h.add('A', p, 1);
  EXPECT_EQ(h.run(), (Steps{"A/10*"}));
  EXPECT_EQ(a->num_cached_prompt_tokens, 0);
  // Same prompt: blocks 0-1 (8 tokens) are cached; the partial block is not.
  Sequence* b = h.add('B', p, 2);
  EXPECT_EQ(h.run(), (Steps{"B/2*", "B/1*"}));
  EXPECT_EQ(b->num_cached_prompt_tokens, 8);
  // A prompt of exactly two cached blocks still recomputes its last token,
  // so only the first block is a hit.
  Sequence* c = h.add('C', std::vector<int32_t>(p.begin(), p.begin() + 8), 1);
  EXPECT_EQ(h.run(), (Steps{"C/4*"}));
  EXPECT_EQ(c->num_cached_prompt_tokens, 4);
  EXPECT_EQ(h.sched.prefix_queries(), 10 + 10 + 8);
  EXPECT_EQ(h.sched.prefix_hits(), 0 + 8 + 4);
  for (Sequence* s : {a, b, c}) EXPECT_TRUE(h.output_matches(s));
  EXPECT_EQ(h.pool.num_free(), 64);
  EXPECT_GT(h.pool.num_cached_free(), 0);
  EXPECT_TRUE(h.pool.check_invariants());
}

TEST(SchedulerTest, PrefixCacheOffMeansNoHits) {
  SchedulerHarness h(64, 4, 8, 64, /*prefix_cache=*/false);
  auto p = SchedulerHarness::prompt(10, 5);
  h.add('A', p, 1);
  h.run();
  Sequence* b = h.add('B', p, 1);
  EXPECT_EQ(h.run(), (Steps{"B/10*"}));
  EXPECT_EQ(b->num_cached_prompt_tokens, 0);
  EXPECT_EQ(h.pool.num_cached_free(), 0);
}

TEST(SchedulerTest, SequenceLargerThanWholePoolFails) {
  SchedulerHarness h(2, 4, 8, 64);
  Sequence* a = h.add('A', SchedulerHarness::prompt(6), 10);
  EXPECT_EQ(h.run(), (Steps{"A/6*", "A/1*", "A/1*", "fail:A"}));
  EXPECT_EQ(a->status, SeqStatus::kFinished);
  EXPECT_EQ(h.pool.num_free(), 2);
}

TEST(SchedulerTest, AbortMidPrefillFreesBlocks) {
  SchedulerHarness h(16, 4, 8, 8);
  Sequence* a = h.add('A', SchedulerHarness::prompt(20), 3);
  Sequence* b = h.add('B', SchedulerHarness::prompt(4, 2), 2);
  EXPECT_EQ(h.step(), "A/8");
  h.sched.finish(a);  // abort
  EXPECT_EQ(h.run(), (Steps{"B/4*", "B/1*"}));
  EXPECT_TRUE(h.output_matches(b));
  EXPECT_EQ(h.pool.num_free(), 16);
  EXPECT_TRUE(h.pool.check_invariants());
}

// Random traffic over a tiny pool with random aborts: every step keeps the
// pool consistent, outputs equal the greedy reference, and at the end every
// block is free (cached ones with ref count 0).
TEST(SchedulerTest, RandomTrafficReturnsEveryBlock) {
  for (bool prefix : {true, false}) {
    SchedulerHarness h(24, 4, 6, 16, prefix);
    std::mt19937 rng(7);
    std::vector<Sequence*> live;
    int added = 0;
    for (int step = 0; step < 3000; ++step) {
      if (added < 600 && rng() % 2 == 0) {
        int32_t len = 1 + rng() % 30;
        // Shared prefixes make prefix hits frequent.
        auto p = SchedulerHarness::prompt(len, rng() % 4);
        live.push_back(h.add(static_cast<char>('a' + added % 26), p, 1 + rng() % 12));
        ++added;
      }
      if (!live.empty() && rng() % 10 == 0) {
        Sequence* s = live[rng() % live.size()];
        if (s->status != SeqStatus::kFinished) h.sched.finish(s);
      }
      std::string d = h.step();
      ASSERT_EQ(d.find("runner error"), std::string::npos) << d;
      ASSERT_TRUE(h.pool.check_invariants());
    }
    h.run(100000);
    for (auto& s : h.seqs) {
      ASSERT_EQ(s->status, SeqStatus::kFinished);
      ASSERT_TRUE(h.output_matches(s.get()));
    }
    EXPECT_EQ(h.pool.num_free(), 24);
    EXPECT_GT(h.sched.num_preemptions(), 0);
    if (prefix) EXPECT_GT(h.sched.prefix_hits(), 0);
    if (!prefix) EXPECT_EQ(h.pool.num_cached_free(), 0);
    EXPECT_TRUE(h.pool.check_invariants());
  }
}

}  // namespace
}  // namespace yun::test
