// Request parsing and validation for the OpenAI-compatible endpoints.
//
// parse_chat_request / parse_completion_request turn a request body into an
// OpenAiRequest, checking JSON syntax, UTF-8, field types and ranges; they
// need no model. resolve_sampling_params then applies the model's generation
// defaults and the context-length checks by the one rule of
// engine/sampling_defaults.h, which `yun run` uses too (its --prompts-file
// lines are parsed here, by parse_jsonl_request). Every failure is an
// ApiError (400 unless stated) naming the offending field in `param`.
// Unknown fields are ignored. Nothing here throws.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "yun/engine/sampling_defaults.h"
#include "yun/engine/sampling_params.h"
#include "yun/grammar/compile.h"
#include "yun/model/config.h"
#include "yun/serve/api_error.h"

namespace yun::serve {

struct OpenAiRequest {
  enum class Kind { kChat, kCompletion } kind = Kind::kChat;
  std::string model;  // empty when absent (then the default model)

  // Chat: messages normalized for the chat template (text parts joined,
  // tool_call arguments given as JSON strings parsed to objects).
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;      // null when absent
  std::string tool_choice = "auto";  // auto | none | required | function (tool_choice.h)
  std::string tool_choice_name;      // for "function"
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();
  bool add_generation_prompt = true;

  // Completions: either texts or token-id lists (one engine request each).
  std::vector<std::string> prompt_texts;
  std::vector<std::vector<int32_t>> prompt_ids;
  bool prompt_is_ids = false;
  bool echo = false;

  // Sampling; unset fields take the model's generation defaults.
  std::optional<double> temperature, top_p, min_p, repetition_penalty;
  std::optional<int32_t> top_k;
  double presence_penalty = 0, frequency_penalty = 0;
  std::optional<int64_t> max_tokens;
  int32_t n = 1;
  int32_t min_tokens = 0;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  std::optional<uint64_t> seed;
  int32_t logprobs = -1;  // -1: none; else top-N per token (chat: top_logprobs)
  bool ignore_eos = false;
  bool skip_special_tokens = true;

  // response_format.type: "text", "json_object" or "json_schema".
  std::string response_format = "text";
  // Structured output, from exactly one of response_format (json_object,
  // json_schema), vLLM's structured_outputs {json, regex, choice, grammar,
  // json_object} or the legacy guided_json / guided_regex / guided_choice /
  // guided_grammar; nullopt: none. `structured_param` names the field it came
  // from (errors compiling it name that field).
  std::optional<grammar::GrammarSpec> structured;
  std::string structured_param;
  // OpenAI logit_bias ("id": bias in [-100, 100]; ids checked against the
  // vocabulary later), vLLM allowed_token_ids and bad_words (words, tokenized
  // when the request is prepared).
  std::vector<std::pair<int32_t, float>> logit_bias;
  std::vector<int32_t> allowed_token_ids;
  std::vector<std::string> bad_words;

  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::string user;
};

constexpr int32_t kMaxN = 128;
// Prompts in one /v1/completions request, and prompts x n: sequences one
// request may start (vLLM's default max_num_seqs; more would only queue
// behind each other and hold the server for everyone else).
constexpr int32_t kMaxPrompts = 256;
constexpr int32_t kMaxSequencesPerRequest = 256;
constexpr int32_t kMaxLogprobs = 20;

// Parses a /v1/chat/completions body. Returns nullopt on success.
std::optional<ApiError> parse_chat_request(std::string_view body, OpenAiRequest& out);
// Parses a /v1/completions body. Returns nullopt on success.
std::optional<ApiError> parse_completion_request(std::string_view body, OpenAiRequest& out);

// Parses one line of `yun run --prompts-file` (an object from
// parse_json_object): a chat body ({"messages"}), a completions body
// ({"prompt"}) or {"prompt_ids": [...]} (a completions body whose prompt is
// those ids), with the same fields and checks as the HTTP endpoints.
// Returns nullopt on success.
std::optional<ApiError> parse_jsonl_request(const nlohmann::ordered_json& line,
                                            OpenAiRequest& out);
// Parses only the sampling fields shared by both endpoints (temperature ...
// stop, ignore_eos) from an object into `out` (`yun run`'s flags, as JSON).
std::optional<ApiError> parse_sampling_fields(const nlohmann::ordered_json& obj,
                                              OpenAiRequest& out);

// The request's sampling fields, as the engine's rule takes them.
SamplingRequest sampling_request(const OpenAiRequest& req);

// Builds the engine's SamplingParams for one prompt of `prompt_len` tokens by
// engine/sampling_defaults.h (request fields over the model's generation
// defaults over neutral ones; max_tokens defaults to the remaining context).
// Errors: prompt empty or longer than the context (param "messages" or
// "prompt"), max_tokens past it, anything SamplingParams::validate rejects.
std::optional<ApiError> resolve_sampling_params(const OpenAiRequest& req,
                                                const ModelConfig::GenerationDefaults& gen,
                                                int64_t prompt_len, int64_t max_model_len,
                                                SamplingParams& out);

// Checks token ids against the vocabulary (0 <= id < vocab_size).
std::optional<ApiError> check_token_ids(const std::vector<int32_t>& ids, int64_t vocab_size,
                                        const std::string& param);

// The 400 for a field of the wrong JSON type: "'FIELD' must be WANT, got
// TYPE" (null, boolean, number, string, array, object), param FIELD. Every
// body parser in serve words it so.
ApiError json_type_error(const std::string& field, const char* want,
                         const nlohmann::ordered_json& v);

// Parses a JSON body into an object, checking UTF-8 first.
std::optional<ApiError> parse_json_object(std::string_view body, nlohmann::ordered_json& out);

}  // namespace yun::serve
