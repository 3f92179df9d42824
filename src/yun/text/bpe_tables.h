// Flat open-addressing hash tables for the BPE model: token string -> id
// (keys live in the model's id->token vector) and merge pair -> (rank, id).
// Built once at load, read-only afterwards (safe to share across threads).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace yun::text {

// A fast non-cryptographic hash of a byte string.
inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xC2B2AE3D27D4EB4Full);
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t w;
    __builtin_memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  __builtin_memcpy(&w, p, n);
  // Final avalanche (murmur3 fmix64) so that the low bits used for table
  // indices depend on every input byte.
  h ^= w;
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  return h;
}

// Maps strings to ids; the strings are owned by `keys` (indexed by id).
class StringIdMap {
 public:
  // REQUIRES: `keys` outlives the map and is not modified; empty keys are skipped.
  // The map keeps keys->data(), which moving the vector (or its owner) keeps valid.
  void build(const std::vector<std::string>* keys) {
    keys_ = keys->data();
    size_t cap = 16;
    while (cap < keys->size() * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    // Hash everything first, then insert with the slots prefetched ahead.
    std::vector<uint64_t> hashes(keys->size());
    for (size_t id = 0; id < keys->size(); ++id) hashes[id] = hash_bytes((*keys)[id]);
    constexpr size_t kAhead = 16;
    for (size_t id = 0; id < keys->size(); ++id) {
      if (id + kAhead < keys->size()) prefetch(hashes[id + kAhead]);
      if ((*keys)[id].empty()) continue;
      uint64_t h = hashes[id];
      size_t i = h & mask_;
      while (slots_[i].id >= 0) i = (i + 1) & mask_;
      slots_[i] = {int32_t(id), uint32_t(h >> 32)};
    }
  }
  // The id of `key`, or -1. A 32-bit hash tag per slot avoids touching the
  // key strings of colliding slots.
  int32_t find(std::string_view key) const { return find(key, hash_bytes(key)); }
  // Hints the CPU to load the slot of a key with hash `h` (for batched lookups).
  void prefetch(uint64_t h) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h & mask_]);
  }
  // find() with hash_bytes(key) already computed.
  int32_t find(std::string_view key, uint64_t h) const {
    if (slots_.empty()) return -1;
    const uint32_t tag = uint32_t(h >> 32);
    size_t i = h & mask_;
    while (true) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && keys_[size_t(s.id)] == key) return s.id;
      i = (i + 1) & mask_;
    }
  }

 private:
  struct Slot {
    int32_t id = -1;
    uint32_t tag = 0;
  };
  const std::string* keys_ = nullptr;  // the keys' elements, not the vector object
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// Maps an (left id, right id) pair to its merge rank and merged id.
class PairMap {
 public:
  struct Entry {
    uint64_t key = kEmpty;
    int32_t rank = 0;
    int32_t id = 0;
  };
  static constexpr uint64_t kEmpty = ~0ull;

  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots_.assign(cap, Entry{});
    mask_ = cap - 1;
  }
  // Inserts or overwrites (a later duplicate merge wins, as in HF). REQUIRES: reserve()d.
  void insert(int32_t a, int32_t b, int32_t rank, int32_t id) {
    uint64_t k = key(a, b);
    size_t i = mix(k) & mask_;
    while (slots_[i].key != kEmpty) {
      if (slots_[i].key == k) break;
      i = (i + 1) & mask_;
    }
    slots_[i] = {k, rank, id};
  }
  // The entry for (a, b), or nullptr.
  const Entry* find(int32_t a, int32_t b) const {
    uint64_t k = key(a, b);
    size_t i = mix(k) & mask_;
    while (true) {
      const Entry& e = slots_[i];
      if (e.key == k) return &e;
      if (e.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }

 private:
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDull;
    k ^= k >> 33;
    k *= 0xC4CEB9FE1A85EC53ull;
    k ^= k >> 33;
    return k;
  }
  std::vector<Entry> slots_;
  size_t mask_ = 0;
};

}  // namespace yun::text
