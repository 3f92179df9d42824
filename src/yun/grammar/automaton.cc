#include "yun/grammar/automaton.h"

namespace yun::grammar {

Automaton::Automaton(std::shared_ptr<const Grammar> g) : space_(std::move(g), true) {
  initial_ = space_.initial();
  note_growth();
}

void Automaton::set_entry(int32_t cfg, std::shared_ptr<const MaskEntry> e) {
  if (n_entries_ >= MaskCache::kMaxEntries) {
    entries_.clear();
    n_entries_ = 0;
  }
  if (entries_.size() <= size_t(cfg))
    entries_.resize(std::max(size_t(cfg) + 1, entries_.size() * 2));
  if (!entries_[size_t(cfg)]) ++n_entries_;
  entries_[size_t(cfg)] = std::move(e);
}

}  // namespace yun::grammar
