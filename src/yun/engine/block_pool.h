// BlockPool: the KV cache's blocks as ids with reference counts, plus the
// prefix cache (hash-chained FULL blocks that can be shared by later requests).
//
// A block is in use while its ref count > 0. A block with ref count 0 is free;
// if it also holds a committed hash it is "cached": still findable through
// lookup() until allocate() evicts it. The free list is LRU ordered: plain free
// blocks are taken first, then cached blocks in the order they were released.
//
// Block hash = mix(parent block hash, the block's token ids); the first
// block's parent is root_hash(cache salt): kRootHash for salt 0, and a
// different root for every other salt, so chains of different salts never
// meet (a request sees no cached block of another salt, hence no timing
// side channel between tenants with their own salts). A lookup compares the
// stored token ids and parent hash too, so hash collisions never share wrong
// KV.
//
// KV-cache events: with set_record_events(true), every commit that makes a
// block findable appends one kStored event and every eviction of a committed
// block one kRemoved event, in the order they happen; take_events() hands
// them over. A block is reported stored at most once until it is removed (a
// commit that is a no-op reports nothing). Off (the default): no cost.
//
// Thread: owned by the engine thread (no locks).
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace yun {

// One change to the prefix cache (see BlockPool's record_events).
struct KvBlockEvent {
  // kAllCleared: every block was dropped (the pool never emits it; the
  // serve layer's publisher does when the cache starts and stops).
  enum class Kind : uint8_t { kStored, kRemoved, kAllCleared };
  Kind kind = Kind::kStored;
  uint64_t hash = 0;
  // kStored: the parent block's hash; nullopt for the first block of a chain
  // (its parent is the root of cache_salt).
  std::optional<uint64_t> parent;
  uint64_t cache_salt = 0;      // kStored with no parent: the chain's salt
  std::vector<int32_t> tokens;  // kStored: the block's token ids
};

class BlockPool {
 public:
  static constexpr uint64_t kRootHash = 0x9e3779b97f4a7c15ULL;

  // REQUIRES: num_blocks > 0, block_size > 0.
  BlockPool(int32_t num_blocks, int32_t block_size, bool enable_prefix_cache);

  int32_t num_blocks() const { return static_cast<int32_t>(blocks_.size()); }
  int32_t block_size() const { return block_size_; }
  bool prefix_cache_enabled() const { return enable_prefix_cache_; }
  // Blocks with ref count 0 (cached ones included): what allocate() can give.
  int32_t num_free() const { return static_cast<int32_t>(free_list_.size()); }
  int32_t num_used() const { return num_blocks() - num_free(); }
  // Free blocks that still hold a committed hash.
  int32_t num_cached_free() const;

  // Takes a free block (evicting its cached hash if any), ref count 1.
  // REQUIRES: num_free() > 0.
  int32_t allocate();
  // ref += 1 (taking it off the free list when it was 0).
  void acquire(int32_t block);
  // ref -= 1; at 0 the block goes to the free list (cached blocks at the
  // back, evicted last; plain blocks at the front). REQUIRES: ref > 0.
  void release(int32_t block);
  int32_t ref_count(int32_t block) const { return blocks_[block].ref; }

  // The parent of a chain's first block: kRootHash for salt 0; distinct
  // salts give distinct roots (a bijection).
  static uint64_t root_hash(uint64_t cache_salt);
  // The hash of a full block with these tokens after `parent`.
  static uint64_t hash_block(uint64_t parent, std::span<const int32_t> tokens);
  // The block holding exactly (parent, tokens), or nullopt (always nullopt
  // when the prefix cache is off).
  std::optional<int32_t> lookup(uint64_t hash, uint64_t parent,
                                std::span<const int32_t> tokens) const;
  // Records that `block` (in use, full) holds `tokens` after `parent`. No-op
  // when the cache is off, the block is already committed, or another block
  // already holds this hash. `root_salt`: non-null when `parent` is
  // root_hash(*root_salt) (the chain's first block), for the events.
  void commit(int32_t block, uint64_t hash, uint64_t parent, std::span<const int32_t> tokens,
              const uint64_t* root_salt = nullptr);

  // Called with the hash of every committed block as it is evicted (the
  // hybrid prefix cache drops the state snapshot kept for it). Empty: none.
  void set_evict_listener(std::function<void(uint64_t hash)> fn) { on_evict_ = std::move(fn); }

  // KV-cache events (see the top of this file).
  void set_record_events(bool on) { record_events_ = on; }
  bool has_events() const { return !events_.empty(); }
  std::vector<KvBlockEvent> take_events() { return std::exchange(events_, {}); }

  // Checks internal consistency (free list vs ref counts, hash map vs blocks).
  bool check_invariants() const;

 private:
  struct Block {
    int32_t ref = 0;
    bool cached = false;  // holds a committed hash (in hash_to_block_)
    uint64_t hash = 0, parent = 0;
    std::vector<int32_t> tokens;
    std::list<int32_t>::iterator free_it;  // valid while ref == 0
  };
  void evict(Block& b);

  int32_t block_size_;
  bool enable_prefix_cache_;
  std::vector<Block> blocks_;
  std::list<int32_t> free_list_;  // front: taken first
  std::unordered_map<uint64_t, int32_t> hash_to_block_;
  bool record_events_ = false;
  std::vector<KvBlockEvent> events_;
  std::function<void(uint64_t)> on_evict_;
};

}  // namespace yun
