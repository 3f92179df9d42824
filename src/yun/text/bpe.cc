#include "yun/text/bpe.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "yun/text/bpe_cache.h"
#include "yun/text/byte_level.h"

namespace yun::text {

namespace {

struct Sym {
  int32_t id;     // -1: unknown
  int32_t prev;   // index of the previous live symbol, -1 at the start
  int32_t next;   // index of the next live symbol, -1 at the end
  bool alive;
};

thread_local std::vector<Sym> t_syms;

// Words with at most this many initial symbols use the quadratic scan, which
// beats a heap for the short words that dominate text.
constexpr size_t kScanLimit = 48;

const std::string kEmpty;

}  // namespace

BpeModel::BpeModel() : cache_(std::make_unique<BpeCache>()), owner_(BpeL1Cache::new_owner()) {
  std::fill_n(byte_ids_, 256, -1);
}
BpeModel::BpeModel(BpeModel&&) noexcept = default;
BpeModel& BpeModel::operator=(BpeModel&&) noexcept = default;
BpeModel::~BpeModel() = default;

const std::string& BpeModel::token(int32_t id) const {
  return id >= 0 && id < int32_t(tokens_.size()) ? tokens_[size_t(id)] : kEmpty;
}

Result<BpeModel> BpeModel::build(std::vector<std::pair<std::string, int32_t>> vocab,
                                 const std::vector<std::pair<std::string, std::string>>& merges,
                                 BpeOptions options) {
  BpeModel m;
  m.opts_ = std::move(options);
  int32_t max_id = -1;
  for (const auto& [tok, id] : vocab) {
    if (id < 0) return invalid_argument("model.vocab: negative id for token \"" + tok + "\"");
    max_id = std::max(max_id, id);
  }
  if (max_id > 16 * 1024 * 1024) return invalid_argument("model.vocab: id too large");
  m.tokens_.assign(size_t(max_id + 1), std::string());
  for (auto& [tok, id] : vocab) {
    if (tok.empty()) return invalid_argument("model.vocab: empty token string");
    if (!m.tokens_[size_t(id)].empty()) {
      return invalid_argument("model.vocab: id " + std::to_string(id) + " used twice");
    }
    m.tokens_[size_t(id)] = std::move(tok);
  }
  m.map_.build(&m.tokens_);
  if (m.opts_.byte_level) {
    for (int b = 0; b < 256; ++b) m.byte_ids_[b] = m.map_.find(byte_level_utf8(uint8_t(b)));
  }
  if (!m.opts_.unk_token.empty()) {
    m.unk_id_ = m.map_.find(m.opts_.unk_token);
    if (m.unk_id_ < 0) {
      return invalid_argument("model.unk_token \"" + m.opts_.unk_token + "\" is not in the vocab");
    }
  }
  m.merges_.reserve(merges.size());
  // Lookups go in blocks: hash and prefetch every key first, then probe, so
  // the cache misses of a block overlap. Merged tokens usually follow the
  // merge order in the vocab, so the id after the previous merge's is tried
  // first.
  constexpr size_t kBlock = 32;
  uint64_t ha[kBlock], hb[kBlock];
  std::string joined;
  int32_t offset = 0;  // merged id - rank of the previous merge
  for (size_t base = 0; base < merges.size(); base += kBlock) {
    const size_t end = std::min(merges.size(), base + kBlock);
    for (size_t r = base; r < end; ++r) {
      ha[r - base] = hash_bytes(merges[r].first);
      hb[r - base] = hash_bytes(merges[r].second);
      m.map_.prefetch(ha[r - base]);
      m.map_.prefetch(hb[r - base]);
    }
    for (size_t r = base; r < end; ++r) {
      const auto& [a, b] = merges[r];
      int32_t ia = m.map_.find(a, ha[r - base]), ib = m.map_.find(b, hb[r - base]);
      if (ia < 0 || ib < 0) {
        return invalid_argument("model.merges[" + std::to_string(r) + "]: token \"" +
                                (ia < 0 ? a : b) + "\" is not in the vocab");
      }
      int32_t ij = int32_t(r) + offset;
      const std::string& guess = m.token(ij);
      if (!(guess.size() == a.size() + b.size() && guess.compare(0, a.size(), a) == 0 &&
            guess.compare(a.size(), b.size(), b) == 0)) {
        joined.assign(a).append(b);
        ij = m.map_.find(joined);
        if (ij < 0) {
          return invalid_argument("model.merges[" + std::to_string(r) + "]: merged token \"" +
                                  joined + "\" is not in the vocab");
        }
        offset = ij - int32_t(r);
      }
      m.merges_.insert(ia, ib, int32_t(r), ij);
    }
  }
  return m;
}

void BpeModel::initial_symbols(std::string_view word) const {
  std::vector<Sym>& syms = t_syms;
  syms.clear();
  auto push = [&](int32_t id) {
    int32_t i = int32_t(syms.size());
    syms.push_back({id, i - 1, -1, true});
    if (i > 0) syms[size_t(i - 1)].next = i;
  };
  if (opts_.byte_level) {
    for (char c : word) push(byte_ids_[uint8_t(c)]);
    return;
  }
  size_t pos = 0;
  while (pos < word.size()) {
    size_t start = pos;
    next_code_point(word, &pos);
    std::string_view ch = word.substr(start, pos - start);
    int32_t id = map_.find(ch);
    if (id >= 0) {
      push(id);
      continue;
    }
    if (opts_.byte_fallback) {
      bool all = true;
      int32_t ids[4];
      for (size_t k = 0; k < ch.size(); ++k) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", unsigned(uint8_t(ch[k])));
        ids[k] = map_.find(name);
        all = all && ids[k] >= 0;
      }
      if (all) {
        for (size_t k = 0; k < ch.size(); ++k) push(ids[k]);
        continue;
      }
    }
    if (opts_.fuse_unk && !syms.empty() && syms.back().id < 0) continue;
    push(-1);
  }
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  initial_symbols(word);
  std::vector<Sym>& syms = t_syms;
  const size_t n = syms.size();
  if (n <= kScanLimit) {
    // Quadratic scan over compact arrays: ids, and for each adjacent pair its
    // merge rank and result (INT32_MAX: no merge). A merge updates only the
    // two pairs beside it, so each step is one min-scan plus two lookups.
    int32_t ids[kScanLimit], ranks[kScanLimit], merged[kScanLimit];
    size_t len = n;
    for (size_t i = 0; i < n; ++i) ids[i] = syms[i].id;
    auto pair_rank = [&](size_t i) {
      ranks[i] = INT32_MAX;
      if (ids[i] < 0 || ids[i + 1] < 0) return;
      if (const PairMap::Entry* e = merges_.find(ids[i], ids[i + 1])) {
        ranks[i] = e->rank;
        merged[i] = e->id;
      }
    };
    for (size_t i = 0; i + 1 < len; ++i) pair_rank(i);
    while (len > 1) {
      size_t best = 0;
      int32_t best_rank = ranks[0];
      for (size_t i = 1; i + 1 < len; ++i) {
        if (ranks[i] < best_rank) {
          best_rank = ranks[i];
          best = i;
        }
      }
      if (best_rank == INT32_MAX) break;
      ids[best] = merged[best];
      for (size_t i = best + 1; i + 1 < len; ++i) {
        ids[i] = ids[i + 1];
        if (i + 2 < len) {
          ranks[i] = ranks[i + 1];
          merged[i] = merged[i + 1];
        }
      }
      --len;
      if (best > 0) pair_rank(best - 1);
      if (best + 1 < len) pair_rank(best);
    }
    for (size_t i = 0; i < len; ++i) {
      if (ids[i] >= 0) {
        out.push_back(ids[i]);
      } else if (unk_id_ >= 0) {
        out.push_back(unk_id_);
      }
    }
    return;
  }
  // Heap of candidate merges ordered by (rank, position); stale entries are
  // recognized by checking that the pair is still adjacent with the same ids.
  struct Cand {
    int32_t rank, pos, left_id, right_id, new_id;
    bool operator>(const Cand& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto consider = [&](int32_t i) {
    if (i < 0) return;
    int32_t j = syms[size_t(i)].next;
    if (j < 0) return;
    int32_t a = syms[size_t(i)].id, b = syms[size_t(j)].id;
    if (a < 0 || b < 0) return;
    if (const PairMap::Entry* e = merges_.find(a, b)) heap.push({e->rank, i, a, b, e->id});
  };
  for (size_t i = 0; i + 1 < n; ++i) consider(int32_t(i));
  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    Sym& l = syms[size_t(c.pos)];
    if (!l.alive || l.id != c.left_id || l.next < 0) continue;
    Sym& r = syms[size_t(l.next)];
    if (r.id != c.right_id) continue;
    l.id = c.new_id;
    r.alive = false;
    l.next = r.next;
    if (r.next >= 0) syms[size_t(r.next)].prev = c.pos;
    consider(l.prev);
    consider(c.pos);
  }
  for (int32_t i = 0; i >= 0 && size_t(i) < n; i = syms[size_t(i)].next) {
    if (syms[size_t(i)].id >= 0) {
      out.push_back(syms[size_t(i)].id);
    } else if (unk_id_ >= 0) {
      out.push_back(unk_id_);
    }
  }
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (opts_.byte_level && word.size() == 1) {
    int32_t id = byte_ids_[uint8_t(word[0])];
    if (id >= 0) {
      out.push_back(id);
    } else if (unk_id_ >= 0) {
      out.push_back(unk_id_);
    }
    return;
  }
  if (opts_.ignore_merges) {
    int32_t id;
    if (opts_.byte_level) {
      thread_local std::string alpha;
      alpha.clear();
      byte_level_encode(word, alpha);
      id = map_.find(alpha);
    } else {
      id = map_.find(word);
    }
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const bool cacheable = word.size() <= BpeCache::kMaxWordBytes;
  uint64_t h = 0;
  const bool l1 = word.size() <= BpeL1Cache::kMaxWordBytes;
  if (cacheable) {
    h = hash_bytes(word);
    if (l1 && BpeL1Cache::lookup(owner_, word, h, out)) return;
    size_t before = out.size();
    if (cache_->lookup(word, h, out)) {
      if (l1) BpeL1Cache::insert(owner_, word, h, out.data() + before, out.size() - before);
      return;
    }
  }
  size_t before = out.size();
  merge_word(word, out);
  if (cacheable) {
    cache_->insert(word, h, out.data() + before, out.size() - before);
    if (l1) BpeL1Cache::insert(owner_, word, h, out.data() + before, out.size() - before);
  }
}

}  // namespace yun::text
