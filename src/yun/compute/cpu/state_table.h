// CpuStateTable: the per-sequence recurrent state of a hybrid model on the
// CPU: for each state slot and each linear-attention layer, the conv state
// ([K-1, C] floats) and the delta-rule state ([Hv, Dk, Dv] floats), float32,
// plus the number of tokens the slot has consumed (its position).
//
// A slot's memory is allocated the first time it is used, so a table sized
// for max_num_seqs costs only what the concurrency reached. A slot at
// position 0 reads as all zeros (the start of a sequence).
//
// Thread: owned by the runner (the engine thread); the per-layer pointers may
// be used from pool workers, each slot by one worker at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "yun/base/status.h"

namespace yun {

class CpuStateTable {
 public:
  // Slots of `layers` layers of conv_floats + rec_floats each. Drops all state.
  void configure(int32_t num_slots, int64_t layers, int64_t conv_floats, int64_t rec_floats);

  int32_t num_slots() const { return int32_t(slots_.size()); }
  size_t bytes_per_slot() const { return size_t(layers_ * (conv_ + rec_)) * sizeof(float); }

  // Tokens slot `s` has consumed (0 after reset).
  int64_t position(int32_t s) const { return slots_[size_t(s)].position; }
  void set_position(int32_t s, int64_t p) { slots_[size_t(s)].position = p; }

  // Zeroes slot s (position 0), allocating it if needed.
  Status reset(int32_t s);
  // Makes dst a copy of src (state and position).
  Status copy(int32_t src, int32_t dst);
  // Allocates slot s if needed (contents unspecified until written), so the
  // per-layer pointers below are valid. Errors: out of range, out of memory.
  Status ensure(int32_t s);

  // Layer `layer`'s conv / recurrent state of slot s. REQUIRES: reset or
  // copied at least once (allocated).
  float* conv(int32_t s, int64_t layer) {
    return slots_[size_t(s)].data.data() + layer * (conv_ + rec_);
  }
  float* recurrent(int32_t s, int64_t layer) { return conv(s, layer) + conv_; }

 private:
  struct Slot {
    std::vector<float> data;  // empty until first use
    int64_t position = 0;
  };
  std::vector<Slot> slots_;
  int64_t layers_ = 0, conv_ = 0, rec_ = 0;
};

}  // namespace yun
