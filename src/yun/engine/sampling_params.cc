#include "yun/engine/sampling_params.h"

#include <cmath>

#include "yun/engine/engine.h"

namespace yun {

Status SamplingParams::validate(int64_t vocab_size) const {
  auto bad = [](const std::string& field, const std::string& why) {
    return invalid_argument(field + " " + why);
  };
  if (!std::isfinite(temperature) || temperature < 0) return bad("temperature", "must be >= 0");
  if (!(top_p > 0.0 && top_p <= 1.0)) return bad("top_p", "must be in (0, 1]");
  if (top_k < -1) return bad("top_k", "must be -1, 0 (off) or positive");
  if (!(min_p >= 0.0 && min_p <= 1.0)) return bad("min_p", "must be in [0, 1]");
  if (!(presence_penalty >= -2.0 && presence_penalty <= 2.0)) {
    return bad("presence_penalty", "must be in [-2, 2]");
  }
  if (!(frequency_penalty >= -2.0 && frequency_penalty <= 2.0)) {
    return bad("frequency_penalty", "must be in [-2, 2]");
  }
  if (!(repetition_penalty > 0.0) || !std::isfinite(repetition_penalty)) {
    return bad("repetition_penalty", "must be > 0");
  }
  if (n < 1 || n > 128) return bad("n", "must be in [1, 128]");
  if (max_tokens < 1) return bad("max_tokens", "must be >= 1");
  if (min_tokens < 0) return bad("min_tokens", "must be >= 0");
  if (min_tokens > max_tokens) return bad("min_tokens", "must be <= max_tokens");
  if (logprobs < -1 || logprobs > 20) return bad("logprobs", "must be in [0, 20]");
  for (const auto& s : stop) {
    if (s.empty()) return bad("stop", "strings must not be empty");
  }
  auto bad_id = [vocab_size](int32_t id) { return id < 0 || (vocab_size > 0 && id >= vocab_size); };
  auto range = [vocab_size] {
    return vocab_size > 0 ? "must be token ids in [0, " + std::to_string(vocab_size) + ")"
                          : std::string("must be token ids >= 0");
  };
  for (const auto& [id, b] : logit_bias) {
    if (bad_id(id)) return bad("logit_bias", "keys " + range() + ", got " + std::to_string(id));
    if (!(b >= -100.0f && b <= 100.0f)) return bad("logit_bias", "values must be in [-100, 100]");
  }
  for (int32_t id : allowed_token_ids) {
    if (bad_id(id)) return bad("allowed_token_ids", range() + ", got " + std::to_string(id));
  }
  for (const auto& w : bad_words_ids) {
    if (w.empty()) return bad("bad_words", "must not be empty");
    for (int32_t id : w)
      if (bad_id(id)) return bad("bad_words", range() + ", got " + std::to_string(id));
  }
  if (grammar && !grammar->vocab()) return bad("grammar", "was compiled without a vocabulary");
  if (grammar && vocab_size > 0 && grammar->vocab()->n_vocab() < vocab_size) {
    return bad("grammar", "was compiled for a vocabulary of " +
                              std::to_string(grammar->vocab()->n_vocab()) + " tokens, not " +
                              std::to_string(vocab_size));
  }
  if (grammar_after_token_id < -1 || bad_id(std::max(grammar_after_token_id, 0))) {
    return bad("grammar_after_token_id", "must be -1 or a token id");
  }
  return Status::ok();
}

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kAbort:
      return "abort";
    case FinishReason::kError:
      return "error";
  }
  return "error";
}

}  // namespace yun
