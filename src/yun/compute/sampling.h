// Sampling inputs and outputs of a runner step, as plain data.
//
// The engine owns requests (SamplingParams, sequences, RNGs, stop rules); the
// runner samples. Between them, one RowSampling per logit row of a
// ForwardBatch says how to turn that row into a token, and one SampleResult
// per row comes back. Nothing here refers to requests or the engine: the
// views (`tokens`, `banned`) and the RNG belong to the caller and must stay
// valid for the duration of the call.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace yun {

// The numeric sampling settings of one row, named as in OpenAI / vLLM
// (engine/sampling_params.h: SamplingParams extends this, so the engine
// hands a request's settings to the runner as they are).
struct SamplingOptions {
  double temperature = 1.0;         // <= 0: greedy
  double top_p = 1.0;               // (0, 1]
  int32_t top_k = -1;               // <= 0: off
  double min_p = 0.0;               // [0, 1]
  double presence_penalty = 0.0;    // OpenAI semantics, output tokens only
  double frequency_penalty = 0.0;   // OpenAI semantics, output tokens only
  double repetition_penalty = 1.0;  // HF/vLLM semantics, prompt + output tokens
  int32_t logprobs = -1;            // top-N logprobs; -1: none; 0: only the chosen token

  bool greedy() const { return temperature <= 0.0; }
};

// How to sample one logit row.
struct RowSampling {
  SamplingOptions options;
  // Prompt + output tokens so far (for the penalties); the first
  // `num_prompt` are the prompt.
  std::span<const int32_t> tokens;
  int32_t num_prompt = 0;
  // Ids that must not be drawn this step (EOS / stop ids before min_tokens,
  // banned words).
  std::span<const int32_t> banned;
  // Allowed-token bitmask (a grammar's mask, allowed_token_ids): token t may
  // be drawn iff bit t % 32 of allowed[t / 32] is 1; tokens past
  // allowed.size() * 32 may not. Empty: no mask.
  std::span<const uint32_t> allowed;
  // (id, bias) pairs added to the raw logits (OpenAI logit_bias); ids outside
  // the row are ignored.
  std::span<const std::pair<int32_t, float>> logit_bias;
  // The row's own generator, so a seeded request draws the same tokens in any
  // batch. Required unless options.greedy(); one uniform is drawn per
  // non-greedy row.
  std::mt19937_64* rng = nullptr;

  // Something changes the row's logits before truncation and the draw
  // (penalties, banned ids, a mask, a bias): a device sampler that reads the
  // raw row must leave this row to the host sampler.
  bool edits_logits() const {
    return options.repetition_penalty != 1.0 || options.frequency_penalty != 0.0 ||
           options.presence_penalty != 0.0 || !banned.empty() || !allowed.empty() ||
           !logit_bias.empty();
  }
  // Greedy with nothing that needs more than the argmax of the raw row
  // (no edits_logits(), no logprobs): what a device argmax can do.
  bool plain_greedy() const { return options.greedy() && !edits_logits() && options.logprobs < 0; }
};

struct TokenLogprob {
  int32_t token_id = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // top-N (id, logprob), best first
};

struct SampleResult {
  int32_t token = 0;
  TokenLogprob logprob;  // filled when options.logprobs >= 0
};

}  // namespace yun
