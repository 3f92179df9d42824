// Structured output and token constraints of a request as the engine takes
// them (engine/sampling_params.h: grammar, grammar_after_token_id,
// logit_bias, allowed_token_ids, bad_words_ids).
//
// The grammar is, in order of precedence: a strict forced tool call's
// (tool_choice.h: tool_call_grammar over req.tools), else the request's
// structured output (request_parse.h: response_format, structured_outputs,
// guided_*). It is compiled once per model and spec through a GrammarCache.
// When the model reasons first (reasoning_precedes_output), the grammar
// starts after the "</think>" token.
//
// Errors (400): a schema keyword or grammar the compiler cannot enforce, or
// a compile past its time/size limit (the message names the problem, the
// param the field it came from); a logit_bias / allowed_token_ids id outside
// the vocabulary.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "yun/engine/sampling_params.h"
#include "yun/model/config.h"
#include "yun/serve/api_error.h"
#include "yun/serve/grammar_cache.h"
#include "yun/serve/request_parse.h"
#include "yun/text/tokenizer.h"

namespace yun::serve {

struct StructuredOutputContext {
  const Tokenizer* tokenizer = nullptr;  // null: no grammars, no bad_words
  const ModelConfig* model = nullptr;    // vocab_size, eos_token_ids
  bool strict_tool_call = false;         // ForcedToolCall::strict
  bool reasoning_first = false;          // reasoning_precedes_output(...)
};

// With a reasoning parser on: whether the reply to `rendered_prompt` starts
// with reasoning the grammar must not apply to (the prompt leaves <think>
// open, or it has not closed one at its end and thinking is not turned off
// by chat_template_kwargs.enable_thinking = false).
bool reasoning_precedes_output(const OpenAiRequest& req, std::string_view rendered_prompt);

// Sets the constraint fields of every element of `params`.
std::optional<ApiError> apply_structured_output(const OpenAiRequest& req,
                                                const StructuredOutputContext& ctx,
                                                GrammarCache& cache,
                                                std::vector<SamplingParams>& params);

}  // namespace yun::serve
