// Sequence: the state of one sample of one request as the scheduler sees it:
// its tokens (prompt + generated), how many of them have KV in the cache, its
// block table, and its per-sample RNG.
//
// Life cycle: kWaiting -> kRunning (admitted, maybe over several prefill
// chunks) -> kFinished; a preempted sequence goes back to kWaiting with no
// blocks and num_computed 0, and later recomputes prompt + generated tokens.
// Invariant: num_computed <= num_tokens(); while running, num_computed <
// num_tokens() (there is always at least one token to compute next).
//
// Thread: owned by the engine thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "yun/engine/request_meta.h"
#include "yun/engine/sampling_params.h"
#include "yun/grammar/matcher.h"

namespace yun {

struct RequestState;  // engine.cc: the request a sequence belongs to
class StopChecker;

enum class SeqStatus { kWaiting, kRunning, kFinished };

struct Sequence {
  uint64_t request_id = 0;
  int32_t index = 0;     // sample index within the request (< n)
  uint64_t arrival = 0;  // admission order key: larger is newer
  // Scheduler steps of the last admission / preemption (-1: never).
  int64_t admitted_step = -1, preempted_step = -1;
  std::shared_ptr<const SamplingParams> params;
  // The request's tenant, weight, priority (the scheduler's fair share) and
  // cache salt (the prefix cache's hash chain).
  RequestMeta meta;

  std::vector<int32_t> tokens;  // prompt + generated
  int32_t num_prompt_tokens = 0;
  int32_t num_computed = 0;  // leading tokens whose KV is in the cache
  std::vector<int32_t> block_table;
  // The runner's recurrent-state slot while the sequence holds blocks, on a
  // model with recurrent layers (engine/state_slots.h); -1 otherwise.
  int32_t state_slot = -1;
  // Hybrid prefix cache: the snapshot slot (engine/state_snapshots.h, pinned)
  // whose state the next forward pass continues from, after a prefix hit or
  // a fork's shared prompt blocks; -1 otherwise.
  int32_t restore_slot = -1;
  // Hashes of the leading full blocks committed to the prefix cache (chain).
  std::vector<uint64_t> block_hashes;
  SeqStatus status = SeqStatus::kWaiting;

  // Prompt tokens served from the prefix cache (or shared by a fork) the
  // first time this sequence was admitted; -1 before that.
  int32_t num_cached_prompt_tokens = -1;
  std::mt19937_64 rng;
  // Structured output (params->grammar): this sample's position in the
  // grammar, advanced by each generated token once `grammar_active` (from
  // the start, or after params->grammar_after_token_id was generated). It
  // reflects the generated tokens only: a preempted sequence recomputes its
  // KV but never re-feeds the matcher.
  std::optional<grammar::Matcher> matcher;
  bool grammar_active = false;

  RequestState* request = nullptr;  // engine bookkeeping (null in unit tests)
  // An embedding request (RequestKind::kEmbed): prefill only; the step that
  // computes its last prompt token pools that row's hidden state
  // (ScheduledSeq::pool) instead of sampling, and the engine finishes it.
  bool pooling = false;

  int32_t num_tokens() const { return static_cast<int32_t>(tokens.size()); }
  int32_t num_output() const { return num_tokens() - num_prompt_tokens; }
  int32_t last_token() const { return tokens.back(); }
};

}  // namespace yun
