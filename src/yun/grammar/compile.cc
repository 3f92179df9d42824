#include "yun/grammar/compile.h"

#include "yun/grammar/ebnf.h"
#include "yun/grammar/json_schema.h"
#include "yun/grammar/regex.h"

namespace yun::grammar {

CompiledGrammar::CompiledGrammar(std::shared_ptr<const Grammar> g,
                                 std::shared_ptr<const TokenVocab> vocab, int cache_depth)
    : g_(std::move(g)), vocab_(std::move(vocab)) {
  if (vocab_) cache_ = std::make_unique<MaskCache>(g_, vocab_, cache_depth);
  automaton_ = std::make_shared<Automaton>(g_);
}

std::shared_ptr<Automaton> CompiledGrammar::automaton() const {
  std::lock_guard<std::mutex> lk(automaton_mu_);
  if (automaton_->full()) automaton_ = std::make_shared<Automaton>(g_);
  return automaton_;
}

Result<Grammar> build_grammar(const GrammarSpec& spec, const CompileOptions& options) {
  BuildLimits limits;
  limits.max_symbols = options.max_symbols;
  limits.deadline = std::chrono::steady_clock::now() + options.timeout;
  GrammarBuilder b(limits);
  int32_t root = -1;
  switch (spec.kind) {
    case GrammarSpec::kJsonSchema: {
      YUN_ASSIGN_OR_RETURN(root, add_json_schema(b, spec.text, options.json));
      break;
    }
    case GrammarSpec::kJsonObject: {
      YUN_ASSIGN_OR_RETURN(
          root,
          add_json_schema(b, R"({"type": "object", "additionalProperties": true})", options.json));
      break;
    }
    case GrammarSpec::kRegex: {
      YUN_ASSIGN_OR_RETURN(root, add_regex(b, spec.text, RegexMode::kRaw));
      break;
    }
    case GrammarSpec::kChoice: {
      if (spec.choices.empty()) return invalid_argument("choice: the list of choices is empty");
      root = b.new_rule("root");
      for (const std::string& c : spec.choices) b.add_alt(root, b.literal(c));
      break;
    }
    case GrammarSpec::kEbnf: {
      YUN_ASSIGN_OR_RETURN(root, add_ebnf(b, spec.text));
      break;
    }
  }
  return b.finish(root);
}

Result<std::shared_ptr<const CompiledGrammar>> compile(const GrammarSpec& spec,
                                                       std::shared_ptr<const TokenVocab> vocab,
                                                       const CompileOptions& options) {
  YUN_ASSIGN_OR_RETURN(Grammar g, build_grammar(spec, options));
  auto gp = std::make_shared<const Grammar>(std::move(g));
  return std::make_shared<const CompiledGrammar>(std::move(gp), std::move(vocab),
                                                 options.mask_cache_depth);
}

}  // namespace yun::grammar
