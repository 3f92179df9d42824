// StateSnapshots: the prefix cache's recurrent-state snapshots for hybrid
// models (Qwen3.5). A prefix-cache hit on such a model needs, beside the KV
// of the matched blocks, the conv + delta-rule state (float32, every
// linear-attention layer) after exactly those tokens. The runner keeps each
// snapshot in one of its state slots (ModelRunner::allocate_state_slots:
// the engine asks for max_num_seqs slots for running sequences plus these);
// this table says which slot holds the state after which block.
//
// Keyed by the KV block hash chain (BlockPool::hash_block): the snapshot for
// hash h is the state after the tokens of the chain ending in h, and lives
// only while the prefix cache holds a block with hash h (drop() when the
// pool evicts it: evicted together). The BlockManager takes one, during the
// forward pass (SeqSlice::captures), at every `interval`-th block boundary
// and at the last full-block boundary of each prompt (what a fork, or the
// same prompt sent again, continues from).
//
// Life of a slot: free -> reserve(h) (pending: the forward pass writes it)
// -> commit() (findable by h) -> drop(h) / evicted for a newer reserve.
// Pending slots not committed by the next begin_step() (the forward pass
// failed) go back to free. A committed snapshot a sequence is about to
// restore is pinned (pin/unpin) and never evicted; otherwise a reserve with
// no free slot evicts the least recently used committed snapshot. Memory:
// the slots are planned in the KV budget (compute/kv_cache_plan.h).
//
// Thread: owned by the engine thread.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

namespace yun {

class StateSnapshots {
 public:
  // Snapshot slots first_slot .. first_slot + num - 1 of the runner, one
  // every `interval` blocks (>= 1). num 0: disabled.
  StateSnapshots(int32_t first_slot = 0, int32_t num = 0, int32_t interval = 1);

  bool enabled() const { return !slots_.empty(); }
  int32_t capacity() const { return int32_t(slots_.size()); }
  int32_t interval() const { return interval_; }
  int32_t num_committed() const { return int32_t(by_hash_.size()); }

  // The committed snapshot of hash h (its runner slot), or nullopt.
  std::optional<int32_t> find(uint64_t h) const;
  // Marks it most recently used.
  void touch(int32_t slot);
  // A slot to capture the state after hash h into: a free one, else the
  // least recently used committed one that is not pinned (dropped first);
  // -1 when every slot is pending or pinned.
  int32_t reserve(uint64_t h);
  // Makes the pending snapshot `slot` findable by its hash (a no-op, and the
  // slot freed, when another snapshot of that hash was committed meanwhile).
  void commit(int32_t slot);
  // Frees every pending slot (their forward pass never completed).
  void begin_step();
  // The block with hash h left the prefix cache: its snapshot goes too.
  void drop(uint64_t h);
  // A sequence will restore `slot` (a committed snapshot): never evicted
  // until unpinned.
  void pin(int32_t slot);
  void unpin(int32_t slot);

  int64_t num_taken() const { return taken_; }        // committed, ever
  int64_t num_evicted() const { return evicted_; }    // dropped for a newer reserve
  int64_t num_restored() const { return restored_; }  // pins, ever

  bool check_invariants() const;

 private:
  enum class State : uint8_t { kFree, kPending, kCommitted };
  struct Entry {
    State state = State::kFree;
    uint64_t hash = 0;
    int32_t pins = 0;
    std::list<int32_t>::iterator lru_it;  // valid while committed
  };
  Entry& at(int32_t slot) { return slots_[size_t(slot - first_slot_)]; }
  void release(int32_t index);  // to free (from committed: off the map and list)

  int32_t first_slot_ = 0, interval_ = 1;
  std::vector<Entry> slots_;
  std::vector<int32_t> free_;                      // indices into slots_
  std::vector<int32_t> pending_;                   // indices into slots_
  std::list<int32_t> lru_;                         // committed indices, front: least recently used
  std::unordered_map<uint64_t, int32_t> by_hash_;  // hash -> index
  int64_t taken_ = 0, evicted_ = 0, restored_ = 0;
};

}  // namespace yun
