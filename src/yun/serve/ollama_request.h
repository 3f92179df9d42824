// Ollama's /api/chat and /api/generate bodies, translated into the OpenAI
// body that request_parse.h parses, so Ollama requests get exactly the
// validation, sampling rule, tool handling and structured output of
// /v1/chat/completions and /v1/completions (one parser, one rule).
//
// What maps to what (Ollama -> OpenAI body):
//   model                -> model ("NAME:latest" is NAME; see ollama_api.h)
//   messages[]           -> messages (role, content, tool_calls with object
//                           arguments, tool_name -> name; `thinking` dropped;
//                           non-empty `images` -> 400: no vision)
//   prompt, system       -> (generate) messages [system?, user prompt], the chat
//                           template applied as Ollama does; raw: true -> a
//                           completions body with the prompt as it is
//   tools                -> tools (the same shape)
//   format "json" | {..} -> response_format json_object | json_schema
//   think true/false     -> chat_template_kwargs.enable_thinking ("high",
//                           "medium", "low" count as true)
//   options.temperature, top_p, top_k, min_p, seed, stop, presence_penalty,
//   frequency_penalty    -> the same names; repeat_penalty -> repetition_penalty;
//   num_predict          -> max_tokens (negative: unset, the rest of the context);
//   other options (num_ctx, num_keep, mirostat, ...) are accepted and ignored
//   stream (default true)-> stream
//   keep_alive           -> keep_alive (checked, passed on as given)
// Refused with 400: suffix, template, context (send the conversation to
// /api/chat instead), images. Type errors name Ollama's field.
// Nothing here throws.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "yun/serve/api_error.h"

namespace yun::serve {

struct OllamaRequest {
  enum class Kind { kChat, kGenerate } kind = Kind::kChat;
  std::string model;  // as given; "" when absent (the default model)
  bool stream = true;
  // No messages / an empty prompt: Ollama's "load the model" request, answered
  // with done_reason "load" (or "unload" for keep_alive 0) and no generation.
  bool load_only = false;
  bool unload = false;  // keep_alive was 0
  // The translated body, for parse_chat_request (openai_chat) or
  // parse_completion_request (generate with raw: true).
  bool openai_chat = true;
  nlohmann::ordered_json openai_body = nlohmann::ordered_json::object();
};

// Translate an /api/chat or /api/generate body. Returns nullopt on success.
std::optional<ApiError> translate_ollama_chat(std::string_view body, OllamaRequest& out);
std::optional<ApiError> translate_ollama_generate(std::string_view body, OllamaRequest& out);

// Ollama's keep_alive: a number of seconds, or a duration string ("5m",
// "1h30m", "10s", "-1", "0"). Returns nullopt when valid; `zero` is set when
// it means "unload now".
std::optional<ApiError> check_keep_alive(const nlohmann::ordered_json& v, bool* zero = nullptr);

// Strips Ollama's default tag: "NAME:latest" -> "NAME"; other names unchanged.
std::string ollama_model_name(const std::string& name);

}  // namespace yun::serve
