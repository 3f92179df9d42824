#include "yun/engine/scheduler.h"

#include <algorithm>
#include <cassert>

namespace yun {

Scheduler::Scheduler(const SchedulerConfig& config, BlockManager& blocks)
    : config_(config), blocks_(blocks) {}

void Scheduler::add(Sequence* seq) {
  seq->status = SeqStatus::kWaiting;
  waiting_.push_back(seq);
}

void Scheduler::add_front(Sequence* seq) {
  seq->status = SeqStatus::kWaiting;
  waiting_.push_front(seq);
}

void Scheduler::preempt(Sequence* seq, SchedulerOutput& out) {
  auto it = std::find(running_.begin(), running_.end(), seq);
  assert(it != running_.end());
  running_.erase(it);
  blocks_.free(*seq);
  seq->status = SeqStatus::kWaiting;
  waiting_.push_front(seq);
  ++num_preemptions_;
  out.preempted.push_back(seq);
}

SchedulerOutput Scheduler::schedule() {
  SchedulerOutput out;
  int32_t budget = config_.max_num_batched_tokens;

  // 1. Running sequences, oldest first.
  size_t i = 0;
  while (i < running_.size() && budget > 0) {
    Sequence* s = running_[i];
    const int32_t num_new = std::min(s->num_tokens() - s->num_computed, budget);
    bool scheduled = true, failed = false;
    while (!blocks_.allocate_slots(*s, num_new)) {
      Sequence* victim = running_.back();
      if (victim != s) {
        preempt(victim, out);
        continue;
      }
      if (i == 0) {
        // Alone in the running set: only waiting forks can hold other blocks.
        bool freed = false;
        for (Sequence* w : waiting_) {
          if (!w->block_table.empty()) {
            blocks_.free(*w);
            freed = true;
          }
        }
        if (freed) continue;
        failed = true;  // the whole pool is too small for this sequence
      } else {
        preempt(s, out);
      }
      scheduled = false;
      break;
    }
    if (failed) {
      running_.erase(running_.begin() + i);
      blocks_.free(*s);
      s->status = SeqStatus::kFinished;
      out.failed.push_back(s);
      continue;
    }
    if (!scheduled) break;
    out.seqs.push_back({s, num_new, s->num_computed + num_new == s->num_tokens()});
    budget -= num_new;
    ++i;
  }

  // 2. Waiting sequences, only when nothing had to be preempted.
  if (out.preempted.empty()) admit_waiting(out, budget);
  for (auto& ss : out.seqs) out.total_tokens += ss.num_tokens;
  return out;
}

void Scheduler::admit_waiting(SchedulerOutput& out, int32_t& budget) {
  while (!waiting_.empty() && budget > 0 &&
         static_cast<int32_t>(running_.size()) < config_.max_num_seqs) {
    Sequence* s = waiting_.front();
    int32_t hit = -1;
    if (s->block_table.empty()) hit = blocks_.match_prefix(*s);
    int32_t num_new = std::min(s->num_tokens() - s->num_computed, budget);
    if (!blocks_.allocate_slots(*s, num_new)) {
      blocks_.free(*s);
      if (!running_.empty() || !out.seqs.empty()) break;  // retry when others finish
      // Nothing runs: free blocks other waiting sequences hold, then retry.
      for (Sequence* w : waiting_) blocks_.free(*w);
      hit = blocks_.match_prefix(*s);
      num_new = std::min(s->num_tokens() - s->num_computed, budget);
      if (!blocks_.allocate_slots(*s, num_new)) {
        blocks_.free(*s);
        waiting_.pop_front();
        s->status = SeqStatus::kFinished;
        out.failed.push_back(s);
        continue;
      }
    }
    if (hit >= 0) {
      prefix_queries_ += s->num_tokens();
      prefix_hits_ += hit;
    }
    if (s->num_cached_prompt_tokens < 0) {
      s->num_cached_prompt_tokens = std::min(s->num_computed, s->num_prompt_tokens);
    }
    waiting_.pop_front();
    s->status = SeqStatus::kRunning;
    s->arrival = next_arrival_++;
    running_.push_back(s);
    out.seqs.push_back({s, num_new, s->num_computed + num_new == s->num_tokens()});
    budget -= num_new;
  }
}

ForwardBatch Scheduler::build_batch(const SchedulerOutput& out) const {
  ForwardBatch b;
  b.token_ids.reserve(out.total_tokens);
  b.positions.reserve(out.total_tokens);
  b.seqs.reserve(out.seqs.size());
  for (const ScheduledSeq& ss : out.seqs) {
    const Sequence& s = *ss.seq;
    SeqSlice slice;
    slice.token_start = b.total_tokens();
    slice.num_tokens = ss.num_tokens;
    slice.context_len = s.num_computed + ss.num_tokens;
    for (int32_t p = s.num_computed; p < slice.context_len; ++p) {
      b.token_ids.push_back(s.tokens[p]);
      b.positions.push_back(p);
    }
    int32_t nb = blocks_.blocks_for(slice.context_len);
    slice.block_table.assign(s.block_table.begin(), s.block_table.begin() + nb);
    if (ss.sample) b.logit_rows.push_back(slice.token_start + ss.num_tokens - 1);
    b.seqs.push_back(std::move(slice));
  }
  return b;
}

void Scheduler::update(const SchedulerOutput& out, std::span<const int32_t> sampled) {
  size_t k = 0;
  for (const ScheduledSeq& ss : out.seqs) {
    Sequence* s = ss.seq;
    s->num_computed += ss.num_tokens;
    blocks_.commit_full_blocks(*s);
    if (ss.sample) {
      assert(k < sampled.size());
      s->tokens.push_back(sampled[k++]);
    }
  }
}

void Scheduler::finish(Sequence* seq) {
  if (auto it = std::find(running_.begin(), running_.end(), seq); it != running_.end()) {
    running_.erase(it);
  }
  if (auto it = std::find(waiting_.begin(), waiting_.end(), seq); it != waiting_.end()) {
    waiting_.erase(it);
  }
  blocks_.free(*seq);
  seq->status = SeqStatus::kFinished;
}

}  // namespace yun
