// GrammarCache: one model's compiled structured-output grammars, by spec.
//
// The model's TokenVocab (grammar/token_vocab.h) is built once, on the first
// request that needs a grammar, from the tokenizer and EOS ids given then
// (later calls must describe the same model). Compiled grammars are kept in
// a bounded LRU by their key (the spec's kind and text): a cached grammar's
// mask cache stays warm for the next request with the same schema. Compile
// errors are not cached. Thread-safe; compiling runs outside the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "yun/base/status.h"
#include "yun/grammar/compile.h"
#include "yun/grammar/token_vocab.h"
#include "yun/text/tokenizer.h"

namespace yun::serve {

// What the vocabulary is built from.
struct VocabSource {
  const Tokenizer* tokenizer = nullptr;
  std::vector<int32_t> eos;  // ids allowed when the grammar is complete
  int32_t n_vocab = 0;       // the model's logit count (0: the tokenizer's)
};

class GrammarCache {
 public:
  using Compiled = std::shared_ptr<const grammar::CompiledGrammar>;
  // Builds a grammar under the cache's compile options.
  using Builder = std::function<Result<grammar::Grammar>(const grammar::CompileOptions&)>;

  explicit GrammarCache(size_t capacity = 64) : capacity_(capacity) {}

  // The options every grammar here is compiled with (time and size limits).
  static grammar::CompileOptions compile_options();

  // Errors: the compile's (kInvalidArgument naming the problem,
  // kResourceExhausted past the limits), or the vocabulary's.
  Result<Compiled> get(const grammar::GrammarSpec& spec, const VocabSource& source);
  // A grammar made by `build`, cached under `key` (distinct from spec keys).
  Result<Compiled> get(const std::string& key, const Builder& build, const VocabSource& source);

  size_t size() const;

 private:
  Result<std::shared_ptr<const grammar::TokenVocab>> vocab(const VocabSource& source);

  const size_t capacity_;
  mutable std::mutex mu_;
  std::shared_ptr<const grammar::TokenVocab> vocab_;  // GUARDED_BY(mu_)
  std::mutex vocab_build_mu_;                         // one vocabulary build at a time
  std::list<std::pair<std::string, Compiled>> lru_;   // most recent first; GUARDED_BY(mu_)
  std::unordered_map<std::string, std::list<std::pair<std::string, Compiled>>::iterator> index_;
};

}  // namespace yun::serve
