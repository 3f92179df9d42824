// JSON builders for OpenAI-shaped responses (chat.completion,
// chat.completion.chunk, text_completion, models, usage, logprobs) and SSE
// framing. Pure functions over plain data; no engine calls.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "yun/engine/engine.h"
#include "yun/serve/tool_parser.h"
#include "yun/serve/tool_stream_parser.h"
#include "yun/text/tokenizer.h"

namespace yun::serve {

using OJson = nlohmann::ordered_json;

// Serializes with invalid UTF-8 replaced (never throws on text).
std::string dump_json(const OJson& j);
// "data: <json>\n\n".
std::string sse_event(const OJson& j);
inline const char* kSseDone = "data: [DONE]\n\n";

// "chatcmpl-<hex>", "cmpl-<hex>".
std::string make_request_id(const std::string& prefix);
int64_t unix_time_now();

OJson usage_json(int64_t prompt_tokens, int64_t completion_tokens, int64_t cached_tokens);

// The text of one token for logprobs (UTF-8-sanitized) and its raw bytes.
std::string token_text(const Tokenizer* tok, int32_t id);
OJson token_bytes_json(const Tokenizer* tok, int32_t id);

// Chat format: {"content": [{token, logprob, bytes, top_logprobs: [...]}], "refusal": null}.
OJson chat_logprobs_json(const Tokenizer* tok, const std::vector<TokenLogprob>& lps);
// Completions format: {tokens, token_logprobs, top_logprobs, text_offset};
// offsets start at `text_offset`.
OJson completion_logprobs_json(const Tokenizer* tok, const std::vector<TokenLogprob>& lps,
                               int64_t text_offset);

OJson tool_calls_json(const std::vector<ToolCall>& calls);
OJson tool_call_delta_json(const ToolCallDelta& d);

}  // namespace yun::serve
