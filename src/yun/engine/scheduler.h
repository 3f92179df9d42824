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
// Policy (a stated rule, per request: sequences carry Sequence::request_id;
// the engine's RequestState is opaque here; no tenants yet).
//
// Terms, computed at the start of every step and adjusted as sequences are
// admitted or preempted during it:
//   R        = requests with a sequence in the scheduler (running or waiting);
//   share    = num_blocks / |R| KV blocks and max_num_seqs / |R| running
//              sequences: a request's fair share of the pool and the batch;
//   held(r)  = KV blocks r's running sequences hold, a block shared by k
//              sequences counting 1/k to each (so forks sharing a prompt pay
//              for it once);
//   under(r) = |R| >= 2, held(r) below the block share and r's running
//              sequences below the sequence share; over(r) = |R| >= 2 and
//              either one above its share; starved = some waiting sequence's
//              request is under its share.
// With one request in the scheduler every rule below reduces to the plain
// policy (FIFO admission, newest-running preemption).
//
// 1. Running sequences are visited in protection order: first the OLDEST
//    running sequence of every request (by admission), then the rest, the
//    requests holding fewer blocks first, each request's newest last. When
//    the pool runs out for a running sequence, the LAST one in that order is
//    preempted (its blocks freed, back to the front of the waiting queue, to
//    be recomputed). So a request's extra sequences go before any request's
//    only one, the biggest holder's newest first; a request with one running
//    sequence is preempted only when every request runs just one.
// 2. While starved, the extra (non-oldest) sequences of requests over their
//    share may use only half of max_num_batched_tokens: the other half is
//    left for the starved newcomers' prefill.
// 3. Admission: the AdmissionPolicy (FIFO by default) picks the next
//    eligible waiting sequence; if it does not fit, admission stops for the
//    step (no overtaking). Eligible: a sequence preempted this step never is;
//    one of an under-share request is, unless something was preempted in 1.
//    while no request over its share runs two or more sequences (then, as
//    for everyone else, admission waits: no admit-then-preempt thrash among
//    one-sequence requests); any other sequence only when nothing was
//    preempted in 1. and nothing is starved (so a request at or above its
//    share does not grow, not even by resuming, while others wait).
// 4. Fair preemption: an under-share sequence that does not fit (KV blocks or
//    a max_num_seqs slot) preempts, one at a time until it fits, the newest
//    sequence of the request holding the most blocks, provided that request
//    is over its share, keeps its oldest sequence running, and the victim was
//    admitted at least kResumeGraceSteps steps ago (no thrash: a resumed
//    sequence always makes progress first). The newcomer may do so only while
//    it has no running sequence or while the admission keeps it within its
//    share, so two requests never take blocks back and forth.
// Progress: a request's oldest running sequence is never a victim of 4. and
// is preempted by 1. only when every request runs one sequence, so a request
// that runs keeps running (the hog too finishes sample after sample); one
// with nothing running holds 0 blocks, is under its share and is first in
// line. A sequence that cannot fit even with every other sequence preempted
// lands in out.failed (the engine ends it), so no deadlock.
// Bound: a new request arriving while one other request with several
// running sequences holds the pool, whose prompt fits in its share (and the
// hog's oldest sequence within the hog's), and in the token budget left by
// rule 2 (half of max_num_batched_tokens, less the hog's oldest sequence's
// tokens: 1 when it decodes), is admitted and samples its first token in the
// first step it is queued for, or within kResumeGraceSteps + 1 steps when the
// hog's sequences were all (re)admitted within the last kResumeGraceSteps
// steps (a capped hog admits nothing meanwhile, so that window only closes).
// Cost: with >= 2 requests, one pass over the running sequences' block
// tables per step (blocks in use), plus a sort of the running set: about
// 0.1 ms a step for 256 sequences over 52k blocks in use (3.5 us for one).
//
// Thread: owned by the engine thread. Sequences are owned by the caller and
// must outlive their time in the scheduler (until finish()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <unordered_map>
#include <vector>

#include "yun/compute/forward_batch.h"
#include "yun/engine/block_manager.h"
#include "yun/engine/sequence.h"

