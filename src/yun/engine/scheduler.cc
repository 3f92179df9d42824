#include "yun/engine/scheduler.h"

#include <algorithm>
#include <cassert>

namespace yun {

size_t fifo_admission(const std::deque<Sequence*>& waiting,
                      const std::function<bool(const Sequence&)>& eligible) {
  for (size_t i = 0; i < waiting.size(); ++i) {
    if (eligible(*waiting[i])) return i;
  }
  return waiting.size();
}

Scheduler::Scheduler(const SchedulerConfig& config, BlockManager& blocks)
    : config_(config), blocks_(blocks) {}

void Scheduler::add(Sequence* seq) {
  seq->status = SeqStatus::kWaiting;
  waiting_.push_back(seq);
  count_in(*seq);
}

void Scheduler::add_front(Sequence* seq) {
  seq->status = SeqStatus::kWaiting;
  waiting_.push_front(seq);
  count_in(*seq);
}

void Scheduler::count_out(const Sequence& seq) {
  auto it = num_seqs_.find(seq.request_id);
  assert(it != num_seqs_.end());
  if (--it->second == 0) num_seqs_.erase(it);
}

double Scheduler::charge(const Sequence& seq) const {
  double c = 0;
  for (int32_t b : seq.block_table) c += 1.0 / std::max(1, blocks_.pool().ref_count(b));
  return c;
}

double Scheduler::held(uint64_t request_id) const {
  auto it = shares_.find(request_id);
  return it == shares_.end() ? 0.0 : it->second.blocks;
}

int32_t Scheduler::num_running_of(uint64_t request_id) const {
  auto it = shares_.find(request_id);
  return it == shares_.end() ? 0 : it->second.running;
}

bool Scheduler::is_oldest(const Sequence& seq) const {
  auto it = shares_.find(seq.request_id);
  return it != shares_.end() && it->second.running > 0 && it->second.oldest == seq.arrival;
}

void Scheduler::compute_shares() {
  shares_.clear();
  starved_ = hog_ = false;
  fair_ = num_seqs_.size() >= 2;
  if (!fair_) return;
  fair_share_ = static_cast<double>(blocks_.pool().num_blocks()) / num_seqs_.size();
  slot_share_ = static_cast<double>(config_.max_num_seqs) / num_seqs_.size();
  for (const Sequence* s : running_) {
    Share& sh = shares_[s->request_id];
    sh.blocks += charge(*s);
    if (sh.running++ == 0 || s->arrival < sh.oldest) sh.oldest = s->arrival;
  }
  std::stable_sort(running_.begin(), running_.end(), [this](const Sequence* a, const Sequence* b) {
    const bool oa = is_oldest(*a), ob = is_oldest(*b);
    if (oa != ob) return oa;
    if (oa) return a->arrival < b->arrival;
    const double ha = held(a->request_id), hb = held(b->request_id);
    if (ha != hb) return ha < hb;
    if (a->request_id != b->request_id) return a->request_id < b->request_id;
    return a->arrival < b->arrival;
  });
  for (const auto& [id, sh] : shares_) {
    if (sh.running >= 2 && over_share(id)) hog_ = true;
  }
  for (const Sequence* w : waiting_) {
    if (under_share(w->request_id)) {
      starved_ = true;
      break;
    }
  }
}

void Scheduler::preempt(Sequence* seq, SchedulerOutput& out) {
  auto it = std::find(running_.begin(), running_.end(), seq);
  assert(it != running_.end());
  running_.erase(it);
  if (fair_) {
    if (auto sh = shares_.find(seq->request_id); sh != shares_.end()) {
      sh->second.blocks -= charge(*seq);
      --sh->second.running;
    }
  }
  blocks_.free(*seq);
  seq->status = SeqStatus::kWaiting;
  seq->preempted_step = step_;
  waiting_.push_front(seq);
  ++num_preemptions_;
  out.preempted.push_back(seq);
}

bool Scheduler::preempt_for(const Sequence& seq, SchedulerOutput& out, int32_t& budget) {
  Sequence* victim = nullptr;
  double victim_held = 0;
  for (Sequence* r : running_) {
    if (r->request_id == seq.request_id || is_oldest(*r)) continue;
    if (step_ - r->admitted_step < kResumeGraceSteps) continue;
    if (!over_share(r->request_id)) continue;
    const double h = held(r->request_id);
    if (!victim || h > victim_held || (h == victim_held && r->arrival > victim->arrival)) {
      victim = r;
      victim_held = h;
    }
  }
  if (!victim) return false;
  // Scheduled earlier this step: take it out of the batch.
  auto it = std::find_if(out.seqs.begin(), out.seqs.end(),
                         [victim](const ScheduledSeq& ss) { return ss.seq == victim; });
  if (it != out.seqs.end()) {
    budget += it->num_tokens;
    out.seqs.erase(it);
  }
  preempt(victim, out);
  ++num_fair_preemptions_;
  return true;
}

SchedulerOutput Scheduler::schedule() {
  SchedulerOutput out;
  ++step_;
  compute_shares();
  int32_t budget = config_.max_num_batched_tokens;
  // Rule 2: the budget over-share extra sequences must leave to the starved.
  const int32_t reserve = starved_ ? config_.max_num_batched_tokens / 2 : 0;

  // 1. Running sequences, in protection order (rule 1).
  size_t i = 0;
  while (i < running_.size() && budget > 0) {
    Sequence* s = running_[i];
    int32_t allowed = budget;
    if (reserve > 0 && !is_oldest(*s) && over_share(s->request_id)) allowed = budget - reserve;
    if (allowed <= 0) {
      ++i;  // waits this step, keeping its blocks
      continue;
    }
    const int32_t num_new = std::min(s->num_tokens() - s->num_computed, allowed);
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
      count_out(*s);
      out.failed.push_back(s);
      continue;
    }
    if (!scheduled) break;
    out.seqs.push_back({s, num_new, s->num_computed + num_new == s->num_tokens()});
    budget -= num_new;
    ++i;
  }

