// SamplingParams: per-request generation settings, named as in the OpenAI
// API and vLLM so the server maps them one to one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/compute/sampling.h"

namespace yun {

struct SamplingParams {
  double temperature = 1.0;   // 0: greedy
  double top_p = 1.0;         // (0, 1]
  int32_t top_k = -1;         // -1 or 0: off
  double min_p = 0.0;         // [0, 1]
  double presence_penalty = 0.0;    // [-2, 2], OpenAI semantics
  double frequency_penalty = 0.0;   // [-2, 2]
  double repetition_penalty = 1.0;  // > 0, HF/vLLM semantics (prompt + output tokens)
  std::optional<uint64_t> seed;     // makes a request reproducible in any batch
  int32_t n = 1;                    // samples per prompt (share the prompt's KV blocks)

  int32_t max_tokens = 16;          // completion tokens at most
  int32_t min_tokens = 0;           // EOS/stop ids ignored before this many
  bool ignore_eos = false;
  std::vector<int32_t> stop_token_ids;
  std::vector<std::string> stop;    // stop strings, matched on detokenized text
  bool skip_special_tokens = true;  // for the text of the output
  // Top-N log-probabilities per generated token; -1: none; 0: only the chosen.
  int32_t logprobs = -1;

  // Checks ranges. Errors: kInvalidArgument naming the field.
  Status validate() const;
  bool greedy() const { return temperature <= 0.0; }
  // The numeric settings the runner samples with (compute/sampling.h).
  SamplingOptions sampling_options() const;
};

}  // namespace yun
