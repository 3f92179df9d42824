#include "yun/grammar/mask_cache.h"

#include <set>
#include <tuple>

namespace yun::grammar {

void walk_trie(StackSpace& space, const TokenTrie& trie, int32_t begin, int32_t end, int base_depth,
               int32_t base_cfg, uint32_t* mask, std::vector<int32_t>* roots) {
  const auto& nodes = trie.nodes();
  const auto& toks = trie.tokens();
  int32_t states[1024];
  std::vector<int32_t> big;
  int32_t* st = states;
  if (trie.max_depth() + 1 > 1024) {
    big.resize(size_t(trie.max_depth()) + 1);
    st = big.data();
  }
  st[base_depth] = base_cfg;
  for (int32_t i = begin; i < end;) {
    const TokenTrie::Node& n = nodes[size_t(i)];
    int32_t c = space.step(st[n.depth - 1], n.byte);
    if (c == StackSpace::kEmpty) {
      i = n.subtree_end;
      continue;
    }
    st[n.depth] = c;
    for (int32_t t = n.tok_begin, e = trie.tok_end(size_t(i)); t < e; ++t) {
      int32_t id = toks[size_t(t)];
      mask[id >> 5] |= 1u << (id & 31);
    }
    if (roots && space.has_sentinel(c)) {
      if (n.subtree_end > i + 1) roots->push_back(i);
      i = n.subtree_end;
      continue;
    }
    ++i;
  }
}

namespace {

// Continuation bytes of a UTF-8 sequence: [lo, hi] of the byte after `lead`.
void second_byte_range(int lead, int* lo, int* hi) {
  *lo = 0x80;
  *hi = 0xBF;
  if (lead == 0xE0) *lo = 0xA0;
  if (lead == 0xED) *hi = 0x9F;
  if (lead == 0xF0) *lo = 0x90;
  if (lead == 0xF4) *hi = 0x8F;
}

// Every continuation in [lo, hi], then `remaining - 1` more, from state s
// ends in *target (set by the first one when -2).
bool closes(StackSpace& sp, const Grammar& g, int32_t s, int remaining, int lo, int hi, int32_t* target,
            std::set<std::tuple<int32_t, int, int>>& done) {
  if (!done.insert({s * 8 + remaining, lo, hi}).second) return true;
  bool seen[256] = {};
  for (int b = lo; b <= hi; ++b) {
    uint8_t r = g.byte_rep[size_t(b)];
    if (seen[r]) continue;
    seen[r] = true;
    int32_t t = sp.step(s, uint8_t(b));
    if (remaining == 1 || t == StackSpace::kEmpty) {
      if (t != StackSpace::kEmpty && sp.has_sentinel(t)) return false;
      if (*target == -2) *target = t;
      if (t != *target) return false;
    } else {
      if (sp.has_sentinel(t)) return false;
      if (!closes(sp, g, t, remaining - 1, 0x80, 0xBF, target, done)) return false;
    }
  }
  return true;
}

}  // namespace

int32_t plain_successor(StackSpace& sp, const Grammar& g, int32_t cfg) {
  int32_t target = -2;
  bool seen[256] = {};
  for (int b = 0x20; b < 0x80; ++b) {
    if (b == '"' || b == '\\') continue;
    uint8_t r = g.byte_rep[size_t(b)];
    if (seen[r]) continue;
    seen[r] = true;
    int32_t t = sp.step(cfg, uint8_t(b));
    if (t != StackSpace::kEmpty && sp.has_sentinel(t)) return -2;
    if (target == -2) target = t;
    if (t != target) return -2;
  }
  std::set<std::tuple<int32_t, int, int>> done;
  for (int lead = 0xC2; lead <= 0xF4; ++lead) {
    int32_t s = sp.step(cfg, uint8_t(lead));
    if (s == StackSpace::kEmpty) {
      if (target != StackSpace::kEmpty) return -2;
      continue;
    }
    if (sp.has_sentinel(s)) return -2;
    int lo, hi;
    second_byte_range(lead, &lo, &hi);
    int remaining = lead < 0xE0 ? 1 : lead < 0xF0 ? 2 : 3;
    if (!closes(sp, g, s, remaining, lo, hi, &target, done)) return -2;
  }
  return target;
}

MaskCache::MaskCache(std::shared_ptr<const Grammar> g, std::shared_ptr<const TokenVocab> vocab, int depth)
    : g_(std::move(g)), vocab_(std::move(vocab)), depth_(depth), space_(std::make_unique<StackSpace>(g_, true)) {}

size_t MaskCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

std::shared_ptr<const MaskEntry> MaskCache::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) return it->second;
  if (entries_.size() >= kMaxEntries || space_->n_configs() > 16'000) {
    entries_.clear();
    space_ = std::make_unique<StackSpace>(g_, true);
  }
  auto e = std::make_shared<MaskEntry>();
  int32_t cfg = space_->from_key(key);
  e->accepted.assign(vocab_->mask_words(), 0);
  // The plain chain C0 -> C1 -> ... (see the header).
  constexpr int kMax = TokenVocab::kMaxPlain;
  int32_t chain[kMax + 1];
  chain[0] = cfg;
  int k = 0;
  bool plain = true;
  while (k < kMax && chain[k] != StackSpace::kEmpty) {
    int32_t next = plain_successor(*space_, *g_, chain[k]);
    if (next == -2) { plain = false; break; }
    chain[++k] = next;
  }
  if (plain) {
    e->plain = true;
    for (int L = 0; L <= k; ++L) {
      if (chain[L] == StackSpace::kEmpty) break;
      if (L > 0) {
        const auto& pm = vocab_->plain_mask(L);
        for (size_t w = 0; w < pm.size(); ++w) e->accepted[w] |= pm[w];
      }
      const TokenTrie& t = vocab_->suffix_trie(L);
      walk_trie(*space_, t, 0, int32_t(t.nodes().size()), 0, chain[L], e->accepted.data(), &e->roots);
      e->root_len.resize(e->roots.size(), uint8_t(L));
    }
    if (k == kMax && chain[k] != StackSpace::kEmpty) {
      for (int32_t id : vocab_->long_tokens()) {
        int32_t c = cfg;
        bool sentinel = false;
        for (unsigned char b : vocab_->bytes(id)) {
          c = space_->step(c, b);
          if (c == StackSpace::kEmpty) break;
          sentinel = sentinel || space_->has_sentinel(c);
        }
        if (c != StackSpace::kEmpty) {
          e->accepted[size_t(id) >> 5] |= 1u << (id & 31);
        } else if (sentinel) {
          e->recheck.push_back(id);
        }
      }
    }
  } else {
    const TokenTrie& t = vocab_->full_trie();
    walk_trie(*space_, t, 0, int32_t(t.nodes().size()), 0, cfg, e->accepted.data(), &e->roots);
  }
  for (size_t i = 0; i < e->roots.size(); ++i) {
    const TokenTrie& trie = e->plain ? vocab_->suffix_trie(e->root_len[i]) : vocab_->full_trie();
    // Plain entries: L plain characters take the real configuration where
    // they take the truncated one (the same top frames), and any plain
    // character does ("a" here); then the trie path.
    e->root_bytes.push_back(std::string(e->plain ? e->root_len[i] : 0, 'a') + trie.path(e->roots[i]));
  }
  entries_.emplace(key, e);
  return e;
}

}  // namespace yun::grammar
