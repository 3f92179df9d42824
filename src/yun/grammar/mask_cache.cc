#include "yun/grammar/mask_cache.h"

namespace yun::grammar {

void walk_trie(StackSpace& space, const TokenVocab& vocab, int32_t begin, int32_t end, int base_depth,
               int32_t base_cfg, uint32_t* mask, std::vector<int32_t>* roots) {
  const auto& trie = vocab.trie();
  const auto& toks = vocab.trie_tokens();
  int32_t states[1024];
  std::vector<int32_t> big;
  int32_t* st = states;
  if (vocab.max_depth() + 1 > 1024) {
    big.resize(size_t(vocab.max_depth()) + 1);
    st = big.data();
  }
  st[base_depth] = base_cfg;
  for (int32_t i = begin; i < end;) {
    const TokenVocab::TrieNode& n = trie[size_t(i)];
    int32_t c = space.step(st[n.depth - 1], n.byte);
    if (c == StackSpace::kEmpty) {
      i = n.subtree_end;
      continue;
    }
    st[n.depth] = c;
    for (int32_t t = n.tok_begin, e = vocab.tok_end(size_t(i)); t < e; ++t) {
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
  if (entries_.size() >= kMaxEntries || space_->n_configs() > 200'000) {
    entries_.clear();
    space_ = std::make_unique<StackSpace>(g_, true);
  }
  auto e = std::make_shared<MaskEntry>();
  e->accepted.assign(vocab_->mask_words(), 0);
  int32_t cfg = space_->from_key(key);
  walk_trie(*space_, *vocab_, 0, int32_t(vocab_->trie().size()), 0, cfg, e->accepted.data(), &e->roots);
  entries_.emplace(key, e);
  return e;
}

}  // namespace yun::grammar
