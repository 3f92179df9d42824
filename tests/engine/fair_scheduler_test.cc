// Fairness between requests in the scheduler (scheduler.h, rules 1-4): a
// request with many sequences (n > 1) cannot starve a later request, the hog
// still finishes with exactly its greedy tokens, two large requests do not
// take blocks back and forth, and the admission order is pluggable.
// Run: build/tests/yun_engine_tests --gtest_filter='FairScheduler*'
#include <gtest/gtest.h>

#include <random>

#include "engine/scheduler_harness.h"

namespace yun::test {
namespace {

using Steps = std::vector<std::string>;

// Steps until `s` has its first output token (the step that sampled it is
// counted); -1 when it never did within max_steps.
int steps_to_first_token(SchedulerHarness& h, const Sequence* s, int max_steps) {
  for (int i = 1; i <= max_steps; ++i) {
    h.step();
    if (s->num_output() > 0) return i;
  }
  return -1;
}

TEST(FairSchedulerTest, HogYieldsToNewcomerTable) {
  // 8 blocks of 4 tokens. H: 4 samples of 4 + 12 tokens (4 blocks each at
  // the end: 16 in all), so H alone overfills the pool and preempts itself.
  SchedulerHarness h(8, 4, 8, 64, /*prefix_cache=*/false);
  auto hog = h.add_request('H', SchedulerHarness::prompt(4, 1), 12, 4);
  EXPECT_EQ(h.run(4), (Steps{"H/4* H/4* H/4* H/4*", "H/1* H/1* H/1* H/1*", "H/1* H/1* H/1* H/1*",
                             "H/1* H/1* H/1* H/1*"}));
  EXPECT_EQ(h.pool.num_free(), 0);
  // S arrives with the pool full: two requests, a share of 4 blocks each; H
  // holds 8. Its samples now need a 3rd block each: H's newest is preempted
  // for them (rule 1), then for S's 1-block prompt the newest H sample left
  // (admitted 4 steps ago: past the grace) is taken out of the batch
  // (rule 4), and S samples in its first step.
  Sequence* s = h.add('S', SchedulerHarness::prompt(3, 2), 2);
  EXPECT_EQ(h.step(), "H/1* H/1* H/1* S/3* preempt:H");
  EXPECT_EQ(h.sched.num_fair_preemptions(), 1);
  // Every H sample needs its 3rd block: the last in protection order (H's
  // newest; S is its request's oldest, visited right after H's oldest) is
  // preempted. S has no more waiting samples, so H resumes as room frees.
  EXPECT_EQ(h.step(), "H/1* S/1* H/1* preempt:H");
  EXPECT_EQ(h.step(), "H/1* H/1*");
  h.run(10000);
  for (Sequence* x : hog) {
    EXPECT_EQ(x->num_output(), 12);
    EXPECT_TRUE(h.output_matches(x));
  }
  EXPECT_TRUE(h.output_matches(s));
  EXPECT_EQ(h.pool.num_free(), 8);
  EXPECT_TRUE(h.pool.check_invariants());
}

// Sequences admitted fewer than kResumeGraceSteps steps ago are no fair
// victims: S, queued right after H filled the pool, waits for the grace
// window of H's samples (admitted in step 1) to close, then comes in.
TEST(FairSchedulerTest, NewcomerWaitsOutTheResumeGrace) {
  SchedulerHarness h(8, 4, 8, 64, /*prefix_cache=*/false);
  auto hog = h.add_request('H', SchedulerHarness::prompt(4, 1), 12, 4);
  EXPECT_EQ(h.run(2), (Steps{"H/4* H/4* H/4* H/4*", "H/1* H/1* H/1* H/1*"}));
  EXPECT_EQ(h.pool.num_free(), 0);
  Sequence* s = h.add('S', SchedulerHarness::prompt(3, 2), 2);
  // Steps 3, 4: H's samples are within the grace (3 - 1, 4 - 1 < 4); step 5:
  // H's newest is taken (rule 4) and S samples.
  EXPECT_EQ(h.run(3),
            (Steps{"H/1* H/1* H/1* H/1*", "H/1* H/1* H/1* H/1*", "H/1* H/1* H/1* S/3* preempt:H"}));
  EXPECT_EQ(Scheduler::kResumeGraceSteps, 4);
  EXPECT_EQ(h.sched.num_fair_preemptions(), 1);
  EXPECT_EQ(s->num_output(), 1);
  h.run(10000);
  for (Sequence* x : hog) EXPECT_TRUE(h.output_matches(x) && x->num_output() == 12);
  EXPECT_TRUE(h.output_matches(s));
}

// The batch is shared too: H's samples fill every max_num_seqs slot (with
// blocks to spare); S takes the slot of H's newest sample (rule 4).
TEST(FairSchedulerTest, HogOfBatchSlotsYieldsASlot) {
  SchedulerHarness h(64, 4, /*max_num_seqs=*/4, 64, /*prefix_cache=*/false);
  auto hog = h.add_request('H', SchedulerHarness::prompt(4, 1), 10, 6);
  EXPECT_EQ(h.run(4), (Steps{"H/4* H/4* H/4* H/4*", "H/1* H/1* H/1* H/1*", "H/1* H/1* H/1* H/1*",
                             "H/1* H/1* H/1* H/1*"}));
  Sequence* s = h.add('S', SchedulerHarness::prompt(3, 2), 2);
  EXPECT_EQ(h.step(), "H/1* H/1* H/1* S/3* preempt:H");
  EXPECT_EQ(h.sched.num_fair_preemptions(), 1);
  h.run(10000);
  for (Sequence* x : hog) EXPECT_TRUE(h.output_matches(x) && x->num_output() == 10);
  EXPECT_TRUE(h.output_matches(s));
}

// The attack: one request with n = 64 and 1000-token outputs over a
// 128-block pool of 16 (the hog needs 64 x 64 blocks; it preempts and
// recomputes itself all along). A short request arriving mid-way gets its
// first token within kResumeGraceSteps + 1 steps (the stated bound), and
// the hog still ends with exactly its greedy tokens.
TEST(FairSchedulerTest, HogOf64DoesNotStarveShortRequest) {
  for (bool prefix : {true, false}) {
    SchedulerHarness h(128, 16, 256, 2048, prefix);
    auto hog = h.add_request('H', SchedulerHarness::prompt(20, 1), 1000, 64);
    for (int i = 0; i < 300 || h.pool.num_free() > 0; ++i) h.step();
    // Mid-run the hog fills the pool and has sequences waiting.
    EXPECT_GE(h.pool.num_used(), 120);
    EXPECT_GT(h.sched.num_waiting(), 0);
    EXPECT_GT(h.sched.num_running(), 1);
    for (int round = 0; round < 3; ++round) {
      // Each short request (3 rounds) is admitted at once.
      Sequence* s =
          h.add(static_cast<char>('S' + round), SchedulerHarness::prompt(10, 2 + round), 8);
      const int n = steps_to_first_token(h, s, 50);
      EXPECT_GE(n, 1);
      EXPECT_LE(n, Scheduler::kResumeGraceSteps + 1) << "round " << round;
      for (int i = 0; i < 40 && s->status != SeqStatus::kFinished; ++i) h.step();
      EXPECT_EQ(s->status, SeqStatus::kFinished);
      EXPECT_TRUE(h.output_matches(s));
    }
    EXPECT_GT(h.sched.num_fair_preemptions(), 0);
    h.run(1000000);
    for (Sequence* x : hog) {
      ASSERT_EQ(x->status, SeqStatus::kFinished);
      ASSERT_EQ(x->num_output(), 1000);
      ASSERT_TRUE(h.output_matches(x));
    }
    EXPECT_EQ(h.pool.num_free(), 128);
    EXPECT_TRUE(h.pool.check_invariants());
  }
}

// Without the newcomer's request holding less than its share nothing is taken:
// two requests with 4 samples each in a pool that fits 4 samples: they share
// the pool, each keeps running, fair preemption never ping-pongs.
TEST(FairSchedulerTest, TwoLargeRequestsDoNotThrash) {
  SchedulerHarness h(16, 4, 16, 64, /*prefix_cache=*/false);
  auto a = h.add_request('A', SchedulerHarness::prompt(4, 1), 12, 4);
  h.step();
  auto b = h.add_request('B', SchedulerHarness::prompt(4, 2), 12, 4);
  auto steps = h.run(10000);
  EXPECT_LT(steps.size(), 200u);
  // Each fair preemption brings B towards its share once; no back and forth.
  EXPECT_LE(h.sched.num_fair_preemptions(), 4);
  for (auto* x : a) EXPECT_TRUE(h.output_matches(x) && x->num_output() == 12);
  for (auto* x : b) EXPECT_TRUE(h.output_matches(x) && x->num_output() == 12);
  EXPECT_EQ(h.pool.num_free(), 16);
}

// A request's only running sequence is never taken for another's: a single
// long sequence holding most of the pool makes the newcomer wait (FIFO).
TEST(FairSchedulerTest, OnlySequenceOfARequestIsNotAFairVictim) {
  SchedulerHarness h(4, 4, 8, 64, /*prefix_cache=*/false);
  Sequence* a = h.add('A', SchedulerHarness::prompt(12, 1), 4);
  EXPECT_EQ(h.step(), "A/12*");
  Sequence* b = h.add('B', SchedulerHarness::prompt(6, 2), 1);  // needs 2 blocks, 1 free
  EXPECT_EQ(h.run(), (Steps{"A/1*", "A/1*", "A/1*", "B/6*"}));
  EXPECT_EQ(h.sched.num_fair_preemptions(), 0);
  EXPECT_TRUE(h.output_matches(a));
  EXPECT_TRUE(h.output_matches(b));
}

// One-sequence requests only: no hog, so a preemption for growth still stops
// admission for the step (C would fit in the blocks B just gave up, but it
// would be preempted again right away).
TEST(FairSchedulerTest, NoAdmissionRightAfterPreemptionWithoutHog) {
  SchedulerHarness h(4, 4, /*max_num_seqs=*/2, 64, /*prefix_cache=*/false);
  Sequence* a = h.add('A', SchedulerHarness::prompt(6, 1), 8);
  Sequence* b = h.add('B', SchedulerHarness::prompt(6, 2), 8);
  Sequence* c = h.add('C', SchedulerHarness::prompt(2, 3), 2);
  // Step 4: B is preempted for A's 3rd block; C (1 block, 1 free) stays out.
  // Then FIFO: B first, C behind it (as without fairness).
  EXPECT_EQ(h.run(), (Steps{"A/6* B/6*", "A/1* B/1*", "A/1* B/1*", "A/1* preempt:B", "A/1*", "A/1*",
                            "A/1*", "A/1*", "B/9* C/2*", "B/1* C/1*", "B/1*", "B/1*", "B/1*"}));
  EXPECT_EQ(h.sched.num_fair_preemptions(), 0);
  for (Sequence* s : {a, b, c}) EXPECT_TRUE(h.output_matches(s));
}

TEST(FairSchedulerTest, AdmissionPolicyIsPluggable) {
  SchedulerHarness h(64, 4, /*max_num_seqs=*/1, 100);
  h.add('A', SchedulerHarness::prompt(4, 1), 1);
  h.add('B', SchedulerHarness::prompt(4, 2), 1);
  h.add('C', SchedulerHarness::prompt(4, 3), 1);
  // Newest first: the last eligible waiting sequence.
  h.sched.set_admission_policy(
      [](const std::deque<Sequence*>& waiting, const std::function<bool(const Sequence&)>& ok) {
        for (size_t i = waiting.size(); i-- > 0;) {
          if (ok(*waiting[i])) return i;
        }
        return waiting.size();
      });
  EXPECT_EQ(h.run(), (Steps{"C/4*", "B/4*", "A/4*"}));
}

// Random traffic of multi-sample requests with random aborts over a tiny
// pool: the pool stays consistent, every output equals the greedy reference,
// every block comes back.
TEST(FairSchedulerTest, RandomMultiSampleTrafficReturnsEveryBlock) {
  for (bool prefix : {true, false}) {
    SchedulerHarness h(32, 4, 8, 24, prefix);
    std::mt19937 rng(11);
    std::vector<Sequence*> live;
    int added = 0;
    for (int step = 0; step < 3000; ++step) {
      if (added < 200 && rng() % 3 == 0) {
        auto p = SchedulerHarness::prompt(1 + rng() % 20, rng() % 4);
        auto r =
            h.add_request(static_cast<char>('a' + added % 26), p, 1 + rng() % 16, 1 + rng() % 6);
        live.insert(live.end(), r.begin(), r.end());
        ++added;
      }
      if (!live.empty() && rng() % 12 == 0) {
        Sequence* s = live[rng() % live.size()];
        if (s->status != SeqStatus::kFinished) h.sched.finish(s);
      }
      std::string d = h.step();
      ASSERT_EQ(d.find("runner error"), std::string::npos) << d;
      ASSERT_TRUE(h.pool.check_invariants());
    }
    h.run(200000);
    for (auto& s : h.seqs) {
      ASSERT_EQ(s->status, SeqStatus::kFinished);
      ASSERT_TRUE(h.output_matches(s.get()));
    }
    EXPECT_EQ(h.pool.num_free(), 32);
    EXPECT_GT(h.sched.num_fair_preemptions(), 0);
    EXPECT_TRUE(h.pool.check_invariants());
  }
}

}  // namespace
}  // namespace yun::test
