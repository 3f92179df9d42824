// BlockManager: per-sequence KV block bookkeeping on top of a BlockPool:
// prefix-cache matching at admission, growing a sequence's block table for the
// tokens about to be computed, committing full blocks to the prefix cache,
// sharing a parent's full prompt blocks with a fork (n > 1), and freeing.
//
// Thread: owned by the engine thread.
#pragma once

#include <cstdint>

#include "yun/engine/block_pool.h"
#include "yun/engine/sequence.h"
#include "yun/engine/state_slots.h"

namespace yun {

class BlockManager {
 public:
  // `slots`: the recurrent-state slots of a hybrid model (null or disabled:
  // none). With slots, a sequence takes one with its first blocks and gives
  // it back in free().
  explicit BlockManager(BlockPool& pool, StateSlots* slots = nullptr)
      : pool_(pool), slots_(slots && slots->enabled() ? slots : nullptr) {}

  BlockPool& pool() { return pool_; }
  int32_t block_size() const { return pool_.block_size(); }
  // Blocks needed to hold `num_tokens` tokens.
  int32_t blocks_for(int32_t num_tokens) const {
    return (num_tokens + block_size() - 1) / block_size();
  }

  // Takes the longest chain of cached full blocks matching seq's tokens, but
  // never all tokens (the last token is always recomputed to get logits).
  // Sets block_table and num_computed; returns the tokens matched.
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

  // Gives `child` (no blocks, same prompt) the parent's full computed prompt
  // blocks, but never the block holding the last prompt token (the child
  // recomputes from there to get its own logits). Returns the shared tokens.
  // With state slots, shares nothing (0): the state after the shared blocks
  // is not kept, so the child recomputes its prompt from a zero state.
  int32_t share_prompt_blocks(const Sequence& parent, Sequence& child);

  // Releases all of seq's blocks (tail first, so the tail is evicted first)
  // and its state slot; num_computed becomes 0.
  void free(Sequence& seq);

 private:
  BlockPool& pool_;
  StateSlots* slots_;  // null: the model keeps no recurrent state
};

}  // namespace yun
