// BpeCache: word -> ids memo shared by all threads using one BpeModel.
// Sharded by hash; each shard has its own mutex and is cleared when it fills,
// so memory stays bounded.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "yun/text/bpe_tables.h"

namespace yun::text {

class BpeCache {
 public:
  static constexpr size_t kMaxWordBytes = 64;  // longer words are not cached
  static constexpr size_t kShardCapacity = 8192;

  // Appends the cached ids of `word` to `out` and returns true, or returns false.
  bool lookup(std::string_view word, uint64_t hash, std::vector<int32_t>& out) const {
    Shard& s = shards_[hash % kShards];
    std::lock_guard<std::mutex> lk(s.mu);
    auto it = s.map.find(word);
    if (it == s.map.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void insert(std::string_view word, uint64_t hash, const int32_t* ids, size_t n) const {
    Shard& s = shards_[hash % kShards];
    std::lock_guard<std::mutex> lk(s.mu);
    if (s.map.size() >= kShardCapacity) s.map.clear();
    s.map.emplace(std::string(word), std::vector<int32_t>(ids, ids + n));
  }

 private:
  static constexpr size_t kShards = 64;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return size_t(hash_bytes(s) >> 7); }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, Hash, Eq> map;  // GUARDED_BY(mu)
  };
  mutable std::array<Shard, kShards> shards_;
};

// BpeL1Cache: a small per-thread, lock-free, direct-mapped memo in front of
// BpeCache for short words with few ids (most words in text). Entries carry
// the owning model's unique id, so one thread can serve several models.
class BpeL1Cache {
 public:
  static constexpr size_t kMaxWordBytes = 22;
  static constexpr size_t kMaxIds = 6;

  // A process-unique id for a model (never reused).
  static uint64_t new_owner() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }

  // Appends the ids of `word` for model `owner` and returns true, or returns false.
  static bool lookup(uint64_t owner, std::string_view word, uint64_t hash,
                     std::vector<int32_t>& out) {
    const Entry& e = table()[hash & kMask];
    if (e.owner != owner || e.hash != hash || e.len != word.size() ||
        std::memcmp(e.word, word.data(), word.size()) != 0) {
      return false;
    }
    out.insert(out.end(), e.ids, e.ids + e.n);
    return true;
  }
  static void insert(uint64_t owner, std::string_view word, uint64_t hash, const int32_t* ids,
                     size_t n) {
    if (word.size() > kMaxWordBytes || n > kMaxIds) return;
    Entry& e = table()[hash & kMask];
    e.owner = owner;
    e.hash = hash;
    e.len = uint8_t(word.size());
    e.n = uint8_t(n);
    std::memcpy(e.word, word.data(), word.size());
    std::memcpy(e.ids, ids, n * sizeof(int32_t));
  }

 private:
  static constexpr size_t kEntries = 4096;
  static constexpr size_t kMask = kEntries - 1;
  struct Entry {
    uint64_t owner = 0;
    uint64_t hash = 0;
    uint8_t len = 0;
    uint8_t n = 0;
    char word[kMaxWordBytes];
    int32_t ids[kMaxIds];
  };
  static Entry* table() {
    thread_local std::unique_ptr<Entry[]> t(new Entry[kEntries]);
    return t.get();
  }
};

}  // namespace yun::text
