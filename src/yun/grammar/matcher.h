// Matcher: one sequence's position in a compiled grammar; accepts tokens and
// writes the mask of tokens allowed next.
//
// How it is meant to be wired (engine/sampler):
//   - compile once per request (compile.h; cache the CompiledGrammar by the
//     spec's text per model: its mask cache and automaton warm with use);
//   - one Matcher per sequence: a configuration id in the grammar's shared
//     automaton (automaton.h) and an undo history, so making one costs
//     next to nothing; clone() when a request forks (n > 1) — the copies
//     share the grammar, its caches and its automaton, nothing else;
//   - before sampling a row: fill_mask(row_bits) (TokenVocab::mask_words()
//     words); the sampler sets the logits of tokens whose bit is 0 to -inf;
//     rows without a grammar are left alone;
//   - after sampling: accept_token(id); false means the token was not
//     allowed (a bug upstream or a forced token): end the sequence with an
//     error;
//   - EOS ids are in the mask only when is_complete(); stop the sequence when
//     is_finished() (EOS accepted, or the grammar allows no further byte).
// A Matcher is not thread-safe; different matchers of one grammar may run on
// different threads (each call locks the shared automaton briefly; a mask
// cache miss is computed outside that lock).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "yun/grammar/automaton.h"
#include "yun/grammar/compile.h"

namespace yun::grammar {

class Matcher {
 public:
  explicit Matcher(std::shared_ptr<const CompiledGrammar> g);
  Matcher(const Matcher&) = default;
  Matcher& operator=(const Matcher&) = default;
  Matcher clone() const { return *this; }

  // Consumes `bytes` if the grammar allows all of them (then true); else
  // leaves the state unchanged and returns false. Counts as one step for
  // rollback.
  bool accept_bytes(std::string_view bytes);
  // Consumes token `id`'s bytes; an EOS id is accepted only when
  // is_complete() and finishes the matcher. False (state unchanged) when
  // not allowed.
  bool accept_token(int32_t id);
  // Undoes the last n accepted steps (tokens or accept_bytes calls). False
  // when fewer steps were taken (nothing undone).
  bool rollback(size_t n);

  // The input so far is a complete sentence of the grammar (EOS allowed).
  bool is_complete() const;
  // Some byte may still follow.
  bool can_continue() const;
  // EOS was accepted, or the input is complete and nothing may follow.
  bool is_finished() const;
  // Bytes allowed next (for tests and debugging).
  ByteSet next_bytes() const;

  // Writes the allowed-token bitset: vocab().mask_words() words.
  // REQUIRES: the grammar was compiled with a vocabulary.
  void fill_mask(uint32_t* bitmask);
  // Whether token `id` would be accepted (no state change).
  bool token_allowed(int32_t id);

  // An id of the current parser configuration: within one matcher (and its
  // clones and rollbacks: one automaton), equal ids are equal states. For
  // searches in tests and tools.
  int32_t state_id() const { return eos_ ? -1 : cfg_; }

  const CompiledGrammar& grammar() const { return *g_; }

 private:
  // REQUIRES: a_->lock() held.
  bool step_bytes(std::string_view bytes, int32_t* cfg);

  std::shared_ptr<const CompiledGrammar> g_;
  std::shared_ptr<Automaton> a_;
  int32_t cfg_;
  bool eos_ = false;
  std::vector<int32_t> history_;  // configuration before each step; -1: the EOS step
};

}  // namespace yun::grammar
