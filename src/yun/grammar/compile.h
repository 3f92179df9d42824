// Compiling a structured-output request into a grammar, and the compiled
// grammar the matchers share.
//
// Inputs (GrammarSpec::Kind):
//   kJsonSchema  a JSON Schema (json_schema.h states the keywords enforced;
//                any other validation keyword is an error naming it)
//   kJsonObject  any JSON object (response_format {"type": "json_object"})
//   kRegex       a regular expression over the output text (regex.h states the subset)
//   kChoice      exactly one of `choices`
//   kEbnf        a GBNF-style grammar text (ebnf.h)
// Errors are kInvalidArgument naming the problem (the keyword, the offset in
// a regex or grammar), or kResourceExhausted when the compile passes
// CompileOptions' time or size limit.
//
// A CompiledGrammar is immutable but for its shared, internally locked
// caches (the mask cache and the automaton) and meant to be cached per model
// by the spec (kind + text): compile once, make one Matcher per sequence; a
// Matcher is a small state in the grammar's shared automaton.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/grammar/automaton.h"
#include "yun/grammar/grammar.h"
#include "yun/grammar/mask_cache.h"
#include "yun/grammar/token_vocab.h"

namespace yun::grammar {

struct GrammarSpec {
  enum Kind { kJsonSchema, kJsonObject, kRegex, kChoice, kEbnf };
  Kind kind = kJsonObject;
  std::string text;                  // schema / regex / grammar text
  std::vector<std::string> choices;  // kChoice
};

struct JsonOptions {
  // Whitespace allowed between JSON tokens (after '{', '[', ',' and ':' and
  // before '}' and ']'): at most max_whitespace bytes of space, newline,
  // tab. 0: compact JSON only. Never before the value or after it.
  int max_whitespace = 12;
};

struct CompileOptions {
  std::chrono::milliseconds timeout{1000};
  size_t max_symbols = 2'000'000;
  JsonOptions json;
  int mask_cache_depth = MaskCache::kDefaultDepth;
};

class CompiledGrammar {
 public:
  CompiledGrammar(std::shared_ptr<const Grammar> g, std::shared_ptr<const TokenVocab> vocab,
                  int cache_depth);

  const Grammar& grammar() const { return *g_; }
  const std::shared_ptr<const Grammar>& grammar_ptr() const { return g_; }
  // Null when compiled without a vocabulary (byte-level matching only).
  const TokenVocab* vocab() const { return vocab_.get(); }
  MaskCache& mask_cache() const { return *cache_; }
  // The automaton new matchers start in (shared by all of them; a fresh one
  // once it passes its bound, automaton.h). Thread-safe.
  std::shared_ptr<Automaton> automaton() const;

 private:
  std::shared_ptr<const Grammar> g_;
  std::shared_ptr<const TokenVocab> vocab_;
  std::unique_ptr<MaskCache> cache_;
  mutable std::mutex automaton_mu_;
  mutable std::shared_ptr<Automaton> automaton_;  // guarded by automaton_mu_
};

// Spec -> Grammar (no vocabulary needed).
Result<Grammar> build_grammar(const GrammarSpec& spec, const CompileOptions& options = {});

// Spec -> CompiledGrammar for a vocabulary (may be null: then fill_mask is
// unavailable).
Result<std::shared_ptr<const CompiledGrammar>> compile(const GrammarSpec& spec,
                                                       std::shared_ptr<const TokenVocab> vocab,
                                                       const CompileOptions& options = {});

}  // namespace yun::grammar
