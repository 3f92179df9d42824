// Scheduler: decides, each step, which sequences run and how many tokens each
// computes (one number covers prefill, chunked prefill, decode and prefix
// hits), within a token budget (max_num_batched_tokens) and a sequence budget
// (max_num_seqs).
//
// Step shape (vLLM v1 / nano-vllm):
//   out = scheduler.schedule();
//   batch = scheduler.build_batch(out);  runner.forward(batch, logits);
//   scheduler.update(out, sampled_tokens);
//
// Policy (a stated rule at two levels: sequences carry Sequence::request_id
// and Sequence::meta (request_meta.h: tenant, weight, priority); the
// engine's RequestState is opaque here).
//
// Terms, computed at the start of every step and adjusted as sequences are
// admitted or preempted during it (fair_share.h computes them):
//   T        = tenants with a sequence in the scheduler (running or waiting);
//   R_t      = tenant t's requests with a sequence in the scheduler;
//   share(t) = W_t / sum of W over T of num_blocks KV blocks and of
//              max_num_seqs running sequences (W_t: the weight of t's latest
//              sequence); share(r) = share(t) / |R_t| for r in R_t: with one
//              tenant, num_blocks / |R| and max_num_seqs / |R|, a request's
//              fair share of the pool and the batch;
//   held(x)  = KV blocks the running sequences of x (a tenant or a request)
//              hold, a block shared by k sequences counting 1/k to each (so
//              forks sharing a prompt pay for it once);
//   usage(t) = max(held(t) / block share(t), running(t) / slot share(t)),
//              its dominant share;
//   under(t) = |T| >= 2, held(t) below its block share and its running
//              sequences below its slot share; under(r) the same within its
//              tenant, when |R_t| >= 2; over(x): x's level is on and either
//              one above its share. A sequence is under when its tenant or
//              its request is; oldest(x) = x's oldest running sequence (by
//              admission); an EXTRA sequence of x is one that is not
//              oldest(x); starved = some waiting sequence is under.
// With one tenant the tenant level is off and every rule below is the
// per-request rule of before; with one request as well, the plain policy
// (FIFO admission, newest-running preemption).
//
// 1. Running sequences are visited in protection order: first oldest(t) of
//    every tenant (with >= 2 tenants), then tenant by tenant, the lower
//    usage(t) at the step's start first; within a tenant oldest(r) of every
//    request (by admission), then the rest, the requests holding fewer
//    blocks first, each request's newest last. When the pool runs out for a
//    running sequence, the LAST one in that order is preempted (its blocks
//    freed, back to the front of the waiting queue, to be recomputed). So
//    the tenant most over its share loses sequences first, its requests'
//    extra sequences before their only ones, the biggest holder's newest
//    first; a tenant's (request's) oldest is preempted only when every
//    tenant (request of its tenant) runs just one.
// 2. While starved, the extra sequences of tenants or requests over their
//    share may use only half of max_num_batched_tokens: the other half is
//    left for the starved newcomers' prefill.
// 3. Admission: the AdmissionPolicy picks the next eligible waiting
//    sequence; if it does not fit, admission stops for the step (no
//    overtaking). The default, weighted_fair_admission: with one tenant the
//    first eligible sequence in queue order (FIFO); with >= 2, each tenant's
//    first eligible sequence (FIFO within a tenant) is its candidate, and
//    the candidate with the highest meta.priority wins, then the least
//    usage(t) (live, so admissions within a step interleave tenants W_t:W_u),
//    then the first in queue order. Eligible: a sequence preempted this step
//    never is; an under one is, unless something was preempted in 1. while
//    no tenant or request over its share runs two or more sequences (then,
//    as for everyone else, admission waits: no admit-then-preempt thrash
//    among one-sequence holders); any other sequence only when nothing was
//    preempted in 1. and nothing is starved (so a tenant or request at or
//    above its share does not grow, not even by resuming, while others wait).
// 4. Fair preemption: an under sequence that does not fit (KV blocks or a
//    max_num_seqs slot) preempts, one at a time until it fits, a victim
//    admitted at least kResumeGraceSteps steps ago (no thrash: a resumed
//    sequence always makes progress first). If its TENANT is under: from the
//    other tenant most over its share (live usage), never that tenant's
//    oldest, and only a victim whose loss leaves that tenant not under its
//    share (so it does not turn around and take from a third: no cascade):
//    its requests' extra sequences first (the biggest holder's newest),
//    then its requests' only sequences, newest first. Else (or
//    when there is none), if its REQUEST is under: within its own tenant,
//    the newest sequence of the request holding the most blocks, provided
//    that request is over its share and keeps its oldest. The newcomer may
//    take at a level only while its tenant (request) has no running sequence
//    or while the admission keeps it within its share there, so two tenants
//    (requests) never take blocks back and forth.
// Progress: a tenant's (request's) oldest running sequence is never a victim
// of 4. and is preempted by 1. only when every tenant (every request of the
// tenant) runs one sequence, so a tenant that runs keeps running (the hog
// too finishes sample after sample); one with nothing running holds 0
// blocks, is under its share and, at equal priority, first in line. A
// sequence that cannot fit even with every other sequence preempted lands in
// out.failed (the engine ends it), so no deadlock. Priority orders admission
// only: a higher-priority tenant's queue is admitted first, and can keep a
// lower one waiting as long as it has eligible sequences.
// Bound (requests): a new request arriving while one other request with
// several running sequences holds the pool, whose prompt fits in its share
// (and the hog's oldest sequence within the hog's), and in the token budget
// left by rule 2 (half of max_num_batched_tokens, less the hog's oldest
// sequence's tokens: 1 when it decodes), is admitted and samples its first
// token in the first step it is queued for, or within kResumeGraceSteps + 1
// steps when the hog's sequences were all (re)admitted within the last
// kResumeGraceSteps steps (a capped hog admits nothing meanwhile, so that
// window only closes).
// Bound (tenants): a new tenant's request, of a priority at least that of
// the other tenants' waiting sequences, arriving while other tenants hold
// the pool and the batch (e.g. one tenant's 1,000 one-sequence requests,
// running and queued), whose prompt fits in its tenant's share and in the
// token budget left by rule 2 (half of max_num_batched_tokens, less what the
// unrestricted running sequences compute: 1 token each when they decode),
// comes first in admission (usage 0), takes from the tenants over their
// shares, and samples its first token in the first step it is queued for,
// or within kResumeGraceSteps + 1 steps when those tenants' non-oldest
// sequences were all (re)admitted within the last kResumeGraceSteps steps
// (they admit nothing meanwhile: no overtaking). Through the engine, add
// the step in flight at submission: at most kResumeGraceSteps + 1 steps more
// than on an idle engine (TenantSchedulerTest and EngineTenantTest
// .FloodingTenantDoesNotStarveAnother; measured: 1 step, as when idle).
// Cost: with >= 2 requests or tenants, one pass over the running sequences'
// block tables per step (blocks in use), plus a sort of the running set:
// about 0.1 ms a step for 256 sequences over 52k blocks in use (3.5 us for
// one); spread over 2 or 16 tenants, about 0.12 ms (the tenant keys in the
// sort; TenantSchedulerTest.PerStepCostPrintout prints all three). With
// >= 2 tenants each admission also scans the waiting queue until it has
// seen every waiting tenant's first eligible sequence (FIFO stops at the
// first), as the admission's own removal from the queue already does.
//
// Thread: owned by the engine thread. Sequences are owned by the caller and
// must outlive their time in the scheduler (until finish()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <vector>

