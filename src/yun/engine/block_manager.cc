#include "yun/engine/block_manager.h"

#include <algorithm>
#include <cassert>
#include <span>

namespace yun {

BlockManager::BlockManager(BlockPool& pool, StateSlots* slots, StateSnapshots* snapshots)
    : pool_(pool), slots_(slots && slots->enabled() ? slots : nullptr) {
  if (slots_ && snapshots && snapshots->enabled() && pool_.prefix_cache_enabled()) {
    snaps_ = snapshots;
    pool_.set_evict_listener([s = snaps_](uint64_t h) { s->drop(h); });
  }
}

uint64_t BlockManager::block_hash(Sequence& seq, int32_t i) const {
  const int32_t bs = block_size();
  for (int32_t j = int32_t(seq.block_hashes.size()); j <= i; ++j) {
    const uint64_t parent =
        j == 0 ? BlockPool::root_hash(seq.meta.cache_salt) : seq.block_hashes[size_t(j - 1)];
    seq.block_hashes.push_back(
        BlockPool::hash_block(parent, std::span<const int32_t>(seq.tokens.data() + j * bs, bs)));
  }
  return seq.block_hashes[size_t(i)];
}

int32_t BlockManager::match_prefix(Sequence& seq) {
  assert(seq.block_table.empty());
  seq.num_computed = 0;
  if (!pool_.prefix_cache_enabled()) return 0;
  if (slots_ && !snaps_) return 0;  // a hit could not restore the recurrent state
  const int32_t bs = block_size();
  const int32_t max_blocks = (seq.num_tokens() - 1) / bs;
  uint64_t parent = BlockPool::root_hash(seq.meta.cache_salt);
  std::vector<int32_t> found;
  int32_t depth = 0, snapshot = -1;  // hybrids: the deepest block with a snapshot
  for (int32_t i = 0; i < max_blocks; ++i) {
    std::span<const int32_t> toks(seq.tokens.data() + i * bs, bs);
    uint64_t h = i < static_cast<int32_t>(seq.block_hashes.size())
                     ? seq.block_hashes[i]
                     : BlockPool::hash_block(parent, toks);
    auto block = pool_.lookup(h, parent, toks);
    if (!block) break;
    found.push_back(*block);
    if (i >= static_cast<int32_t>(seq.block_hashes.size())) seq.block_hashes.push_back(h);
    parent = h;
    if (snaps_) {
      if (auto s = snaps_->find(h)) {
        depth = i + 1;
        snapshot = *s;
      }
    }
  }
  if (!snaps_) depth = static_cast<int32_t>(found.size());
  for (int32_t i = 0; i < depth; ++i) {
    pool_.acquire(found[size_t(i)]);
    seq.block_table.push_back(found[size_t(i)]);
  }
  if (snaps_ && depth > 0) {
    snaps_->pin(snapshot);
    seq.restore_slot = snapshot;
  }
  seq.num_computed = static_cast<int32_t>(seq.block_table.size()) * bs;
  return seq.num_computed;
}

void BlockManager::plan_captures(Sequence& seq, int32_t num_new, std::vector<StateCapture>& out) {
  if (!snaps_) return;
  const int32_t bs = block_size(), every = snaps_->interval();
  const int32_t first = seq.num_computed, last = first + num_new;
  // What the same prompt sent again, or a fork, continues from.
  const int32_t prompt_end = (seq.num_prompt_tokens - 1) / bs;
  // The boundaries that already have a snapshot are used again (touched in
  // order: the deepest is evicted last); the others are reserved deepest
  // first, so that when the table cannot hold them all the deep ones (the
  // longest hits) are kept. The runner wants them in ascending order.
  std::vector<int32_t> missing;  // block counts, ascending
  for (int32_t nb = first / bs + 1; nb * bs <= last; ++nb) {
    if (nb % every != 0 && nb != prompt_end) continue;
    if (auto s = snaps_->find(block_hash(seq, nb - 1)))
      snaps_->touch(*s);
    else
      missing.push_back(nb);
  }
  const size_t start = out.size();
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    const int32_t slot = snaps_->reserve(block_hash(seq, *it - 1));
    if (slot < 0) break;  // every snapshot is pinned or pending
    out.push_back({*it * bs - first, slot});
  }
  std::reverse(out.begin() + std::ptrdiff_t(start), out.end());
}

