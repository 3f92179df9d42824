#include "yun/grammar/matcher.h"

#include <cstring>

namespace yun::grammar {

Matcher::Matcher(std::shared_ptr<const CompiledGrammar> g)
    : g_(std::move(g)), a_(g_->automaton()), cfg_(a_->initial()) {}

bool Matcher::step_bytes(std::string_view bytes, int32_t* cfg) {
  StackSpace& space = a_->space();
  int32_t c = *cfg;
  for (unsigned char b : bytes) {
    c = space.step(c, b);
    if (c == StackSpace::kEmpty) return false;
  }
  *cfg = c;
  return true;
}

bool Matcher::is_complete() const {
  if (eos_) return false;
  auto lk = a_->lock();
  return a_->space().accepting(cfg_);
}

bool Matcher::can_continue() const {
  if (eos_) return false;
  auto lk = a_->lock();
  return a_->space().can_continue(cfg_);
}

bool Matcher::is_finished() const {
  if (eos_) return true;
  auto lk = a_->lock();
  return a_->space().accepting(cfg_) && !a_->space().can_continue(cfg_);
}

ByteSet Matcher::next_bytes() const {
  if (eos_) return ByteSet();
  auto lk = a_->lock();
  return a_->space().next_bytes(cfg_);
}

bool Matcher::accept_bytes(std::string_view bytes) {
  if (eos_) return false;
  int32_t c = cfg_;
  {
    auto lk = a_->lock();
    const bool ok = step_bytes(bytes, &c);
    a_->note_growth();
    if (!ok) return false;
  }
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
  if (b.empty()) return false;
  int32_t c = cfg_;
  auto lk = a_->lock();
  const bool ok = step_bytes(b, &c);
  a_->note_growth();
  return ok;
}

void Matcher::fill_mask(uint32_t* bitmask) {
  const TokenVocab& v = *g_->vocab();
  const size_t words = v.mask_words();
  if (eos_ || cfg_ == StackSpace::kEmpty) {
    std::memset(bitmask, 0, words * sizeof(uint32_t));
    return;
  }
  // The configuration's entry: memoized in the automaton; on a miss the
  // truncated key under the lock, the entry (maybe computed) outside it.
  std::shared_ptr<const MaskEntry> e;
  std::string key;
  MaskCache& cache = g_->mask_cache();
  {
    auto lk = a_->lock();
    if (const auto* m = a_->entry(cfg_)) {
      e = *m;
    } else {
      key = a_->space().truncated_key(cfg_, cache.depth());
    }
  }
  if (!e) {
    e = cache.get(key);
    auto lk = a_->lock();
    a_->set_entry(cfg_, e);
  }
  std::memcpy(bitmask, e->accepted.data(), words * sizeof(uint32_t));
  auto lk = a_->lock();
  StackSpace& space = a_->space();
  // Roots: from the real configuration along the root's bytes (mask_cache.h),
  // then the subtree below it.
  for (size_t i = 0; i < e->roots.size(); ++i) {
    const int32_t root = e->roots[i];
    const TokenTrie& trie = e->plain ? v.suffix_trie(e->root_len[i]) : v.full_trie();
    int32_t c = cfg_;
    if (!step_bytes(e->root_bytes[i], &c)) continue;
    const TokenTrie::Node& n = trie.nodes()[size_t(root)];
    walk_trie(space, trie, root + 1, n.subtree_end, n.depth, c, bitmask, nullptr);
  }
  for (int32_t id : e->recheck) {
    int32_t c = cfg_;
    if (step_bytes(v.bytes(id), &c)) bitmask[id >> 5] |= 1u << (id & 31);
  }
  if (space.accepting(cfg_)) {
    for (int32_t id : v.eos()) bitmask[id >> 5] |= 1u << (id & 31);
  }
  a_->note_growth();
}

}  // namespace yun::grammar