#include "yun/compute/forward_batch.h"
#include "yun/engine/block_manager.h"
#include "yun/engine/fair_share.h"
#include "yun/engine/sequence.h"

namespace yun {

struct SchedulerConfig {
  int32_t max_num_seqs = 256;
  int32_t max_num_batched_tokens = 2048;
};

// Chooses the next waiting sequence to try to admit: returns an index i into
// `waiting` (the queue in order: preempted sequences and forks at the front)
// with eligible(*waiting[i]), or waiting.size() for none. The scheduler
// applies the fairness rules through `eligible`; the policy only orders.
using AdmissionPolicy = std::function<size_t(const std::deque<Sequence*>& waiting,
                                             const std::function<bool(const Sequence&)>& eligible)>;
// The first eligible sequence in queue order.
size_t fifo_admission(const std::deque<Sequence*>& waiting,
                      const std::function<bool(const Sequence&)>& eligible);
// The default (rule 3): fifo_admission with one tenant; with >= 2, per tenant
// FIFO, tenants by priority, then least usage, then queue order.
size_t weighted_fair_admission(const FairShare& fair, const std::deque<Sequence*>& waiting,
                               const std::function<bool(const Sequence&)>& eligible);

struct ScheduledSeq {
  Sequence* seq = nullptr;
  int32_t num_tokens = 0;  // tokens computed this step
  bool sample = false;     // this step reaches the end of the sequence: sample
  // This step reaches the end of a pooling sequence's prompt: its last row's
  // hidden state is wanted (ForwardBatch::hidden_rows), nothing is sampled.
  bool pool = false;
  // Hybrid prefix cache: the state snapshots this step takes
  // (BlockManager::plan_captures; SeqSlice::captures).
  std::vector<StateCapture> captures;
};

struct SchedulerOutput {
  std::vector<ScheduledSeq> seqs;
  std::vector<Sequence*> preempted;  // this step, already back in waiting
  std::vector<Sequence*> failed;     // can never fit the KV pool; removed
  int32_t total_tokens = 0;
  bool empty() const { return seqs.empty(); }
};

class Scheduler {
 public:
  // A sequence admitted fewer steps ago than this is no victim of fair
  // preemption (rule 4).
  static constexpr int64_t kResumeGraceSteps = 4;

