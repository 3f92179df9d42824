// Speculative decoding with the model's own MTP head (Qwen3.5 `mtp.*`),
// greedy only, one drafted token per step (k = 1).
//
// Per engine step, around runner.forward (engine.cc calls the four hooks):
//   add_drafts:   every eligible decode sequence (below) that has a draft d
//                 for its next position gets a second row [t0, d] in the
//                 batch (and a copy of its RowSampling), plus a spare state
//                 slot as a SeqSlice capture (rows 1), which receives the
//                 recurrent/conv state after t0.
//   take_results: splits the verify row's result off results; the draft is
//                 accepted when the main model's token after t0 equals d
//                 (then the verify row's token is one more output token);
//                 else the state is rolled back from the snapshot
//                 (copy_state_slot). The KV at the rejected position needs no
//                 rollback: nothing reads past context_len, and the next step
//                 overwrites it.
//   extra_token:  after the engine appended t1 (sched update + on_token), the
//                 accepted verify token, once: the engine advances num_computed
//                 over d and emits it, unless the sequence finished on t1 (EOS,
//                 stop string, max_tokens mid-draft: the draft is dropped).
//   draft:        runs the MTP head over the rows each running sequence
//                 computed this step (prefill chunks too, so its KV layer is
//                 filled): row at position p reads token p+1 and the main
//                 model's final normed hidden state at p; the argmax at the
//                 sequence's last computed position is the next draft.
// Greedy output is identical with and without speculation: a token is kept
// only when it is the main model's own argmax, computed from the same state.
// (Floating point: the verify row runs in a 2-row batch; the CPU kernels'
// per-row arithmetic is independent of the batch, as the engine's
// alone == batched invariant already requires.)
//
// Eligible: a decode step (1 token, sampling) of a request whose row is plain
// greedy: temperature 0, no penalties, no logit bias, no banned ids or token
// mask this step (min_tokens, bad words, grammar, allowed_token_ids); logprobs
// are fine. Sampled rows run as without speculation (the rejection-sampling
// rule is not implemented).
// Off by acceptance (SpeculativeConfig::min_acceptance): a sequence whose
// first probe_drafts drafts were accepted less often than min_acceptance
// stops drafting for the rest of its life (no MTP pass, no verify row): on
// the CPU a draft (the MTP layer and the whole lm_head) plus the 2-row
// verify cost ~1.5 decode steps of Qwen3.5-0.8B (README), so below ~50%
// acceptance speculation is a loss. A preempted sequence starts a new tally.
// Off by batch size (vLLM's disable_by_batch_size): speculation (drafts and
// the MTP pass) runs only in steps that schedule fewer than
// disable_by_batch_size sequences. Default 3: a CPU verify step reads the
// weights once while the step has at most 4 rows (the matmul's memory-bound
// small-M path, compute/cpu/matmul_simd.inc), i.e. up to 2 sequences with a
// draft each; beyond, the extra rows cost compute that a low acceptance rate
// does not pay back. Positions computed while it is off have no MTP KV
// (later drafts from such a sequence are worse, never wrong).
//
// Thread: owned by the engine thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "yun/base/status.h"
#include "yun/compute/model_runner.h"
#include "yun/engine/block_manager.h"
#include "yun/engine/scheduler.h"
#include "yun/engine/sequence.h"
#include "yun/engine/speculative_config.h"

namespace yun {

// Acceptance counters (EngineStats-like; engine thread only).
struct SpeculativeStats {
  int64_t drafts = 0;    // draft tokens verified
  int64_t accepted = 0;  // of those, accepted
};

class Speculator {
 public:
  // first_spare_slot: the first state slot past the engine's own (the runner
  // has config.spare_slots() more). REQUIRES: runner.supports_mtp().
  Speculator(const SpeculativeConfig& config, ModelRunner& runner, BlockManager& blocks,
             int32_t max_model_len, int32_t first_spare_slot);

  // Whether this step speculates (the batch-size rule).
  bool active(const SchedulerOutput& out) const {
    return int32_t(out.seqs.size()) < config_.disable_by_batch_size;
  }
  // Before forward. `rows` are the step's RowSamplings, one per logit row.
  void add_drafts(const SchedulerOutput& out, ForwardBatch& batch, std::vector<RowSampling>& rows);
  // After a successful forward: removes the verify rows' results from
  // `results` (so they match the batch without drafts again) and rolls back
  // rejected sequences' state.
  // Also removes the verify rows from `rows`. Errors: a state rollback
  // failed (the engine ends the step's requests).
  Status take_results(std::vector<RowSampling>& rows, std::vector<SampleResult>& results);
  // The accepted verify token of `seq` this step, if any (once).
  std::optional<SampleResult> extra_token(const Sequence* seq);
  // After the step's tokens were appended: next drafts for the running
  // sequences of `out`. Errors: the runner's; the engine then just runs
  // without drafts for the step (greedy output is unaffected).
  Status draft(const SchedulerOutput& out);

  const SpeculativeStats& stats() const { return stats_; }

 private:
  struct Verify {
    const Sequence* seq = nullptr;
    size_t result_index = 0;  // of the verify row in the step's results
    int32_t draft = 0;
    int32_t snapshot = -1;
    int32_t state_slot = -1;
  };
  struct Draft {
    int32_t position = 0;  // the position the token is a guess for
    int32_t token = 0;
  };
  struct Tally {
    uint64_t request_id = 0;  // whose (a finished sequence's address may be reused)
    int32_t index = 0;
    int32_t drafts = 0, accepted = 0;
  };
  // The min_acceptance rule: this sequence drafts no more.
  bool gave_up(const Tally& t) const {
    return t.drafts >= config_.probe_drafts &&
           double(t.accepted) < config_.min_acceptance * double(t.drafts);
  }

  SpeculativeConfig config_;
  ModelRunner& runner_;
  BlockManager& blocks_;
  int32_t max_model_len_;
  int32_t first_spare_slot_;
  bool step_active_ = false;
  // Per main-batch sequence of this step: its first row and row count in the
  // main batch, and the first position (for the MTP pass).
  std::vector<int32_t> slice_start_, slice_rows_;
  std::vector<Verify> verify_;
  std::unordered_map<const Sequence*, SampleResult> extra_;
  std::unordered_map<const Sequence*, Draft> drafts_;  // rebuilt every step
  std::unordered_map<const Sequence*, bool> accepted_;
  std::unordered_map<const Sequence*, Tally> tally_;  // drafts of running sequences
  SpeculativeStats stats_;
  std::vector<float> logits_;
};

}  // namespace yun
