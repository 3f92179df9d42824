// The single-tenant scheduler is EXACTLY the per-request scheduler that
// came before tenants: the step-by-step decisions (scheduled tokens,
// samples, preemptions, failures, prefix hits) of random multi-sample
// traffic with aborts hash to the values the pre-tenant scheduler gave (the
// pins below were computed with it), for the default tenant and for any one
// tenant of another id and weight. A deliberate change of the per-request
// policy changes the pins: recompute them and say why in the commit.
// Run: build/tests/yun_engine_tests --gtest_filter='SchedulerTrace*'
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "yun/engine/scheduler.h"

namespace yun::test {
namespace {

// FNV-1a of the step-by-step decisions (scheduled tokens, samples,
// preemptions, failures) of random multi-sample traffic with aborts.
uint64_t scheduler_trace_hash(int32_t num_blocks, int32_t block_size, int32_t max_seqs,
                                     int32_t max_tokens, bool prefix, unsigned seed, int max_n,
                                     const RequestMeta& meta) {
  BlockPool pool(num_blocks, block_size, prefix);
  BlockManager blocks(pool);
  Scheduler sched({max_seqs, max_tokens}, blocks);
  std::deque<std::unique_ptr<Sequence>> seqs;
  std::unordered_map<const Sequence*, int> max_out;
  std::mt19937 rng(seed);
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](uint64_t v) {
    h ^= v;
    h *= 1099511628211ULL;
  };
  auto next_token = [](const Sequence& s, int32_t end) {
    uint64_t x = 1469598103934665603ULL;
    for (int32_t i = 0; i < end; ++i) {
      x ^= static_cast<uint64_t>(s.tokens[i]) * 2654435761ULL + i;
      x *= 1099511628211ULL;
    }
    return static_cast<int32_t>((x >> 17) % 101);
  };
  int added = 0;
  for (int step = 0; step < 3000; ++step) {
    if (added < 250 && rng() % 3 == 0) {
      const int32_t len = 1 + rng() % 40, salt = rng() % 4;
      const int mo = 1 + rng() % 60, n = 1 + rng() % max_n;
      for (int i = 0; i < n; ++i) {
        auto s = std::make_unique<Sequence>();
        s->request_id = 1 + added;
        s->index = i;
        s->params = std::make_shared<SamplingParams>();
        s->meta = meta;
        for (int32_t k = 0; k < len; ++k) s->tokens.push_back((k * 7 + salt * 13 + 3) % 101);
        s->num_prompt_tokens = len;
        max_out[s.get()] = mo;
        seqs.push_back(std::move(s));
        if (i > 0 && rng() % 2)
          sched.add_front(seqs.back().get());
        else
          sched.add(seqs.back().get());
      }
      ++added;
    }
    if (!seqs.empty() && rng() % 15 == 0) {
      Sequence* s = seqs[rng() % seqs.size()].get();
      if (s->status != SeqStatus::kFinished) sched.finish(s);
    }
    SchedulerOutput out = sched.schedule();
    mix(0xABCDu + step);
    std::vector<int32_t> sampled;
    for (const ScheduledSeq& ss : out.seqs) {
      mix(ss.seq->request_id * 1000 + ss.seq->index);
      mix(static_cast<uint64_t>(ss.num_tokens) * 2 + ss.sample);
      if (ss.sample) sampled.push_back(next_token(*ss.seq, ss.seq->num_computed + ss.num_tokens));
    }
    for (const Sequence* s : out.preempted) mix(0x1000000u + s->request_id * 1000 + s->index);
    for (const Sequence* s : out.failed) mix(0x2000000u + s->request_id * 1000 + s->index);
    sched.update(out, sampled);
    for (const ScheduledSeq& ss : out.seqs) {
      if (!ss.sample) continue;
      if (ss.seq->num_output() >= max_out[ss.seq]) sched.finish(ss.seq);
    }
  }
  mix(static_cast<uint64_t>(sched.num_preemptions()));
  mix(static_cast<uint64_t>(sched.num_fair_preemptions()));
  mix(static_cast<uint64_t>(sched.prefix_hits()));
  return h;
}

struct Case {
  int32_t num_blocks, block_size, max_seqs, max_tokens;
  bool prefix;
  unsigned seed;
  int max_n;
  uint64_t pin;
};

TEST(SchedulerTraceTest, OneTenantIsThePerRequestSchedulerOfBefore) {
  const Case cases[] = {{32, 4, 8, 24, true, 1, 6, 0x7344c46e3c43badaULL},
                        {32, 4, 8, 24, false, 2, 6, 0x9a26f2663ca3429dULL},
                        {128, 16, 256, 2048, true, 3, 64, 0x6d37506bb3117351ULL},
                        {64, 4, 16, 64, false, 5, 8, 0x5ad8b564ffc1ce97ULL}};
  RequestMeta other;
  other.tenant = 9;
  other.weight = 3.0;
  other.priority = 2;
  for (const Case& c : cases) {
    for (const RequestMeta& m : {RequestMeta{}, other}) {
      EXPECT_EQ(scheduler_trace_hash(c.num_blocks, c.block_size, c.max_seqs, c.max_tokens,
                                     c.prefix, c.seed, c.max_n, m),
                c.pin)
          << "seed " << c.seed << " tenant " << m.tenant;
    }
  }
}

}  // namespace
}  // namespace yun::test
