#include "yun/engine/scheduler.h"

#include <algorithm>
#include <cassert>
#include <unordered_set>

namespace yun {

size_t fifo_admission(const std::deque<Sequence*>& waiting,
                      const std::function<bool(const Sequence&)>& eligible) {
  for (size_t i = 0; i < waiting.size(); ++i) {
    if (eligible(*waiting[i])) return i;
  }
  return waiting.size();
}

size_t weighted_fair_admission(const FairShare& fair, const std::deque<Sequence*>& waiting,
                               const std::function<bool(const Sequence&)>& eligible) {
  if (!fair.multi_tenant()) return fifo_admission(waiting, eligible);
  // Each tenant's candidate is its first eligible sequence in queue order
  // (FIFO within a tenant); the best candidate has the highest priority,
  // then the least usage (dominant share / weight), then comes first.
  std::unordered_set<uint64_t> seen;
  size_t best = waiting.size();
  int32_t best_priority = 0;
  double best_usage = 0;
  const size_t want = static_cast<size_t>(fair.num_waiting_tenants());
  for (size_t i = 0; i < waiting.size() && seen.size() < want; ++i) {
    const Sequence& s = *waiting[i];
    if (seen.count(s.meta.tenant) || !eligible(s)) continue;
    seen.insert(s.meta.tenant);
    const double u = fair.usage(s.meta.tenant);
    if (best == waiting.size() || s.meta.priority > best_priority ||
        (s.meta.priority == best_priority && u < best_usage)) {
      best = i;
      best_priority = s.meta.priority;
      best_usage = u;
    }
  }
  return best;
}

Scheduler::Scheduler(const SchedulerConfig& config, BlockManager& blocks)
    : config_(config), blocks_(blocks) {
  policy_ = [this](const std::deque<Sequence*>& waiting,
                   const std::function<bool(const Sequence&)>& eligible) {
    return weighted_fair_admission(fair_, waiting, eligible);
  };
}

void Scheduler::add(Sequence* seq) {
  seq->status = SeqStatus::kWaiting;
  waiting_.push_back(seq);
  fair_.count_in(*seq);
  fair_.count_waiting(*seq, +1);
}

void Scheduler::add_front(Sequence* seq) {
  seq->status = SeqStatus::kWaiting;
  waiting_.push_front(seq);
  fair_.count_in(*seq);
  fair_.count_waiting(*seq, +1);
}

void Scheduler::erase_waiting(Sequence* seq) {
  waiting_.erase(std::find(waiting_.begin(), waiting_.end(), seq));
  fair_.count_waiting(*seq, -1);
}

bool Scheduler::protected_before(const Sequence* a, const Sequence* b) const {
  if (fair_.multi_tenant()) {
    // Tenant level: every tenant's oldest first, then tenant by tenant, the
    // least used (as of the step's start) first.
    const bool ta = fair_.tenant_oldest(*a), tb = fair_.tenant_oldest(*b);
    if (ta != tb) return ta;
    if (ta) return a->arrival < b->arrival;
    if (a->meta.tenant != b->meta.tenant) {
      const double ra = fair_.rank(a->meta.tenant), rb = fair_.rank(b->meta.tenant);
      if (ra != rb) return ra < rb;
      return a->meta.tenant < b->meta.tenant;
    }
  }
  // Request level (all of it with one tenant).
  const bool oa = fair_.request_oldest(*a), ob = fair_.request_oldest(*b);
  if (oa != ob) return oa;
  if (oa) return a->arrival < b->arrival;
  const double ha = fair_.held(a->request_id), hb = fair_.held(b->request_id);
  if (ha != hb) return ha < hb;
  if (a->request_id != b->request_id) return a->request_id < b->request_id;
  return a->arrival < b->arrival;
}

void Scheduler::compute_shares() {
  starved_ = false;
  fair_.begin_step(running_, blocks_.pool(), config_.max_num_seqs);
  if (!fair_.active()) return;
  std::stable_sort(running_.begin(), running_.end(),
                   [this](const Sequence* a, const Sequence* b) { return protected_before(a, b); });
  for (const Sequence* w : waiting_) {
    if (fair_.under(*w)) {
      starved_ = true;
      break;
    }
  }
}

void Scheduler::preempt(Sequence* seq, SchedulerOutput& out) {
  auto it = std::find(running_.begin(), running_.end(), seq);
  assert(it != running_.end());
  running_.erase(it);
  if (fair_.active()) fair_.preempted(*seq, FairShare::charge(*seq, blocks_.pool()));
  blocks_.free(*seq);
  seq->status = SeqStatus::kWaiting;
  seq->preempted_step = step_;
  waiting_.push_front(seq);
  fair_.count_waiting(*seq, +1);
  ++num_preemptions_;
  out.preempted.push_back(seq);
}

Sequence* Scheduler::tenant_victim(const Sequence& seq) const {
  // From the tenant most over its share (live), never its oldest; inside
  // it, extra sequences of its requests first (the biggest holder's newest),
  // then its requests' only/oldest sequences, newest first.
  Sequence* victim = nullptr;
  double vu = 0, vh = 0;
  bool vextra = false;
  for (Sequence* r : running_) {
    if (r->meta.tenant == seq.meta.tenant) continue;
    if (step_ - r->admitted_step < kResumeGraceSteps) continue;
    if (!fair_.tenant_over(*r) || fair_.tenant_oldest(*r)) continue;
    if (!fair_.tenant_stays_at_share(*r, FairShare::charge(*r, blocks_.pool()))) continue;
    const double u = fair_.usage(r->meta.tenant);
    const bool extra = !fair_.request_oldest(*r);
    const double h = extra ? fair_.held(r->request_id) : 0.0;
    bool better = !victim || u > vu;
    if (victim && u == vu) {
      better = (extra != vextra) ? extra
                                 : (h > vh || (h == vh && r->arrival > victim->arrival));
    }
    if (better) {
      victim = r;
      vu = u;
      vh = h;
      vextra = extra;
    }
  }
  return victim;
}

Sequence* Scheduler::request_victim(const Sequence& seq) const {
  // Inside seq's tenant: the newest sequence of the request holding the
  // most blocks, over its share, keeping its oldest.
  Sequence* victim = nullptr;
  double victim_held = 0;
  for (Sequence* r : running_) {
    if (r->meta.tenant != seq.meta.tenant) continue;
    if (r->request_id == seq.request_id || fair_.request_oldest(*r)) continue;
    if (step_ - r->admitted_step < kResumeGraceSteps) continue;
    if (!fair_.request_over(*r)) continue;
    const double h = fair_.held(r->request_id);
    if (!victim || h > victim_held || (h == victim_held && r->arrival > victim->arrival)) {
      victim = r;
      victim_held = h;
    }
  }
  return victim;
}

bool Scheduler::preempt_for(const Sequence& seq, Take take, SchedulerOutput& out,
                            int32_t& budget) {
  Sequence* victim = take.tenant ? tenant_victim(seq) : nullptr;
  if (victim) ++num_tenant_preemptions_;
  if (!victim && take.request) victim = request_victim(seq);
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
  blocks_.begin_step();
  compute_shares();
  int32_t budget = config_.max_num_batched_tokens;
  // Rule 2: the budget over-share extra sequences must leave to the starved.
  const int32_t reserve = starved_ ? config_.max_num_batched_tokens / 2 : 0;

  // 1. Running sequences, in protection order (rule 1).
  size_t i = 0;
  while (i < running_.size() && budget > 0) {
    Sequence* s = running_[i];
    int32_t allowed = budget;
    if (reserve > 0 && fair_.restricted(*s)) allowed = budget - reserve;
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
      fair_.count_out(*s);
      out.failed.push_back(s);
      continue;
    }
    if (!scheduled) break;
    out.seqs.push_back(batch_entry(s, num_new));
    budget -= num_new;
    ++i;
  }

