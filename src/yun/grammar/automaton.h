// Automaton: the parser configurations of one compiled grammar, built
// lazily and shared by every matcher of it (and so by every request with
// that grammar), so that starting a request costs a pointer copy and a
// configuration's closure is computed once, not once per request.
//
// A Matcher's own state is then a configuration id into its automaton plus
// its undo history. Next to the StackSpace (full, untruncated
// configurations: no sentinels) the automaton remembers, per configuration,
// its MaskCache entry, so a warm fill_mask skips the truncated key.
//
// Thread safety: every use of space() and of the entry memo is under
// lock(); initial() is fixed at construction and needs no lock. Matchers on
// different threads share one automaton (the engine thread masks while
// HTTP threads start requests). Bounds: CompiledGrammar::automaton() hands
// new matchers a fresh automaton once this one passes kMaxConfigs;
// matchers keep the one they started in (a shared_ptr), so an id never
// changes meaning under a matcher. The memo holds at most
// MaskCache::kMaxEntries entries (then it starts over).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "yun/grammar/mask_cache.h"
#include "yun/grammar/stack_space.h"

namespace yun::grammar {

class Automaton {
 public:
  // Past this many configurations (1 KiB of transitions each) new matchers
  // get a fresh automaton.
  static constexpr size_t kMaxConfigs = 16'000;

  explicit Automaton(std::shared_ptr<const Grammar> g);
  Automaton(const Automaton&) = delete;
  Automaton& operator=(const Automaton&) = delete;

  int32_t initial() const { return initial_; }
  std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mu_); }
  // REQUIRES: lock() held. Call note_growth() after stepping.
  StackSpace& space() { return space_; }
  void note_growth() { n_configs_.store(space_.n_configs(), std::memory_order_relaxed); }
  // Whether new matchers should start in a fresh automaton (any thread).
  bool full() const { return n_configs_.load(std::memory_order_relaxed) > kMaxConfigs; }

  // The memoized mask entry of configuration cfg (null: none yet).
  // REQUIRES: lock() held.
  const std::shared_ptr<const MaskEntry>* entry(int32_t cfg) const {
    return size_t(cfg) < entries_.size() && entries_[size_t(cfg)] ? &entries_[size_t(cfg)]
                                                                  : nullptr;
  }
  void set_entry(int32_t cfg, std::shared_ptr<const MaskEntry> e);

 private:
  std::mutex mu_;
  StackSpace space_;  // guarded by mu_
  int32_t initial_;
  std::atomic<size_t> n_configs_{0};
  std::vector<std::shared_ptr<const MaskEntry>> entries_;  // by configuration; guarded by mu_
  size_t n_entries_ = 0;                                   // guarded by mu_
};

}  // namespace yun::grammar
