// SchedulerHarness: drives a Scheduler + BlockManager + FakeRunner step by
// step without the engine thread, and describes each step as a string for
// table tests: "A/8" = sequence A computed 8 tokens, "A/1*" = ... and sampled,
// "preempt:B", "fail:C". Greedy sampling (argmax of the fake logits); a
// sequence finishes when it has max_out tokens of output.
#pragma once

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "engine/fake_runner.h"
#include "yun/engine/scheduler.h"

namespace yun::test {

struct SchedulerHarness {
  SchedulerHarness(int32_t num_blocks, int32_t block_size, int32_t max_num_seqs,
                   int32_t max_batched_tokens, bool prefix_cache = true, int32_t vocab = 101)
      : runner(vocab),
        pool(num_blocks, block_size, prefix_cache),
        blocks(pool),
        sched({max_num_seqs, max_batched_tokens}, blocks) {
    (void)runner.allocate_kv_cache({num_blocks, block_size});
  }

  // A new sequence named by `name` (a letter), queued at the back.
  Sequence* add(char name, std::vector<int32_t> prompt, int32_t max_out) {
    return add_seq(static_cast<uint64_t>(name), std::move(prompt), max_out, RequestMeta{});
  }
  // A new sequence of request `request_id` for `meta` (its tenant, weight,
  // priority, cache salt), queued at the back. Step descriptions name it by
  // the character of its request id.
  Sequence* add_seq(uint64_t request_id, std::vector<int32_t> prompt, int32_t max_out,
                    const RequestMeta& meta) {
    auto s = std::make_unique<Sequence>();
    s->request_id = request_id;
    s->meta = meta;
    s->params = std::make_shared<SamplingParams>();
    s->tokens = std::move(prompt);
    s->num_prompt_tokens = s->num_tokens();
    max_outs.push_back(max_out);
    seqs.push_back(std::move(s));
    sched.add(seqs.back().get());
    return seqs.back().get();
  }
  // `n` sequences of one request (all named `name`), queued at the back.
  std::vector<Sequence*> add_request(char name, const std::vector<int32_t>& prompt, int32_t max_out,
                                     int32_t n) {
    std::vector<Sequence*> r;
    for (int32_t i = 0; i < n; ++i) {
      r.push_back(add(name, prompt, max_out));
      r.back()->index = i;
    }
    return r;
  }
  static std::vector<int32_t> prompt(int32_t len, int32_t salt = 0) {
    std::vector<int32_t> p;
    for (int32_t i = 0; i < len; ++i) p.push_back((i * 7 + salt * 13 + 3) % 101);
    return p;
  }
  int32_t max_out_of(const Sequence* s) const {
    for (size_t i = 0; i < seqs.size(); ++i) {
      if (seqs[i].get() == s) return max_outs[i];
    }
    return 0;
  }

  // One step; returns its description ("" when nothing was scheduled).
  std::string step() {
    SchedulerOutput out = sched.schedule();
    std::string d;
    auto name = [](const Sequence* s) { return std::string(1, static_cast<char>(s->request_id)); };
    for (auto& ss : out.seqs) {
      d += (d.empty() ? "" : " ") + name(ss.seq) + "/" + std::to_string(ss.num_tokens) +
           (ss.sample ? "*" : "");
    }
    for (Sequence* s : out.preempted)
      d += (d.empty() ? "" : " ") + std::string("preempt:") + name(s);
    for (Sequence* s : out.failed) d += (d.empty() ? "" : " ") + std::string("fail:") + name(s);
    if (out.empty()) return d;
    ForwardBatch b = sched.build_batch(out);
    std::vector<float> logits;
    Status st = runner.forward(b, logits);
    if (!st.is_ok()) return "runner error: " + st.to_string();
    const int32_t V = static_cast<int32_t>(runner.config().vocab_size);
    std::vector<int32_t> sampled;
    for (size_t k = 0; k < b.logit_rows.size(); ++k) {
      sampled.push_back(static_cast<int32_t>(
          std::max_element(logits.begin() + k * V, logits.begin() + (k + 1) * V) -
          (logits.begin() + k * V)));
    }
    sched.update(out, sampled);
    for (auto& ss : out.seqs) {
      if (ss.sample && ss.seq->num_output() >= max_out_of(ss.seq)) sched.finish(ss.seq);
    }
    return d;
  }
  std::vector<std::string> run(int max_steps = 1000) {
    std::vector<std::string> steps;
    while (sched.has_work() && max_steps-- > 0) steps.push_back(step());
    return steps;
  }
  // The generated tokens match the fake model's greedy continuation.
  bool output_matches(const Sequence* s) const {
    std::vector<int32_t> prompt(s->tokens.begin(), s->tokens.begin() + s->num_prompt_tokens);
    std::vector<int32_t> out(s->tokens.begin() + s->num_prompt_tokens, s->tokens.end());
    return out ==
           fake_greedy(prompt, s->num_output(), static_cast<int32_t>(runner.config().vocab_size));
  }

  FakeRunner runner;
  BlockPool pool;
  BlockManager blocks;
  Scheduler sched;
  std::deque<std::unique_ptr<Sequence>> seqs;
  std::vector<int32_t> max_outs;
};

}  // namespace yun::test