  Scheduler(const SchedulerConfig& config, BlockManager& blocks);
  Scheduler(const Scheduler&) = delete;  // the default policy refers to this
  Scheduler& operator=(const Scheduler&) = delete;

  // Replaces the admission order (weighted_fair_admission by default).
  // REQUIRES: policy non-null.
  void set_admission_policy(AdmissionPolicy policy) { policy_ = std::move(policy); }

  // Queues a new sequence at the back of the waiting queue (a fork with
  // shared blocks at the front). REQUIRES: status kWaiting; seq->meta valid
  // (RequestMeta::validate: a finite weight > 0).
  void add(Sequence* seq);
  void add_front(Sequence* seq);

  SchedulerOutput schedule();
  // The ForwardBatch for `out`: rows in out.seqs order; logit_rows = the
  // last row of each sequence with sample == true, in that order;
  // hidden_rows = the last row of each with pool == true, in that order.
  ForwardBatch build_batch(const SchedulerOutput& out) const;
  // After the forward pass: advances num_computed, commits full blocks to the
  // prefix cache, and appends sampled[i] to the i-th sampling sequence.
  // REQUIRES: sampled.size() == number of seqs with sample == true; the
  // caller finish()es every pool == true sequence before the next schedule().
  void update(const SchedulerOutput& out, std::span<const int32_t> sampled);

  // Removes seq from the queues, frees its blocks, marks it kFinished.
  void finish(Sequence* seq);

  bool has_work() const { return !running_.empty() || !waiting_.empty(); }
  int32_t num_running() const { return static_cast<int32_t>(running_.size()); }
  int32_t num_waiting() const { return static_cast<int32_t>(waiting_.size()); }
  const std::vector<Sequence*>& running() const { return running_; }
  const std::deque<Sequence*>& waiting() const { return waiting_; }

  int64_t num_preemptions() const { return num_preemptions_; }
  // Preemptions made for rule 4 (included in num_preemptions()).
  int64_t num_fair_preemptions() const { return num_fair_preemptions_; }
  // Those of them taken from another tenant (rule 4's tenant level).
  int64_t num_tenant_preemptions() const { return num_tenant_preemptions_; }
  int64_t prefix_queries() const { return prefix_queries_; }  // tokens looked up
  int64_t prefix_hits() const { return prefix_hits_; }        // tokens found
  // The shares and holdings of the last schedule() (as it left them).
  const FairShare& fair_share() const { return fair_; }

 private:
  struct Take {  // the levels at which rule 4 may take for a newcomer
    bool tenant = false, request = false;
    bool any() const { return tenant || request; }
  };
  void preempt(Sequence* seq, SchedulerOutput& out);
  void admit_waiting(SchedulerOutput& out, int32_t& budget, bool pressed);
  // Rule 4: preempts one victim for `seq`; false when there is none.
  bool preempt_for(const Sequence& seq, Take take, SchedulerOutput& out, int32_t& budget);
  Sequence* tenant_victim(const Sequence& seq) const;
  Sequence* request_victim(const Sequence& seq) const;
  // Computes fair_'s step view and starved_, sorts running_ (rule 1).
  void compute_shares();
  bool protected_before(const Sequence* a, const Sequence* b) const;  // rule 1
  void erase_waiting(Sequence* seq);
  // The batch entry for `num_new` tokens of `s`: sample or pool when they
  // reach its last token.
  static ScheduledSeq batch_entry(Sequence* s, int32_t num_new);

  SchedulerConfig config_;
  BlockManager& blocks_;
  AdmissionPolicy policy_;  // weighted_fair_admission over fair_
  std::vector<Sequence*> running_;  // protection order (rule 1); admissions append
  std::deque<Sequence*> waiting_;
  uint64_t next_arrival_ = 0;
  int64_t step_ = 0;
  FairShare fair_;  // membership, shares and this step's holdings
  bool starved_ = false;
  int64_t num_preemptions_ = 0, num_fair_preemptions_ = 0, num_tenant_preemptions_ = 0;
  int64_t prefix_queries_ = 0, prefix_hits_ = 0;
};

}  // namespace yun
