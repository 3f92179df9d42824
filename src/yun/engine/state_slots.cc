#include "yun/engine/state_slots.h"

#include <algorithm>
#include <cassert>

namespace yun {

StateSlots::StateSlots(int32_t num_slots) : num_slots_(std::max(0, num_slots)) {
  free_.reserve(size_t(num_slots_));
  for (int32_t i = num_slots_; i-- > 0;) free_.push_back(i);
}

int32_t StateSlots::acquire() {
  if (free_.empty()) return -1;
  const int32_t s = free_.back();
  free_.pop_back();
  return s;
}

void StateSlots::release(int32_t slot) {
  assert(slot >= 0 && slot < num_slots_);
  assert(std::find(free_.begin(), free_.end(), slot) == free_.end());
  free_.push_back(slot);
}

}  // namespace yun
