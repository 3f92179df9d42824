// The one rule that turns a model's generation defaults and a request's
// sampling fields into SamplingParams, for every front door: `yun run`
// (flags and --prompts-file lines) and `yun serve` (the OpenAI endpoints).
//
// The rule, field by field (vLLM's, with one stated difference):
//  1. Neutral defaults, as vLLM and the OpenAI API: temperature 1, top_p 1,
//     top_k off, min_p 0, repetition_penalty 1.
//  2. The model's generation_config.json replaces them with its own
//     temperature, top_p, top_k, min_p and repetition_penalty (the fields
//     vLLM's get_diff_sampling_param reads). `do_sample: false` there makes
//     the model's default greedy (temperature 0) and leaves its other
//     sampling fields unused, as transformers decodes such a model (a request
//     that sets a temperature samples with the neutral top_p/top_k/min_p and
//     penalty); vLLM reads no do_sample, transformers and yun do.
//  3. Each field the request sets replaces the model's.
//  4. Greedy decoding (a resolved temperature of 0, whether the request or
//     the model asked for it) is the most likely token of the raw logits:
//     the model's default repetition_penalty belongs to its sampling
//     recommendation and is not applied then; a repetition_penalty the
//     request gives itself is. (vLLM keeps the model's penalty at
//     temperature 0; yun does not, so that temperature 0 means the same
//     tokens as transformers' greedy search with no penalty, in `run` and
//     `serve` alike.) top_p, top_k and min_p are reset to off at greedy.
//  5. max_tokens: the request's, which must fit in the context; else the
//     front door's default (`yun run`: 256; `serve`: none) capped by the
//     remaining context and by the model's max_new_tokens (as vLLM).
// Other fields (penalties, stops, seed, n, logprobs) come from the request
// only. Nothing here reads files or throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/engine/sampling_params.h"
#include "yun/model/config.h"

namespace yun {

// A request's sampling fields; an unset optional takes the model's default.
struct SamplingRequest {
  std::optional<double> temperature, top_p, min_p, repetition_penalty;
  std::optional<int32_t> top_k;
  std::optional<int64_t> max_tokens;
  double presence_penalty = 0, frequency_penalty = 0;
  int32_t n = 1;
  int32_t min_tokens = 0;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  std::optional<uint64_t> seed;
  int32_t logprobs = -1;
  bool ignore_eos = false;
  bool skip_special_tokens = true;
};

// What the rule needs to know about the prompt and the front door.
struct SamplingContext {
  int64_t prompt_len = 0;
  int64_t max_model_len = 0;
  // The front door's max_tokens when the request sets none; nullopt: the
  // remaining context.
  std::optional<int64_t> default_max_tokens;
};

// A failure of the rule: the request field at fault ("prompt",
// "max_tokens", "min_tokens", or the field SamplingParams::validate names)
// and a kInvalidArgument status saying why.
struct SamplingError {
  std::string field;
  Status status;
};

// Applies the rule above. Returns nullopt and fills `out` on success.
// Errors: an empty prompt or one that fills the context, max_tokens past the
// context, min_tokens over max_tokens, anything SamplingParams::validate
// rejects.
std::optional<SamplingError> resolve_sampling_params(const ModelConfig::GenerationDefaults& gen,
                                                     const SamplingRequest& req,
                                                     const SamplingContext& ctx,
                                                     SamplingParams& out);

// Steps 1-2 alone: the model's defaults before any request (for `yun show`
// and tests).
SamplingParams model_sampling_defaults(const ModelConfig::GenerationDefaults& gen);

}  // namespace yun
