// SpeculativeConfig: how the engine speculates (engine/speculative.h has
// the algorithm and its rules), parsed from vLLM's --speculative-config.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "yun/base/status.h"

namespace yun {

struct Sequence;

struct SpeculativeConfig {
  std::string method;                  // "" (off) or "mtp"
  int32_t num_speculative_tokens = 1;  // only 1
  int32_t disable_by_batch_size = 3;   // speculate in steps of fewer sequences
  // A sequence stops drafting (for good) once it has had probe_drafts drafts
  // with fewer than min_acceptance of them accepted: below that a draft and
  // a 2-row verify cost more than the tokens they save (yun's extension; 0:
  // never stop).
  double min_acceptance = 0.5;
  int32_t probe_drafts = 16;
  // Test hook: replaces each draft (the MTP head's argmax) before it is
  // verified, e.g. with the known greedy token (always accepted) or another
  // one (always rejected).
  std::function<int32_t(const Sequence& seq, int32_t draft)> draft_hook;

  bool enabled() const { return !method.empty(); }
  // State slots the speculator needs beyond max_num_seqs (its snapshots).
  int32_t spare_slots() const {
    return enabled() ? std::max(disable_by_batch_size - 1, 0) * num_speculative_tokens : 0;
  }
};

// Parses vLLM's --speculative-config JSON: {"method":"mtp",
// "num_speculative_tokens":1, "disable_by_batch_size":N} and yun's
// "min_acceptance" (in [0, 1]) and "probe_drafts" (>= 1); also accepts
// method "qwen3_5_mtp"/"qwen3_next_mtp" (vLLM's names for the same head).
// Errors: kInvalidArgument for malformed JSON, an unknown key or method,
// num_speculative_tokens other than 1, disable_by_batch_size < 2.
Result<SpeculativeConfig> parse_speculative_config(std::string_view json);

}  // namespace yun