  // 2. Waiting sequences (rules 3 and 4).
  admit_waiting(out, budget, /*pressed=*/!out.preempted.empty());
  for (auto& ss : out.seqs) out.total_tokens += ss.num_tokens;
  for (auto& ss : out.seqs) blocks_.plan_captures(*ss.seq, ss.num_tokens, ss.captures);
  return out;
}

void Scheduler::admit_waiting(SchedulerOutput& out, int32_t& budget, bool pressed) {
  // After a preemption for growth only the starved may come in, and only
  // when the pressure comes from a hog whose extra sequences can make room.
  if (pressed && !(starved_ && fair_.hog())) return;
  const std::function<bool(const Sequence&)> eligible = [&](const Sequence& s) {
    if (s.preempted_step == step_) return false;
    if (fair_.under(s)) return !pressed || fair_.hog();
    return !pressed && !starved_;
  };
  while (!waiting_.empty() && budget > 0) {
    const size_t idx = policy_(waiting_, eligible);
    if (idx >= waiting_.size()) break;
    Sequence* s = waiting_[idx];
    // Rule 4 applies to an under-share tenant / request while it has no
    // running sequence or while this admission keeps it within its share.
    Take take;
    if (starved_ && fair_.under(*s)) {
      const int32_t est =
          blocks_.blocks_for(s->num_computed + std::min(s->num_tokens() - s->num_computed, budget));
      take.tenant = fair_.tenant_under(*s) && fair_.tenant_may_grow(*s, est);
      take.request = fair_.request_under(*s) && fair_.request_may_grow(*s, est);
    }
    while (static_cast<int32_t>(running_.size()) >= config_.max_num_seqs) {
      if (!take.any() || !preempt_for(*s, take, out, budget)) return;
    }
    int32_t hit = -1;
    if (s->block_table.empty()) hit = blocks_.match_prefix(*s);
    int32_t num_new = std::min(s->num_tokens() - s->num_computed, budget);
    bool fits = blocks_.allocate_slots(*s, num_new);
    while (!fits && take.any() && preempt_for(*s, take, out, budget)) {
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
        erase_waiting(s);
        s->status = SeqStatus::kFinished;
        fair_.count_out(*s);
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
    erase_waiting(s);
    s->status = SeqStatus::kRunning;
    s->arrival = next_arrival_++;
    s->admitted_step = step_;
    running_.push_back(s);
    if (fair_.active()) fair_.admitted(*s, FairShare::charge(*s, blocks_.pool()));
    out.seqs.push_back(batch_entry(s, num_new));
    budget -= num_new;
  }
}

ScheduledSeq Scheduler::batch_entry(Sequence* s, int32_t num_new) {
  const bool last = s->num_computed + num_new == s->num_tokens();
  return {s, num_new, last && !s->pooling, last && s->pooling, {}};
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
    slice.state_slot = s.state_slot;
    slice.restore_slot = s.restore_slot;
    slice.captures = ss.captures;
    if (ss.sample) b.logit_rows.push_back(slice.token_start + ss.num_tokens - 1);
    if (ss.pool) b.hidden_rows.push_back(slice.token_start + ss.num_tokens - 1);
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
    blocks_.commit_captures(*s, ss.captures);
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
    fair_.count_waiting(*seq, -1);
    found = true;
  }
  if (found) fair_.count_out(*seq);
  blocks_.free(*seq);
  seq->status = SeqStatus::kFinished;
}

}  // namespace yun
