#include "yun/grammar/matcher.h"

#include <cstring>

namespace yun::grammar {

Matcher::Matcher(std::shared_ptr<const CompiledGrammar> g)
    : g_(std::move(g)), space_(g_->grammar_ptr(), false), cfg_(space_.initial()) {}

bool Matcher::step_bytes(std::string_view bytes, int32_t* cfg) {
  int32_t c = *cfg;
  for (unsigned char b : bytes) {
    c = space_.step(c, b);
    if (c == StackSpace::kEmpty) return false;
  }
  *cfg = c;
  return true;
}

bool Matcher::accept_bytes(std::string_view bytes) {
  if (eos_) return false;
  int32_t c = cfg_;
  if (!step_bytes(bytes, &c)) return false;
  history_.push_back(cfg_);
  cfg_ = c;
  return true;
}

bool Matcher::accept_token(int32_t id) {
  if (eos_) return false;
  const TokenVocab* v = g_->vocab();
  if (v && v->is_eos(id)) {
    if (!is_complete()) return false;
    history_.push_back(-1);
    eos_ = true;
    return true;
  }
  if (!v) return false;
  const std::string& b = v->bytes(id);
  if (b.empty()) return false;
  return accept_bytes(b);
}

bool Matcher::rollback(size_t n) {
  if (n > history_.size()) return false;
  for (; n > 0; --n) {
    int32_t c = history_.back();
    history_.pop_back();
    if (c < 0) {
      eos_ = false;
    } else {
      cfg_ = c;
    }
  }
  return true;
}

bool Matcher::token_allowed(int32_t id) {
  if (eos_) return false;
  const TokenVocab* v = g_->vocab();
  if (!v) return false;
  if (v->is_eos(id)) return is_complete();
  const std::string& b = v->bytes(id);
  int32_t c = cfg_;
  return !b.empty() && step_bytes(b, &c);
}

void Matcher::fill_mask(uint32_t* bitmask) {
  const TokenVocab& v = *g_->vocab();
  const size_t words = v.mask_words();
  if (eos_ || cfg_ == StackSpace::kEmpty) {
    std::memset(bitmask, 0, words * sizeof(uint32_t));
    return;
  }
  MaskCache& cache = g_->mask_cache();
  std::shared_ptr<const MaskEntry> e = cache.get(space_.truncated_key(cfg_, cache.depth()));
  std::memcpy(bitmask, e->accepted.data(), words * sizeof(uint32_t));
  // Plain entries: L plain characters take the real configuration where
  // they take the truncated one (the same top frames), and any plain
  // character does ("a" here); then the suffix-trie path.
  for (size_t i = 0; i < e->roots.size(); ++i) {
    const int32_t root = e->roots[i];
    const TokenTrie& trie = e->plain ? v.suffix_trie(e->root_len[i]) : v.full_trie();
    int32_t c = cfg_;
    if (e->plain && !step_bytes(std::string(e->root_len[i], 'a'), &c)) continue;
    if (!step_bytes(trie.path(root), &c)) continue;  // cannot happen: the prefix was accepted
    const TokenTrie::Node& n = trie.nodes()[size_t(root)];
    walk_trie(space_, trie, root + 1, n.subtree_end, n.depth, c, bitmask, nullptr);
  }
  for (int32_t id : e->recheck) {
    int32_t c = cfg_;
    if (step_bytes(v.bytes(id), &c)) bitmask[id >> 5] |= 1u << (id & 31);
  }
  if (space_.accepting(cfg_)) {
    for (int32_t id : v.eos()) bitmask[id >> 5] |= 1u << (id & 31);
  }
}

}  // namespace yun::grammar
