// StateSlots: which of the runner's recurrent-state slots
// (ModelRunner::allocate_state_slots) are free. Hybrid models (Qwen3.5)
// keep a conv + delta-rule state per running sequence beside the paged KV;
// the BlockManager takes a slot for a sequence together with its first KV
// blocks and gives it back whenever the sequence loses its blocks
// (preemption, finish, failed admission). The runner resets a slot when a
// sequence computes from position 0, so a preempted sequence that is
// recomputed starts from a zero state (or, with the prefix cache, from a
// state snapshot: engine/state_snapshots.h). Models without recurrent layers use a
// table of 0 slots: nothing is ever taken.
//
// Thread: owned by the engine thread.
#pragma once

#include <cstdint>
#include <vector>

namespace yun {

class StateSlots {
 public:
  // num_slots: the engine's max_num_seqs for a model with state, else 0.
  explicit StateSlots(int32_t num_slots = 0);

  bool enabled() const { return num_slots_ > 0; }
  int32_t num_slots() const { return num_slots_; }
  int32_t num_free() const { return int32_t(free_.size()); }

  // A free slot, or -1 when none is left.
  int32_t acquire();
  // Returns `slot` (taken by acquire) to the free list.
  void release(int32_t slot);

 private:
  int32_t num_slots_ = 0;
  std::vector<int32_t> free_;  // a stack; lowest ids on top
};

}  // namespace yun
