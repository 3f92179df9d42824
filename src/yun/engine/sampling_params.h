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

// The numeric settings the runner samples with (temperature, top_p, top_k,
// min_p, the three penalties, logprobs) are the SamplingOptions base, so the
// two never drift apart; the fields below are what only the engine reads.
// Defaults are vLLM's neutral ones; engine/sampling_defaults.h resolves a
// model's and a request's settings into one of these.
struct SamplingParams : SamplingOptions {
  std::optional<uint64_t> seed;     // makes a request reproducible in any batch
  int32_t n = 1;                    // samples per prompt (share the prompt's KV blocks)

  int32_t max_tokens = 16;          // completion tokens at most
  int32_t min_tokens = 0;           // EOS/stop ids ignored before this many
  bool ignore_eos = false;
  std::vector<int32_t> stop_token_ids;
  std::vector<std::string> stop;    // stop strings, matched on detokenized text
  bool skip_special_tokens = true;  // for the text of the output

  // Checks ranges. Errors: kInvalidArgument naming the field.
  Status validate() const;
  // The numeric settings the runner samples with (compute/sampling.h).
  const SamplingOptions& sampling_options() const { return *this; }
};

}  // namespace yun
