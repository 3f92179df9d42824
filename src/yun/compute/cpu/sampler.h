// CpuSampler: turns one row of float32 logits into one token under a row's
// SamplingOptions (compute/sampling.h), on the host. Each row passes its own
// RNG, so a seeded request draws the same tokens whatever else is in the
// batch. It is the reference every device sampler is compared with, and the
// fallback a runner uses for what its device sampler cannot do.
//
// Processing order (per row):
//   0. the allowed-token mask (RowSampling::allowed): tokens whose bit is 0
//      -> -inf; then logit_bias added to the raw logits (OpenAI);
//   1. repetition_penalty over the set of prompt + output tokens (HF/vLLM:
//      logit > 0 ? logit / p : logit * p);
//   2. frequency/presence penalties over output token counts (OpenAI:
//      logit -= count * frequency + (count > 0) * presence);
//   3. `banned` ids (EOS/stop ids while output < min_tokens, bad words) -> -inf;
//   4. greedy (temperature 0): argmax (lowest id on ties). Otherwise
//      logits / temperature, then top-k, top-p, min-p truncation, softmax, draw.
// A row whose every token is masked or banned still yields a token (id 0 when
// greedy): the caller that set the mask sees the token refused (a grammar's
// matcher) and ends the sequence.
// Logprobs are the log-softmax of the logits after steps 0-3 and temperature
// scaling (none when greedy), BEFORE top-k/top-p/min-p truncation.
//
// Randomness: exactly one std::generate_canonical<double> draw from the row's
// RNG per non-greedy row (none when greedy), u in [0, 1); the token is the
// first candidate (best first) whose cumulative weight exceeds u * sum.
//
// Thread: a CpuSampler has scratch buffers; use one per thread.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "yun/base/status.h"
#include "yun/compute/sampling.h"

namespace yun {

class CpuSampler {
 public:
  // `tokens` = prompt + output so far; the first `num_prompt` are the prompt.
  // REQUIRES: logits non-empty.
  SampleResult sample(std::span<const float> logits, const SamplingOptions& options,
                      std::span<const int32_t> tokens, int32_t num_prompt,
                      std::span<const int32_t> banned, std::mt19937_64& rng);
  SampleResult sample(std::span<const float> logits, const RowSampling& row);

  // Samples rows.size() rows of `vocab` logits each (row i at logits + i * vocab)
  // into `out` (resized). Errors: kInvalidArgument when logits.size() is not
  // rows.size() * vocab, or a non-greedy row has no RNG.
  Status sample_rows(std::span<const float> logits, int64_t vocab,
                     std::span<const RowSampling> rows, std::vector<SampleResult>& out);

 private:
  std::vector<float> x_;         // processed logits
  std::vector<float> lp_;        // log-softmax
  std::vector<int32_t> idx_;     // candidate ids
  std::vector<double> weights_;  // unnormalized probabilities of idx_ (sampling)
  std::vector<int32_t> count_;   // output token counts (sparse reset)
  std::vector<uint8_t> seen_;    // prompt + output token set (sparse reset)
};

}  // namespace yun