  // 2. Waiting sequences (rules 3 and 4).
  admit_waiting(out, budget, /*pressed=*/!out.preempted.empty());
  for (auto& ss : out.seqs) out.total_tokens += ss.num_tokens;
  return out;
}

void Scheduler::admit_waiting(SchedulerOutput& out, int32_t& budget, bool pressed) {
  // After a preemption for growth only the starved may come in, and only
  // when the pressure comes from a hog whose extra sequences can make room.
  if (pressed && !(starved_ && hog_)) return;
  const std::function<bool(const Sequence&)> eligible = [&](const Sequence& s) {
    if (s.preempted_step == step_) return false;
    if (under_share(s.request_id)) return !pressed || hog_;
    return !pressed && !starved_;
  };
  while (!waiting_.empty() && budget > 0) {
    const size_t idx = policy_(waiting_, eligible);
    if (idx >= waiting_.size()) break;
    Sequence* s = waiting_[idx];
    // Rule 4 applies to an under-share request while it has no running
    // sequence or while this admission keeps it within its share.
    bool may_take = false;
    if (starved_ && under_share(s->request_id)) {
      auto sh = shares_.find(s->request_id);
      const bool first = sh == shares_.end() || sh->second.running == 0;
      const int32_t est =
          blocks_.blocks_for(s->num_computed + std::min(s->num_tokens() - s->num_computed, budget));
      may_take = first || (held(s->request_id) + est <= fair_share_ &&
                           sh->second.running + 1 <= slot_share_);
    }
    while (static_cast<int32_t>(running_.size()) >= config_.max_num_seqs) {
      if (!may_take || !preempt_for(*s, out, budget)) return;
    }
    int32_t hit = -1;
    if (s->block_table.empty()) hit = blocks_.match_prefix(*s);
    int32_t num_new = std::min(s->num_tokens() - s->num_computed, budget);
    bool fits = blocks_.allocate_slots(*s, num_new);
    while (!fits && may_take && preempt_for(*s, out, budget)) {
      fits = blocks_.allocate_slots(*s, num_new);
    }
    if (!fits) {
      blocks_.free(*s);
      if (!running_.empty() || !out.seqs.empty()) break;  // retry when others finish
      // Nothing runs: free blocks other waiting sequences hold, then retry.
      for (Sequence* w : waiting_) blocks_.free(*w);
      hit = blocks_.match_prefix(*s);
      num_new = std::min(s->num_tokens() - s->num_computed, budget);
      if (!blocks_.allocate_slots(*s, num_new)) {
        blocks_.free(*s);
        waiting_.erase(std::find(waiting_.begin(), waiting_.end(), s));
        s->status = SeqStatus::kFinished;
        count_out(*s);
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
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), s));
    s->status = SeqStatus::kRunning;
    s->arrival = next_arrival_++;
    s->admitted_step = step_;
    running_.push_back(s);
    if (fair_) {
      Share& sh = shares_[s->request_id];
      sh.blocks += charge(*s);
      if (sh.running++ == 0) sh.oldest = s->arrival;
    }
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
  bool found = false;
  if (auto it = std::find(running_.begin(), running_.end(), seq); it != running_.end()) {
    running_.erase(it);
    found = true;
  } else if (auto w = std::find(waiting_.begin(), waiting_.end(), seq); w != waiting_.end()) {
    waiting_.erase(w);
    found = true;
  }
  if (found) count_out(*seq);
  blocks_.free(*seq);
  seq->status = SeqStatus::kFinished;
}

}  // namespace yun
