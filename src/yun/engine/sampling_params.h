// SamplingParams: per-request generation settings, named as in the OpenAI
// API and vLLM so the server maps them one to one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/compute/sampling.h"
#include "yun/grammar/compile.h"

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

  // Structured output: the generated tokens follow this grammar (its
  // vocabulary must be the model's). Each sample walks its own matcher; EOS
  // is allowed only when the grammar is complete, and the sample ends with
  // kStop once the grammar is finished; a token the grammar refuses ends it
  // with kError. Null: unconstrained.
  std::shared_ptr<const grammar::CompiledGrammar> grammar;
  // >= 0: the grammar applies only after this token has been generated (the
  // reasoning end, Qwen3's </think>, when the prompt leaves <think> open);
  // -1: from the first generated token.
  int32_t grammar_after_token_id = -1;
  // OpenAI logit_bias: (id, bias in [-100, 100]) added to the logits.
  std::vector<std::pair<int32_t, float>> logit_bias;
  // vLLM allowed_token_ids: only these may be generated (empty: any).
  std::vector<int32_t> allowed_token_ids;
  // vLLM bad_words as token-id sequences: a one-token word is never
  // generated; for a longer one, its last token is banned right after the
  // others were generated.
  std::vector<std::vector<int32_t>> bad_words_ids;

  // Checks ranges (token ids against `vocab_size` when > 0). Errors:
  // kInvalidArgument naming the field.
  Status validate(int64_t vocab_size = 0) const;
  // The numeric settings the runner samples with (compute/sampling.h).
  const SamplingOptions& sampling_options() const { return *this; }
};

}  // namespace yun
