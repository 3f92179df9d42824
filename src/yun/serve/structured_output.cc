#include "yun/serve/structured_output.h"

#include <algorithm>
#include <set>

#include "yun/serve/reasoning_parser.h"
#include "yun/serve/tool_choice.h"

namespace yun::serve {

bool reasoning_precedes_output(const OpenAiRequest& req, std::string_view prompt) {
  if (ReasoningParser::prompt_opens_reasoning(prompt)) return true;
  // A template that turned thinking off writes an empty, closed block last.
  const std::string_view tail = prompt.substr(prompt.size() - std::min<size_t>(prompt.size(), 64));
  if (tail.find("</think>") != std::string_view::npos) return false;
  auto it = req.chat_template_kwargs.find("enable_thinking");
  return !(it != req.chat_template_kwargs.end() && it->is_boolean() && !it->get<bool>());
}

std::optional<ApiError> apply_structured_output(const OpenAiRequest& req,
                                                const StructuredOutputContext& ctx,
                                                GrammarCache& cache,
                                                std::vector<SamplingParams>& params) {
  const int64_t vocab_size = ctx.model ? ctx.model->vocab_size : 0;
  auto check_ids = [&](const std::vector<int32_t>& ids, const char* param) -> std::optional<ApiError> {
    if (vocab_size > 0) return check_token_ids(ids, vocab_size, param);
    return std::nullopt;
  };
  std::vector<int32_t> bias_ids;
  for (const auto& [id, b] : req.logit_bias) bias_ids.push_back(id);
  if (auto e = check_ids(bias_ids, "logit_bias")) return e;
  if (auto e = check_ids(req.allowed_token_ids, "allowed_token_ids")) return e;

  std::vector<std::vector<int32_t>> bad_words;
  if (!req.bad_words.empty()) {
    if (!ctx.tokenizer) return bad_request("'bad_words' needs the model's tokenizer", "bad_words");
    std::set<std::vector<int32_t>> seen;
    for (const std::string& w : req.bad_words) {
      // The word as it starts the text and as it follows a space.
      for (const std::string& text : {w, w[0] == ' ' ? w : " " + w}) {
        std::vector<int32_t> ids = ctx.tokenizer->encode(text);
        if (!ids.empty() && seen.insert(ids).second) bad_words.push_back(std::move(ids));
      }
    }
  }

  std::shared_ptr<const grammar::CompiledGrammar> g;
  if (ctx.strict_tool_call || req.structured) {
    if (!ctx.tokenizer || !ctx.model) {
      return bad_request("structured output needs the model's tokenizer",
                         ctx.strict_tool_call ? "tools" : req.structured_param);
    }
    VocabSource src;
    src.tokenizer = ctx.tokenizer;
    src.n_vocab = static_cast<int32_t>(std::max<int64_t>(ctx.model->vocab_size, ctx.tokenizer->vocab_size()));
    for (int64_t id : ctx.model->eos_token_ids) src.eos.push_back(static_cast<int32_t>(id));
    if (auto id = ctx.tokenizer->token_to_id(ctx.tokenizer->eos_token()))
      if (std::find(src.eos.begin(), src.eos.end(), *id) == src.eos.end()) src.eos.push_back(*id);
    Result<GrammarCache::Compiled> r =
        ctx.strict_tool_call
            ? cache.get("tools:" + req.tools.dump(),
                        [&req](const grammar::CompileOptions& o) { return tool_call_grammar(req.tools, o); },
                        src)
            : cache.get(*req.structured, src);
    if (!r.is_ok()) {
      const std::string param = ctx.strict_tool_call ? "tools" : req.structured_param;
      const char* what = r.status().code() == StatusCode::kResourceExhausted ? "too complex: " : "";
      return bad_request("invalid " + param + ": " + what + r.status().message(), param);
    }
    g = *r;
  }
  int32_t after = -1;
  if (g && ctx.reasoning_first) {
    auto id = ctx.tokenizer->token_to_id("</think>");
    if (id) after = *id;
  }
  for (SamplingParams& p : params) {
    p.grammar = g;
    p.grammar_after_token_id = after;
    p.logit_bias = req.logit_bias;
    p.allowed_token_ids = req.allowed_token_ids;
    p.bad_words_ids = bad_words;
  }
  return std::nullopt;
}

}  // namespace yun::serve
