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
// Policy: running sequences first, oldest first (decodes and unfinished
// prefill chunks); when the KV pool runs out, the NEWEST running sequence is
// preempted (its blocks freed, back to the front of the waiting queue, to be
// recomputed). Then, if nothing was preempted this step, waiting sequences are
// admitted in FIFO order (prefix-cache match first, then a prefill chunk of at
// most the remaining budget). A sequence that cannot fit even with every other
// sequence preempted lands in out.failed (the engine ends it); so no deadlock.
//
// Thread: owned by the engine thread. Sequences are owned by the caller and
// must outlive their time in the scheduler (until finish()).
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "yun/compute/forward_batch.h"
#include "yun/engine/block_manager.h"
#include "yun/engine/sequence.h"

namespace yun {

struct SchedulerConfig {
  int32_t max_num_seqs = 256;
  int32_t max_num_batched_tokens = 2048;
};

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
  Scheduler(const SchedulerConfig& config, BlockManager& blocks);

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
  int64_t prefix_queries() const { return prefix_queries_; }  // tokens looked up
  int64_t prefix_hits() const { return prefix_hits_; }        // tokens found

 private:
  void preempt(Sequence* seq, SchedulerOutput& out);
  void admit_waiting(SchedulerOutput& out, int32_t& budget);

  SchedulerConfig config_;
  BlockManager& blocks_;
  std::vector<Sequence*> running_;  // admission order: back is newest
  std::deque<Sequence*> waiting_;
  uint64_t next_arrival_ = 0;
  int64_t num_preemptions_ = 0, prefix_queries_ = 0, prefix_hits_ = 0;
};

}  // namespace yun
