// BlockManager: per-sequence KV block bookkeeping on top of a BlockPool:
// prefix-cache matching at admission, growing a sequence's block table for the
// tokens about to be computed, committing full blocks to the prefix cache,
// sharing a parent's full prompt blocks with a fork (n > 1), and freeing.
//
// Thread: owned by the engine thread.
#pragma once

#include <cstdint>
#include <vector>

#include "yun/compute/forward_batch.h"
#include "yun/engine/block_pool.h"
#include "yun/engine/sequence.h"
#include "yun/engine/state_slots.h"
#include "yun/engine/state_snapshots.h"

namespace yun {

class BlockManager {
 public:
  // `slots`: the recurrent-state slots of a hybrid model (null or disabled:
  // none). With slots, a sequence takes one with its first blocks and gives
  // it back in free(). `snapshots` (hybrids with the prefix cache; null or
  // disabled: none): the state snapshots that make prefix hits possible
  // there (engine/state_snapshots.h); the pool's evictions drop them.
  explicit BlockManager(BlockPool& pool, StateSlots* slots = nullptr,
                        StateSnapshots* snapshots = nullptr);

  BlockPool& pool() { return pool_; }
  int32_t block_size() const { return pool_.block_size(); }
  // Blocks needed to hold `num_tokens` tokens.
  int32_t blocks_for(int32_t num_tokens) const {
    return (num_tokens + block_size() - 1) / block_size();
  }

  // Takes the longest chain of cached full blocks matching seq's tokens, but
  // never all tokens (the last token is always recomputed to get logits).
  // Sets block_table and num_computed; returns the tokens matched.
  // With state slots the chain ends at its deepest block that has a state
  // snapshot (none: no hit), and seq.restore_slot is that snapshot (pinned).
  // REQUIRES: seq holds no blocks.
  int32_t match_prefix(Sequence& seq);

  // Grows seq's block table to cover num_computed + num_new tokens (and
  // takes a state slot if seq needs one). Returns false (changing nothing)
  // when the pool has too few free blocks (or no slot is free).
  bool allocate_slots(Sequence& seq, int32_t num_new);
  // Free blocks allocate_slots(seq, num_new) would need.
  int32_t blocks_needed(const Sequence& seq, int32_t num_new) const;

  // Commits seq's newly full computed blocks to the prefix cache.
  void commit_full_blocks(Sequence& seq);

  // Hybrid prefix cache: the snapshots to take while seq computes its next
  // num_new tokens (at every interval-th block boundary and the prompt's
  // last full-block boundary that have none yet), reserved; appended to
  // `out`. Nothing without snapshots.
  void plan_captures(Sequence& seq, int32_t num_new, std::vector<StateCapture>& out);
  // After the forward pass that took them (and commit_full_blocks): the
  // captures become findable; seq's restore_slot is consumed (unpinned).
  void commit_captures(Sequence& seq, const std::vector<StateCapture>& captures);
  // Frees snapshot slots reserved by a forward pass that never completed.
  void begin_step() {
    if (snaps_) snaps_->begin_step();
  }

  // Gives `child` (no blocks, same prompt) the parent's full computed prompt
  // blocks, but never the block holding the last prompt token (the child
  // recomputes from there to get its own logits). Returns the shared tokens.
  // With state slots, shares up to the deepest of those blocks that has a
  // state snapshot (the child restores it: child.restore_slot, pinned), or
  // nothing (the child recomputes its prompt from a zero state).
  int32_t share_prompt_blocks(const Sequence& parent, Sequence& child);

  // Releases all of seq's blocks (tail first, so the tail is evicted first),
  // its state slot and its pin on restore_slot; num_computed becomes 0.
  void free(Sequence& seq);

 private:
  BlockPool& pool_;
  StateSlots* slots_;  // null: the model keeps no recurrent state
  StateSnapshots* snaps_ = nullptr;  // null: no hybrid prefix hits
  // The hash of seq's block i (extending seq.block_hashes up to it).
  uint64_t block_hash(Sequence& seq, int32_t i) const;
};

}  // namespace yun
