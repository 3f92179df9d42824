// The request side of POST /v1/responses (OpenAI's Responses API): a body
// translated into the chat body it means, then parsed by the chat parser
// (request_parse.h), so every chat rule (sampling ranges, tools,
// tool_choice, response_format and its enforcement) holds here too.
//
//   input               a string (one user message) or a list of items:
//                       messages (type "message", or any item with a role;
//                       roles user, system, developer (-> system), assistant;
//                       content a string or input_text / output_text /
//                       refusal parts), function_call items (the assistant's
//                       tool_calls, merged into the assistant turn before
//                       them), function_call_output items (tool messages) and
//                       reasoning items (their summary/content text becomes
//                       the next assistant turn's reasoning_content).
//   instructions        a system message before the input.
//   tools               flat function tools {type:"function", name,
//                       description, parameters, strict} -> chat tools.
//   tool_choice         auto | none | required | {type:"function", name}.
//   text.format         text | json_object | json_schema {name, schema,
//                       strict, description} -> chat response_format.
//   reasoning.effort    "none"/"minimal" -> chat_template_kwargs
//                       enable_thinking false, other efforts -> true.
//   max_output_tokens   -> max_completion_tokens; temperature, top_p, stream,
//                       user as in chat.
//   store, metadata, parallel_tool_calls, truncation, include, service_tier,
//                       prompt_cache_key, safety_identifier: accepted.
// State is the route's (responses_state.h, response_store.h): it replaces
// previous_response_id and item_reference items with the stored items
// before this translation, which ignores previous_response_id and answers
// an item_reference it still finds with a 400; store is echoed (default
// true); conversation and background are 400s. Other item and tool types
// (images, files, built-in tools) are 400s naming them. Every error is an
// ApiError naming the Responses field (e.g. "input[2].call_id"). Nothing
// here throws.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "yun/serve/api_error.h"
#include "yun/serve/request_parse.h"

namespace yun::serve {

struct ResponsesRequest {
  OpenAiRequest chat;  // the same request as a parsed chat body (kind kChat, n 1)
  // The request fields a Response object repeats (instructions,
  // max_output_tokens, metadata, parallel_tool_calls, previous_response_id,
  // reasoning, store, temperature, text, tool_choice, tools, top_p,
  // truncation, user), with OpenAI's defaults where absent.
  nlohmann::ordered_json echo = nlohmann::ordered_json::object();
};

// Parses a /v1/responses body. Returns nullopt on success.
std::optional<ApiError> parse_responses_request(std::string_view body, ResponsesRequest& out);

// An error from the shared generation path (written for chat bodies) with
// its param (and those names in its message) renamed to the Responses
// field: messages -> input, max_tokens and max_completion_tokens ->
// max_output_tokens, response_format -> text.format.
ApiError responses_error(ApiError e);

}  // namespace yun::serve