namespace yun {

struct SchedulerConfig {
  int32_t max_num_seqs = 256;
  int32_t max_num_batched_tokens = 2048;
};

// Chooses the next waiting sequence to try to admit: returns an index i into
// `waiting` (the queue in order: preempted sequences and forks at the front)
// with eligible(*waiting[i]), or waiting.size() for none. The scheduler
// applies the fairness rules through `eligible`; the policy only orders. A
// weighted-fair-per-tenant policy can replace the FIFO default.
using AdmissionPolicy = std::function<size_t(const std::deque<Sequence*>& waiting,
                                             const std::function<bool(const Sequence&)>& eligible)>;
// The default: the first eligible sequence in queue order.
size_t fifo_admission(const std::deque<Sequence*>& waiting,
                      const std::function<bool(const Sequence&)>& eligible);

struct ScheduledSeq {
  Sequence* seq = nullptr;
  int32_t num_tokens = 0;  // tokens computed this step
  bool sample = false;     // this step reaches the end of the sequence: sample
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

  // Replaces the admission order (FIFO by default). REQUIRES: policy non-null.
  void set_admission_policy(AdmissionPolicy policy) { policy_ = std::move(policy); }

  // Queues a new sequence at the back of the waiting queue (a fork with
  // shared blocks at the front). REQUIRES: status kWaiting.
  void add(Sequence* seq);
  void add_front(Sequence* seq);

  SchedulerOutput schedule();
  // The ForwardBatch for `out`: rows in out.seqs order; logit_rows = the
  // last row of each sequence with sample == true, in that order.
  ForwardBatch build_batch(const SchedulerOutput& out) const;
  // After the forward pass: advances num_computed, commits full blocks to the
  // prefix cache, and appends sampled[i] to the i-th sampling sequence.
  // REQUIRES: sampled.size() == number of seqs with sample == true.
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
  int64_t prefix_queries() const { return prefix_queries_; }  // tokens looked up
  int64_t prefix_hits() const { return prefix_hits_; }        // tokens found

 private:
  struct Share {
    double blocks = 0;    // held(r)
    int32_t running = 0;  // running sequences
    uint64_t oldest = 0;  // arrival of the oldest running one
  };
  void preempt(Sequence* seq, SchedulerOutput& out);
  void admit_waiting(SchedulerOutput& out, int32_t& budget, bool pressed);
  // Rule 4: preempts one victim for `seq`; false when there is none.
  bool preempt_for(const Sequence& seq, SchedulerOutput& out, int32_t& budget);
  // Computes shares_, fair_share_, starved_ and sorts running_ (rule 1).
  void compute_shares();
  double charge(const Sequence& seq) const;  // seq's part of held()
  double held(uint64_t request_id) const;
  int32_t num_running_of(uint64_t request_id) const;
  bool under_share(uint64_t request_id) const {
    return fair_ && held(request_id) < fair_share_ && num_running_of(request_id) < slot_share_;
  }
  bool over_share(uint64_t request_id) const {
    return fair_ && (held(request_id) > fair_share_ || num_running_of(request_id) > slot_share_);
  }
  bool is_oldest(const Sequence& seq) const;
  void count_in(const Sequence& seq) { ++num_seqs_[seq.request_id]; }
  void count_out(const Sequence& seq);

  SchedulerConfig config_;
  BlockManager& blocks_;
  AdmissionPolicy policy_ = fifo_admission;
  std::vector<Sequence*> running_;  // protection order (rule 1); admissions append
  std::deque<Sequence*> waiting_;
  uint64_t next_arrival_ = 0;
  int64_t step_ = 0;
  // Sequences in the scheduler (running or waiting) per request.
  std::unordered_map<uint64_t, int32_t> num_seqs_;
  // This step's view (rules 1-4).
  std::unordered_map<uint64_t, Share> shares_;
  bool fair_ = false;  // >= 2 requests
  double fair_share_ = 0, slot_share_ = 0;
  bool starved_ = false;
  bool hog_ = false;  // some request over its share runs >= 2 sequences
  int64_t num_preemptions_ = 0, num_fair_preemptions_ = 0;
  int64_t prefix_queries_ = 0, prefix_hits_ = 0;
};

}  // namespace yun
