#include "yun/engine/block_manager.h"

#include <algorithm>
#include <cassert>
#include <span>

namespace yun {

int32_t BlockManager::match_prefix(Sequence& seq) {
  assert(seq.block_table.empty());
  seq.num_computed = 0;
  if (!pool_.prefix_cache_enabled()) return 0;
  const int32_t bs = block_size();
  const int32_t max_blocks = (seq.num_tokens() - 1) / bs;
  uint64_t parent = BlockPool::root_hash(seq.meta.cache_salt);
  for (int32_t i = 0; i < max_blocks; ++i) {
    std::span<const int32_t> toks(seq.tokens.data() + i * bs, bs);
    uint64_t h = i < static_cast<int32_t>(seq.block_hashes.size())
                     ? seq.block_hashes[i]
                     : BlockPool::hash_block(parent, toks);
    auto block = pool_.lookup(h, parent, toks);
    if (!block) break;
    pool_.acquire(*block);
    seq.block_table.push_back(*block);
    if (i >= static_cast<int32_t>(seq.block_hashes.size())) seq.block_hashes.push_back(h);
    parent = h;
  }
  seq.num_computed = static_cast<int32_t>(seq.block_table.size()) * bs;
  return seq.num_computed;
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
  if (slots_) {  // no recurrent state is kept at the shared boundary
    child.num_computed = 0;
    return 0;
  }
  const int32_t bs = block_size();
  int32_t n = std::min(parent.num_computed, child.num_tokens() - 1) / bs;
  n = std::min(n, static_cast<int32_t>(parent.block_table.size()));
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
}

}  // namespace yun