void BlockManager::commit_captures(Sequence& seq, const std::vector<StateCapture>& captures) {
  if (!snaps_) return;
  for (const StateCapture& c : captures) snaps_->commit(c.slot);
  if (seq.restore_slot >= 0) {
    snaps_->unpin(seq.restore_slot);
    seq.restore_slot = -1;
  }
}

int32_t BlockManager::blocks_needed(const Sequence& seq, int32_t num_new) const {
  int32_t need = blocks_for(seq.num_computed + num_new);
  return std::max(0, need - static_cast<int32_t>(seq.block_table.size()));
}

bool BlockManager::allocate_slots(Sequence& seq, int32_t num_new) {
  int32_t extra = blocks_needed(seq, num_new);
  if (extra > pool_.num_free()) return false;
  const bool needs_slot = slots_ && seq.state_slot < 0;
  if (needs_slot && slots_->num_free() == 0) return false;
  for (int32_t i = 0; i < extra; ++i) seq.block_table.push_back(pool_.allocate());
  if (needs_slot) seq.state_slot = slots_->acquire();
  return true;
}

void BlockManager::commit_full_blocks(Sequence& seq) {
  if (!pool_.prefix_cache_enabled()) return;
  const int32_t bs = block_size();
  const int32_t full = seq.num_computed / bs;
  // block_hashes may run ahead of the table after a preemption: the hashes
  // depend only on the tokens, so they stay valid.
  for (int32_t i = 0; i < full; ++i) {
    uint64_t parent = i == 0 ? BlockPool::root_hash(seq.meta.cache_salt) : seq.block_hashes[i - 1];
    std::span<const int32_t> toks(seq.tokens.data() + i * bs, bs);
    if (i >= static_cast<int32_t>(seq.block_hashes.size())) {
      seq.block_hashes.push_back(BlockPool::hash_block(parent, toks));
    }
    pool_.commit(seq.block_table[i], seq.block_hashes[i], parent, toks,
                 i == 0 ? &seq.meta.cache_salt : nullptr);
  }
}

int32_t BlockManager::share_prompt_blocks(const Sequence& parent, Sequence& child) {
  assert(child.block_table.empty());
  const int32_t bs = block_size();
  int32_t n = std::min(parent.num_computed, child.num_tokens() - 1) / bs;
  n = std::min(n, static_cast<int32_t>(parent.block_table.size()));
  if (slots_) {  // only up to a boundary whose state was kept
    child.num_computed = 0;
    if (!snaps_) return 0;
    n = std::min(n, static_cast<int32_t>(parent.block_hashes.size()));
    while (n > 0 && !snaps_->find(parent.block_hashes[size_t(n - 1)])) --n;
    if (n == 0) return 0;
    child.restore_slot = *snaps_->find(parent.block_hashes[size_t(n - 1)]);
    snaps_->pin(child.restore_slot);
  }
  for (int32_t i = 0; i < n; ++i) {
    pool_.acquire(parent.block_table[i]);
    child.block_table.push_back(parent.block_table[i]);
  }
  child.num_computed = n * bs;
  return child.num_computed;
}

void BlockManager::free(Sequence& seq) {
  for (auto it = seq.block_table.rbegin(); it != seq.block_table.rend(); ++it) {
    pool_.release(*it);
  }
  seq.block_table.clear();
  seq.num_computed = 0;
  if (slots_ && seq.state_slot >= 0) slots_->release(seq.state_slot);
  seq.state_slot = -1;
  if (snaps_ && seq.restore_slot >= 0) snaps_->unpin(seq.restore_slot);
  seq.restore_slot = -1;
}

}  // namespace yun
