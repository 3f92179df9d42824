#include "yun/engine/sampling_defaults.h"

#include <algorithm>
#include <climits>

namespace yun {
namespace {

SamplingError error(std::string field, std::string message) {
  return {std::move(field), invalid_argument(std::move(message))};
}

// The field SamplingParams::validate names first in its message.
std::string field_of(const Status& s) {
  const std::string& m = s.message();
  return m.substr(0, m.find(' '));
}

}  // namespace

SamplingParams model_sampling_defaults(const ModelConfig::GenerationDefaults& g) {
  SamplingParams p;  // step 1: the neutral defaults
  if (g.do_sample && !*g.do_sample) {
    p.temperature = 0;
    return p;
  }
  p.temperature = g.temperature.value_or(p.temperature);
  p.top_p = g.top_p.value_or(p.top_p);
  p.top_k = static_cast<int32_t>(g.top_k.value_or(p.top_k));
  p.min_p = g.min_p.value_or(p.min_p);
  p.repetition_penalty = g.repetition_penalty.value_or(p.repetition_penalty);
  return p;
}

std::optional<SamplingError> resolve_sampling_params(const ModelConfig::GenerationDefaults& gen,
                                                     const SamplingRequest& req,
                                                     const SamplingContext& ctx,
                                                     SamplingParams& p) {
  p = model_sampling_defaults(gen);
  if (req.temperature) p.temperature = *req.temperature;
  if (req.top_p) p.top_p = *req.top_p;
  if (req.top_k) p.top_k = *req.top_k;
  if (req.min_p) p.min_p = *req.min_p;
  if (p.top_k == 0) p.top_k = -1;
  if (p.greedy()) {  // step 4: the raw argmax, unless the request asks for more
    p.repetition_penalty = 1.0;
    p.top_p = 1.0;
    p.top_k = -1;
    p.min_p = 0.0;
  }
  if (req.repetition_penalty) p.repetition_penalty = *req.repetition_penalty;
  p.presence_penalty = req.presence_penalty;
  p.frequency_penalty = req.frequency_penalty;
  p.seed = req.seed;
  p.n = req.n;
  p.min_tokens = req.min_tokens;
  p.ignore_eos = req.ignore_eos;
  p.stop_token_ids = req.stop_token_ids;
  p.stop = req.stop;
  p.skip_special_tokens = req.skip_special_tokens;
  p.logprobs = req.logprobs;

  const int64_t len = ctx.prompt_len, max_len = ctx.max_model_len;
  if (len <= 0) return error("prompt", "the prompt is empty");
  if (len >= max_len) {
    return error("prompt", "This model's maximum context length is " + std::to_string(max_len) +
                               " tokens. However, your request has " + std::to_string(len) +
                               " input tokens. Please reduce the length of the input messages.");
  }
  const int64_t remaining = max_len - len;
  if (req.max_tokens) {
    if (*req.max_tokens > remaining) {
      return error("max_tokens",
                   "This model's maximum context length is " + std::to_string(max_len) +
                       " tokens. However, you requested " + std::to_string(*req.max_tokens + len) +
                       " tokens (" + std::to_string(len) + " in the messages, " +
                       std::to_string(*req.max_tokens) +
                       " in the completion). Please reduce the length of the messages or "
                       "completion.");
    }
    p.max_tokens = static_cast<int32_t>(*req.max_tokens);
  } else {
    int64_t m = ctx.default_max_tokens.value_or(remaining);
    if (gen.max_new_tokens && *gen.max_new_tokens > 0) m = std::min(m, *gen.max_new_tokens);
    p.max_tokens = static_cast<int32_t>(std::clamp<int64_t>(std::min(m, remaining), 1, INT32_MAX));
  }
  if (p.min_tokens > p.max_tokens) {
    return error("min_tokens", "'min_tokens' must not exceed 'max_tokens'");
  }
  if (Status s = p.validate(); !s.is_ok()) return SamplingError{field_of(s), s};
  return std::nullopt;
}

}  // namespace yun
