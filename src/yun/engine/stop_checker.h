// StopChecker: per-sample stop conditions and stop-string-safe streaming text.
//
// After each generated token, append() detokenizes it (when a tokenizer is
// given) and decides whether the sample ends:
//   - EOS ids (unless ignore_eos) and stop_token_ids -> kStop (only once
//     num_output >= min_tokens; the sampler also bans them before that);
//   - a stop string appearing in the output text -> kStop; the text is cut
//     right before the stop string, which is not returned;
//   - num_output == max_tokens or the sequence reaching max_model_len -> kLength.
// While streaming, a text tail that could be the start of a stop string is
// held back and released once it cannot be (or at the end).
//
// Thread: owned by the engine thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "yun/engine/engine.h"
#include "yun/text/detokenizer.h"

namespace yun {

struct StopDecision {
  std::string text;                    // text released by this token
  std::optional<FinishReason> finish;  // set when the sample ends here
  std::string stop_reason;             // the stop string or stop id (as text)
};

class StopChecker {
 public:
  // `tokenizer` may be null: no text, stop strings never match.
  StopChecker(std::shared_ptr<const SamplingParams> params, std::vector<int32_t> eos_ids,
              std::shared_ptr<const Tokenizer> tokenizer, int32_t max_model_len);

  // `token` was just appended: the sample now has `num_output` generated
  // tokens and `total_len` tokens in all.
  StopDecision append(int32_t token, int32_t num_output, int32_t total_len);
  // Releases whatever text is still held (for an end not caused by a stop
  // string, e.g. abort).
  std::string flush();
  // The ids that must not be sampled yet (min_tokens not reached).
  const std::vector<int32_t>& min_tokens_banned() const { return banned_; }

 private:
  std::shared_ptr<const SamplingParams> params_;
  std::vector<int32_t> eos_ids_;
  std::vector<int32_t> banned_;
  int32_t max_model_len_;
  std::unique_ptr<IncrementalDetokenizer> detok_;
  std::string held_;  // generated text not released yet
  size_t max_stop_len_ = 0;
  bool done_ = false;
};

}  // namespace yun
