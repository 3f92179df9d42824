#include "yun/compute/cpu/state_table.h"

#include <algorithm>
#include <new>
#include <string>

namespace yun {

void CpuStateTable::configure(int32_t num_slots, int64_t layers, int64_t conv_floats,
                              int64_t rec_floats) {
  slots_ = std::vector<Slot>(size_t(std::max(0, num_slots)));
  layers_ = layers;
  conv_ = conv_floats;
  rec_ = rec_floats;
}

Status CpuStateTable::ensure(int32_t s) {
  if (s < 0 || s >= num_slots())
    return invalid_argument("state slot " + std::to_string(s) + " out of range (" +
                            std::to_string(num_slots()) + " slots)");
  Slot& slot = slots_[size_t(s)];
  if (slot.data.empty()) {
    try {
      slot.data.resize(size_t(layers_ * (conv_ + rec_)));
    } catch (const std::bad_alloc&) {
      return resource_exhausted("out of memory for the recurrent state of slot " +
                                std::to_string(s));
    }
  }
  return Status::ok();
}

Status CpuStateTable::reset(int32_t s) {
  YUN_RETURN_IF_ERROR(ensure(s));
  Slot& slot = slots_[size_t(s)];
  std::fill(slot.data.begin(), slot.data.end(), 0.0f);
  slot.position = 0;
  return Status::ok();
}

Status CpuStateTable::copy(int32_t src, int32_t dst) {
  YUN_RETURN_IF_ERROR(ensure(src));
  YUN_RETURN_IF_ERROR(ensure(dst));
  if (src == dst) return Status::ok();
  slots_[size_t(dst)].data = slots_[size_t(src)].data;
  slots_[size_t(dst)].position = slots_[size_t(src)].position;
  return Status::ok();
}

}  // namespace yun
