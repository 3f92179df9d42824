// Fairness between tenants in the scheduler (scheduler.h, the tenant level
// of rules 1-4): a tenant flooding 1,000 requests cannot starve another
// tenant's short request (the stated bound), two flooding tenants with
// weights 3:1 run sequences near 3:1, a higher-priority tenant is admitted
// first (FIFO within a tenant), one tenant of any id and weight schedules
// exactly as the default tenant, and random multi-tenant traffic keeps the
// pool consistent with every output equal to its greedy reference. Also
// prints the scheduler's per-step cost with and without tenants.
// Run: build/tests/yun_engine_tests --gtest_filter='TenantScheduler*'
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>

#include "engine/scheduler_harness.h"

namespace yun::test {
namespace {

RequestMeta tenant(uint64_t id, double weight = 1.0, int32_t priority = 0) {
  RequestMeta m;
  m.tenant = id;
  m.weight = weight;
  m.priority = priority;
  return m;
}

// Steps until `s` has its first output token (the step that sampled it
// counted); -1 when it did not within max_steps.
int steps_to_first_token(SchedulerHarness& h, const Sequence* s, int max_steps) {
  for (int i = 1; i <= max_steps; ++i) {
    h.step();
    if (s->num_output() > 0) return i;
  }
  return -1;
}

std::map<uint64_t, int> running_per_tenant(const Scheduler& sched) {
  std::map<uint64_t, int> n;
  for (const Sequence* s : sched.running()) ++n[s->meta.tenant];
  return n;
}

// Tenant A floods 1,000 one-sequence requests with long outputs: they fill
// the pool (256 blocks; they preempt and recompute each other) or, with a
// pool of 4096, the batch (64 slots). B's short request, each of 3 rounds,
// gets its first token within kResumeGraceSteps + 1 steps of its queueing
// (1 step on an idle scheduler), and everyone's tokens stay exactly greedy.
TEST(TenantSchedulerTest, FloodingTenantDoesNotStarveAnother) {
  for (int32_t num_blocks : {256, 4096}) {
    for (bool prefix : {true, false}) {
      int idle = 0;
      {
        SchedulerHarness idle_h(num_blocks, 16, 64, 2048, prefix);
        Sequence* s = idle_h.add_seq(1, SchedulerHarness::prompt(10, 2), 8, tenant(2));
        idle = steps_to_first_token(idle_h, s, 50);
      }
      EXPECT_EQ(idle, 1);
      SchedulerHarness h(num_blocks, 16, 64, 2048, prefix);
      for (int i = 0; i < 1000; ++i) {
        h.add_seq(1000 + i, SchedulerHarness::prompt(20, i % 97), 400, tenant(1));
      }
      for (int i = 0; i < 200 || (num_blocks == 256 && h.pool.num_free() > 0); ++i) h.step();
      if (num_blocks == 256) {
        EXPECT_EQ(h.pool.num_free(), 0);
      } else {
        EXPECT_EQ(h.sched.num_running(), 64);
      }
      EXPECT_GT(h.sched.num_waiting(), 900);
      EXPECT_GT(h.sched.num_running(), 1);
      const int64_t fair_before = h.sched.num_tenant_preemptions();
      for (int round = 0; round < 3; ++round) {
        Sequence* s =
            h.add_seq(10 + round, SchedulerHarness::prompt(10, 2 + round), 8, tenant(2));
        const int n = steps_to_first_token(h, s, 50);
        std::printf("[ tenants ] %d blocks, prefix %d, round %d: B's first token after %d steps "
                    "(idle: %d)\n",
                    num_blocks, prefix, round, n, idle);
        EXPECT_GE(n, 1);
        EXPECT_LE(n, idle + Scheduler::kResumeGraceSteps) << "round " << round;
        for (int i = 0; i < 40 && s->status != SeqStatus::kFinished; ++i) h.step();
        EXPECT_EQ(s->status, SeqStatus::kFinished);
        EXPECT_TRUE(h.output_matches(s));
      }
      EXPECT_GT(h.sched.num_tenant_preemptions(), fair_before);
      for (auto& s : h.seqs) ASSERT_TRUE(h.output_matches(s.get()));
      EXPECT_TRUE(h.pool.check_invariants());
    }
  }
}

// Both tenants flood with weights 3:1 (A queued first). The batch (32
// slots) binds: A runs ~24 and B ~8, whether B arrives with A or after A
// has taken every slot (B then takes its share from A, rule 4).
TEST(TenantSchedulerTest, WeightsThreeToOneShareTheBatch) {
  for (bool b_late : {false, true}) {
    SchedulerHarness h(4096, 16, /*max_num_seqs=*/32, 2048, /*prefix_cache=*/false);
    auto add_flood = [&](uint64_t t, double w, uint64_t base) {
      for (int i = 0; i < 200; ++i) {
        h.add_seq(base + i, SchedulerHarness::prompt(8, static_cast<int32_t>(base + i)), 300,
                  tenant(t, w));
      }
    };
    add_flood(1, 3.0, 1000);
    if (b_late) {
      for (int i = 0; i < 10; ++i) h.step();
      EXPECT_EQ(running_per_tenant(h.sched)[1], 32);
    }
    add_flood(2, 1.0, 5000);
    for (int i = 0; i < 30; ++i) h.step();
    auto n = running_per_tenant(h.sched);
    std::printf("[ tenants ] weights 3:1%s: running %d : %d\n", b_late ? ", B late" : "", n[1],
                n[2]);
    EXPECT_EQ(n[1] + n[2], 32);
    EXPECT_NEAR(n[1], 24, 2);
    EXPECT_NEAR(n[2], 8, 2);
    if (b_late) {
      EXPECT_GT(h.sched.num_tenant_preemptions(), 0);
      EXPECT_LE(h.sched.num_fair_preemptions(), 10);  // B to its share once, no back and forth
    }
    for (auto& s : h.seqs) ASSERT_TRUE(h.output_matches(s.get()));
  }
}

// The pool binds (64 blocks; each sequence grows to 7): weights 3:1 hold
// blocks near 3:1.
TEST(TenantSchedulerTest, WeightsThreeToOneShareThePool) {
  SchedulerHarness h(64, 16, 256, 2048, /*prefix_cache=*/false);
  for (int i = 0; i < 100; ++i) {
    h.add_seq(1000 + i, SchedulerHarness::prompt(8, i), 100, tenant(1, 3.0));
    h.add_seq(5000 + i, SchedulerHarness::prompt(8, 100 + i), 100, tenant(2, 1.0));
  }
  std::map<uint64_t, double> blocks;
  int samples = 0;
  for (int i = 0; i < 200; ++i) {
    h.step();
    if (i < 50) continue;
    for (const Sequence* s : h.sched.running()) {
      blocks[s->meta.tenant] += static_cast<double>(s->block_table.size());
    }
    ++samples;
  }
  const double a = blocks[1] / samples, b = blocks[2] / samples;
  std::printf("[ tenants ] pool 3:1: blocks held %.1f : %.1f\n", a, b);
  EXPECT_NEAR(a / (a + b), 0.75, 0.08);
  for (auto& s : h.seqs) ASSERT_TRUE(h.output_matches(s.get()));
}

// The tenant level's table: tenant 1's four one-sequence requests fill the
// pool (8 blocks of 4); tenant 2's S comes right after. For the first
// kResumeGraceSteps steps of theirs tenant 1's sequences are no victims
// (S waits); then rule 4 takes tenant 1's newest, never its oldest (A).
TEST(TenantSchedulerTest, NewTenantTakesFromTheOverShareTenantAfterTheGrace) {
  SchedulerHarness h(8, 4, 8, 64, /*prefix_cache=*/false);
  std::vector<Sequence*> one;
  for (char c : {'A', 'E', 'F', 'G'}) {
    one.push_back(h.add_seq(c, SchedulerHarness::prompt(4, c), 12, tenant(1)));
  }
  EXPECT_EQ(h.run(2), (std::vector<std::string>{"A/4* E/4* F/4* G/4*", "A/1* E/1* F/1* G/1*"}));
  EXPECT_EQ(h.pool.num_free(), 0);
  Sequence* s = h.add_seq('S', SchedulerHarness::prompt(3, 2), 2, tenant(2));
  // Steps 3, 4: within the grace (3 - 1, 4 - 1 < 4); step 5: G, tenant 1's
  // newest, is taken (rule 4) and S samples. Step 6: A, E, F need a 3rd
  // block, one is free: A (tenant 1's oldest) takes it, S (tenant 2's
  // oldest) comes next, E gets F's (rule 1: the last in protection order).
  EXPECT_EQ(h.run(4), (std::vector<std::string>{"A/1* E/1* F/1* G/1*", "A/1* E/1* F/1* G/1*",
                                                "A/1* E/1* F/1* S/3* preempt:G",
                                                "A/1* S/1* E/1* preempt:F"}));
  EXPECT_EQ(h.sched.num_fair_preemptions(), 1);
  EXPECT_EQ(h.sched.num_tenant_preemptions(), 1);
  EXPECT_EQ(s->status, SeqStatus::kFinished);
  h.run(10000);
  for (Sequence* x : one) EXPECT_TRUE(h.output_matches(x) && x->num_output() == 12);
  EXPECT_TRUE(h.output_matches(s));
  EXPECT_EQ(h.pool.num_free(), 8);
}

// One slot: the higher-priority tenant's request goes first although queued
// later; equal priorities go in queue order; within a tenant FIFO holds
// whatever the priorities.
TEST(TenantSchedulerTest, HigherPriorityTenantIsAdmittedFirst) {
  SchedulerHarness h(64, 4, /*max_num_seqs=*/1, 100);
  h.add_seq('A', SchedulerHarness::prompt(4, 1), 1, tenant(1, 1.0, 0));
  h.add_seq('B', SchedulerHarness::prompt(4, 2), 1, tenant(2, 1.0, 5));
  h.add_seq('C', SchedulerHarness::prompt(4, 3), 1, tenant(3, 1.0, 0));
  h.add_seq('D', SchedulerHarness::prompt(4, 4), 1, tenant(1, 1.0, 9));  // behind A
  EXPECT_EQ(h.run(), (std::vector<std::string>{"B/4*", "A/4*", "D/4*", "C/4*"}));
}

// With one tenant, of any id and weight, every step is exactly that of the
// default tenant: the same random multi-sample traffic, step by step.
TEST(TenantSchedulerTest, OneTenantSchedulesAsTheDefault) {
  auto trace = [](RequestMeta meta) {
    SchedulerHarness h(32, 4, 8, 24, true);
    std::mt19937 rng(5);
    std::vector<std::string> steps;
    int added = 0;
    for (int step = 0; step < 1500; ++step) {
      if (added < 120 && rng() % 3 == 0) {
        auto p = SchedulerHarness::prompt(1 + rng() % 20, rng() % 4);
        const int32_t max_out = 1 + rng() % 16, n = 1 + rng() % 6;
        meta.priority = static_cast<int32_t>(rng() % 3);  // ignored within a tenant
        for (int32_t i = 0; i < n; ++i) h.add_seq('a' + added % 26, p, max_out, meta)->index = i;
        ++added;
      }
      steps.push_back(h.step());
    }
    steps.push_back(std::to_string(h.sched.num_preemptions()) + " " +
                    std::to_string(h.sched.num_fair_preemptions()));
    return steps;
  };
  const auto base = trace(RequestMeta{});
  EXPECT_EQ(trace(tenant(77, 2.5)), base);
  EXPECT_EQ(trace(tenant(3, 0.01)), base);
}

// Random traffic from 4 tenants (weights 1..4, priorities, n up to 4, random
// aborts) over a tiny pool: the pool stays consistent, every output equals
// its greedy reference, every block comes back.
TEST(TenantSchedulerTest, RandomMultiTenantTrafficReturnsEveryBlock) {
  for (bool prefix : {true, false}) {
    SchedulerHarness h(32, 4, 8, 24, prefix);
    std::mt19937 rng(23);
    std::vector<Sequence*> live;
    int added = 0;
    for (int step = 0; step < 3000; ++step) {
      if (added < 200 && rng() % 3 == 0) {
        auto p = SchedulerHarness::prompt(1 + rng() % 20, rng() % 4);
        const uint64_t t = rng() % 4;
        const RequestMeta m = tenant(t, 1.0 + t, static_cast<int32_t>(rng() % 2));
        const int32_t max_out = 1 + rng() % 16, n = 1 + rng() % 4;
        for (int32_t i = 0; i < n; ++i) {
          live.push_back(h.add_seq(1000 + added, p, max_out, m));
          live.back()->index = i;
        }
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

// Not an assertion: the scheduler's own time per step (schedule + update,
// no forward pass) for 256 decoding sequences over ~52k blocks in use, in
// one request each of one tenant, and spread over 2 and 16 tenants.
TEST(TenantSchedulerTest, PerStepCostPrintout) {
  for (int tenants : {1, 2, 16}) {
    const int32_t num_blocks = 60000, bs = 16, seqs = 256;
    BlockPool pool(num_blocks, bs, /*enable_prefix_cache=*/false);
    BlockManager blocks(pool);
    Scheduler sched({seqs, 2048}, blocks);
    std::vector<std::unique_ptr<Sequence>> all;
    for (int i = 0; i < seqs + 200; ++i) {  // 200 more waiting
      auto s = std::make_unique<Sequence>();
      s->request_id = 1 + i;
      s->meta = tenant(i % tenants, 1.0 + i % 3);
      s->params = std::make_shared<SamplingParams>();
      s->tokens.assign(i < seqs ? 203 * bs : 16, 1);  // 203 blocks each: 52k in use
      s->num_prompt_tokens = s->num_tokens() - 1;
      all.push_back(std::move(s));
    }
    for (int i = 0; i < seqs; ++i) {
      Sequence& s = *all[i];
      ASSERT_TRUE(blocks.allocate_slots(s, s.num_tokens() - 1));
      s.num_computed = s.num_tokens() - 1;
      sched.add(&s);
    }
    for (int i = seqs; i < seqs + 200; ++i) sched.add(all[i].get());
    std::vector<int32_t> sampled;
    double total_us = 0;
    const int steps = 200;
    for (int k = 0; k < steps + 10; ++k) {
      auto t0 = std::chrono::steady_clock::now();
      SchedulerOutput out = sched.schedule();
      sampled.assign(out.seqs.size(), 1);
      for (auto& ss : out.seqs) ss.sample = true;
      sched.update(out, sampled);
      auto t1 = std::chrono::steady_clock::now();
      if (k >= 10) total_us += std::chrono::duration<double, std::micro>(t1 - t0).count();
      for (auto& ss : out.seqs) {  // keep the set steady: drop the new token
        ss.seq->tokens.pop_back();
        ss.seq->num_computed = ss.seq->num_tokens() - 1;
      }
    }
    std::printf("[ tenants ] %d tenant(s), %d running, %d blocks in use: %.1f us a step\n",
                tenants, sched.num_running(), pool.num_used(), total_us / steps);
  }
}

}  // namespace
}  // namespace yun::test
