#include "yun/serve/grammar_cache.h"

namespace yun::serve {

grammar::CompileOptions GrammarCache::compile_options() {
  grammar::CompileOptions o;
  o.timeout = std::chrono::milliseconds(1000);
  return o;
}

Result<std::shared_ptr<const grammar::TokenVocab>> GrammarCache::vocab(const VocabSource& source) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (vocab_) return vocab_;
  }
  std::lock_guard<std::mutex> build(vocab_build_mu_);
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (vocab_) return vocab_;
  }
  if (!source.tokenizer) return invalid_argument("structured output needs the model's tokenizer");
  YUN_ASSIGN_OR_RETURN(auto v, grammar::TokenVocab::from_tokenizer(*source.tokenizer, source.eos,
                                                                   source.n_vocab));
  std::lock_guard<std::mutex> lk(mu_);
  vocab_ = v;
  return vocab_;
}

Result<GrammarCache::Compiled> GrammarCache::get(const grammar::GrammarSpec& spec,
                                                 const VocabSource& source) {
  std::string key = "spec:" + std::to_string(int(spec.kind)) + ":";
  if (spec.kind == grammar::GrammarSpec::kChoice) {
    for (const std::string& c : spec.choices) key += std::to_string(c.size()) + ":" + c;
  } else {
    key += spec.text;
  }
  return get(key, [&spec](const grammar::CompileOptions& o) { return grammar::build_grammar(spec, o); },
             source);
}

Result<GrammarCache::Compiled> GrammarCache::get(const std::string& key, const Builder& build,
                                                 const VocabSource& source) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  YUN_ASSIGN_OR_RETURN(auto v, vocab(source));
  const grammar::CompileOptions options = compile_options();
  YUN_ASSIGN_OR_RETURN(grammar::Grammar g, build(options));
  Compiled c = std::make_shared<const grammar::CompiledGrammar>(
      std::make_shared<const grammar::Grammar>(std::move(g)), v, options.mask_cache_depth);
  std::lock_guard<std::mutex> lk(mu_);
  if (auto it = index_.find(key); it != index_.end()) return it->second->second;  // a racing compile won
  lru_.emplace_front(key, c);
  index_[key] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return c;
}

size_t GrammarCache::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return lru_.size();
}

}  // namespace yun::serve
