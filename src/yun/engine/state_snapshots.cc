#include "yun/engine/state_snapshots.h"

#include <algorithm>
#include <cassert>

namespace yun {

StateSnapshots::StateSnapshots(int32_t first_slot, int32_t num, int32_t interval)
    : first_slot_(first_slot), interval_(std::max(1, interval)), slots_(size_t(std::max(0, num))) {
  for (int32_t i = int32_t(slots_.size()); i-- > 0;) free_.push_back(i);
}

std::optional<int32_t> StateSnapshots::find(uint64_t h) const {
  auto it = by_hash_.find(h);
  if (it == by_hash_.end()) return std::nullopt;
  return first_slot_ + it->second;
}

void StateSnapshots::touch(int32_t slot) {
  Entry& e = at(slot);
  if (e.state != State::kCommitted) return;
  lru_.splice(lru_.end(), lru_, e.lru_it);
}

void StateSnapshots::release(int32_t index) {
  Entry& e = slots_[size_t(index)];
  if (e.state == State::kCommitted) {
    by_hash_.erase(e.hash);
    lru_.erase(e.lru_it);
  }
  e.state = State::kFree;
  e.pins = 0;
  free_.push_back(index);
}

int32_t StateSnapshots::reserve(uint64_t h) {
  if (free_.empty()) {
    auto victim = std::find_if(lru_.begin(), lru_.end(),
                               [&](int32_t i) { return slots_[size_t(i)].pins == 0; });
    if (victim == lru_.end()) return -1;
    release(*victim);
    ++evicted_;
  }
  const int32_t index = free_.back();
  free_.pop_back();
  Entry& e = slots_[size_t(index)];
  e.state = State::kPending;
  e.hash = h;
  pending_.push_back(index);
  return first_slot_ + index;
}

void StateSnapshots::commit(int32_t slot) {
  const int32_t index = slot - first_slot_;
  Entry& e = slots_[size_t(index)];
  if (e.state != State::kPending) return;
  pending_.erase(std::find(pending_.begin(), pending_.end(), index));
  if (by_hash_.count(e.hash)) {  // captured twice in one step
    e.state = State::kFree;
    free_.push_back(index);
    return;
  }
  e.state = State::kCommitted;
  by_hash_[e.hash] = index;
  lru_.push_back(index);
  e.lru_it = std::prev(lru_.end());
  ++taken_;
}

void StateSnapshots::begin_step() {
  for (int32_t index : pending_) {
    slots_[size_t(index)].state = State::kFree;
    free_.push_back(index);
  }
  pending_.clear();
}

void StateSnapshots::drop(uint64_t h) {
  auto it = by_hash_.find(h);
  if (it == by_hash_.end()) return;
  // A pinned snapshot's chain is held by its sequence, so its block is never
  // evicted; keep the rule local all the same.
  if (slots_[size_t(it->second)].pins > 0) return;
  release(it->second);
}

void StateSnapshots::pin(int32_t slot) {
  Entry& e = at(slot);
  assert(e.state == State::kCommitted);
  ++e.pins;
  ++restored_;
  touch(slot);
}

void StateSnapshots::unpin(int32_t slot) {
  Entry& e = at(slot);
  assert(e.pins > 0);
  if (e.pins > 0) --e.pins;
}

bool StateSnapshots::check_invariants() const {
  size_t free = 0, pending = 0, committed = 0;
  for (const Entry& e : slots_) {
    free += e.state == State::kFree;
    pending += e.state == State::kPending;
    committed += e.state == State::kCommitted;
    if (e.state != State::kCommitted && e.pins != 0) return false;
  }
  if (free != free_.size() || pending != pending_.size() || committed != lru_.size() ||
      committed != by_hash_.size())
    return false;
  for (auto& [h, i] : by_hash_)
    if (slots_[size_t(i)].state != State::kCommitted || slots_[size_t(i)].hash != h) return false;
  return true;
}

}  // namespace yun
