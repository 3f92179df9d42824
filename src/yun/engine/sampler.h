// Sampler: turns one row of logits into one token under a request's
// SamplingParams. Each sequence passes its own RNG, so a seeded request
// draws the same tokens whatever else is in the batch.
//
// Processing order (per row):
//   1. repetition_penalty over the set of prompt + output tokens (HF/vLLM:
//      logit > 0 ? logit / p : logit * p);
//   2. frequency/presence penalties over output token counts (OpenAI:
//      logit -= count * frequency + (count > 0) * presence);
//   3. `banned` ids (EOS/stop ids while output < min_tokens) -> -inf;
//   4. greedy (temperature 0): argmax (lowest id on ties). Otherwise
//      logits / temperature, then top-k, top-p, min-p truncation, softmax, draw.
// Logprobs are the log-softmax of the logits after steps 1-3 and temperature
// scaling (none when greedy), BEFORE top-k/top-p/min-p truncation.
//
// Thread: a Sampler has scratch buffers; use one per thread.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "yun/engine/engine.h"
#include "yun/engine/sampling_params.h"

namespace yun {

struct SampleResult {
  int32_t token = 0;
  TokenLogprob logprob;  // filled when params.logprobs >= 0
};

class Sampler {
 public:
  // `tokens` = prompt + output so far; the first `num_prompt` are the prompt.
  SampleResult sample(std::span<const float> logits, const SamplingParams& params,
                      std::span<const int32_t> tokens, int32_t num_prompt,
                      std::span<const int32_t> banned, std::mt19937_64& rng);

 private:
  std::vector<float> x_;        // processed logits
  std::vector<float> lp_;       // log-softmax
  std::vector<int32_t> idx_;    // candidate ids
  std::vector<double> weights_;  // unnormalized probabilities of idx_ (sampling)
  std::vector<int32_t> count_;  // output token counts (sparse reset)
  std::vector<uint8_t> seen_;   // prompt + output token set (sparse reset)
};

}  // namespace yun
