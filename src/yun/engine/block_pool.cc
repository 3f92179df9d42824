#include "yun/engine/block_pool.h"

#include <cassert>
#include <cstring>

namespace yun {

namespace {
uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}
}  // namespace

BlockPool::BlockPool(int32_t num_blocks, int32_t block_size, bool enable_prefix_cache)
    : block_size_(block_size), enable_prefix_cache_(enable_prefix_cache), blocks_(num_blocks) {
  for (int32_t i = 0; i < num_blocks; ++i) {
    free_list_.push_back(i);
    blocks_[i].free_it = std::prev(free_list_.end());
  }
}

int32_t BlockPool::num_cached_free() const {
  int32_t n = 0;
  for (int32_t id : free_list_) n += blocks_[id].cached ? 1 : 0;
  return n;
}

void BlockPool::evict(Block& b) {
  if (!b.cached) return;
  auto it = hash_to_block_.find(b.hash);
  if (it != hash_to_block_.end() && &blocks_[it->second] == &b) hash_to_block_.erase(it);
  if (record_events_) {
    KvBlockEvent ev;
    ev.kind = KvBlockEvent::Kind::kRemoved;
    ev.hash = b.hash;
    events_.push_back(std::move(ev));
  }
  b.cached = false;
  b.tokens.clear();
  if (on_evict_) on_evict_(b.hash);
}

int32_t BlockPool::allocate() {
  assert(!free_list_.empty());
  int32_t id = free_list_.front();
  free_list_.pop_front();
  Block& b = blocks_[id];
  evict(b);
  b.ref = 1;
  return id;
}

void BlockPool::acquire(int32_t block) {
  Block& b = blocks_[block];
  if (b.ref == 0) free_list_.erase(b.free_it);
  ++b.ref;
}

void BlockPool::release(int32_t block) {
  Block& b = blocks_[block];
  assert(b.ref > 0);
  if (--b.ref > 0) return;
  if (b.cached) {
    free_list_.push_back(block);
    b.free_it = std::prev(free_list_.end());
  } else {
    free_list_.push_front(block);
    b.free_it = free_list_.begin();
  }
}

uint64_t BlockPool::root_hash(uint64_t cache_salt) {
  // mix64 is a bijection with mix64(0) == 0.
  return mix64(cache_salt) ^ kRootHash;
}

uint64_t BlockPool::hash_block(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = mix64(parent ^ 0x51ed270b27a3c5e9ULL);
  for (int32_t t : tokens) h = mix64(h ^ (static_cast<uint64_t>(static_cast<uint32_t>(t)) + 1));
  return h;
}

std::optional<int32_t> BlockPool::lookup(uint64_t hash, uint64_t parent,
                                         std::span<const int32_t> tokens) const {
  if (!enable_prefix_cache_) return std::nullopt;
  auto it = hash_to_block_.find(hash);
  if (it == hash_to_block_.end()) return std::nullopt;
  const Block& b = blocks_[it->second];
  if (b.parent != parent || b.tokens.size() != tokens.size() ||
      !std::equal(tokens.begin(), tokens.end(), b.tokens.begin())) {
    return std::nullopt;
  }
  return it->second;
}

void BlockPool::commit(int32_t block, uint64_t hash, uint64_t parent,
                       std::span<const int32_t> tokens, const uint64_t* root_salt) {
  if (!enable_prefix_cache_) return;
  Block& b = blocks_[block];
  if (b.cached || hash_to_block_.count(hash)) return;
  b.cached = true;
  b.hash = hash;
  b.parent = parent;
  b.tokens.assign(tokens.begin(), tokens.end());
  hash_to_block_[hash] = block;
  if (record_events_) {
    KvBlockEvent ev;
    ev.kind = KvBlockEvent::Kind::kStored;
    ev.hash = hash;
    if (root_salt)
      ev.cache_salt = *root_salt;
    else
      ev.parent = parent;
    ev.tokens.assign(tokens.begin(), tokens.end());
    events_.push_back(std::move(ev));
  }
}

bool BlockPool::check_invariants() const {
  size_t zero = 0;
  for (const Block& b : blocks_) {
    if (b.ref < 0) return false;
    zero += b.ref == 0 ? 1 : 0;
  }
  if (zero != free_list_.size()) return false;
  for (int32_t id : free_list_) {
    if (blocks_[id].ref != 0) return false;
  }
  for (auto& [h, id] : hash_to_block_) {
    if (!blocks_[id].cached || blocks_[id].hash != h) return false;
  }
  return true;
}

}  // namespace yun
