// Engine: continuous batching over a paged KV cache, one engine thread.
//
// Callers on any thread submit() requests and abort() them; the engine thread
// loops schedule -> execute -> update and reports progress to each request's
// sink. Sinks run on the engine thread: they must be quick and never block
// (post the event to your own queue/strand).
//
// Memory: per-request memory grows with the tokens generated, never with
// max_tokens; when the engine thread goes idle after work it returns freed
// heap to the OS (malloc_trim, at most once a second).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/compute/model_runner.h"
#include "yun/engine/block_pool.h"
#include "yun/engine/request_meta.h"
#include "yun/engine/sampling_params.h"
#include "yun/engine/speculative_config.h"
#include "yun/text/tokenizer.h"

namespace yun {

enum class FinishReason { kStop, kLength, kAbort, kError };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "abort", "error"

// TokenLogprob (per generated token) is compute's: compute/sampling.h.

struct Usage {
  int32_t prompt_tokens = 0;
  int32_t cached_prompt_tokens = 0;  // prompt tokens served from the prefix cache
  int32_t completion_tokens = 0;
};

// One event for one sample (`index` < n) of a request.
struct RequestEvent {
  uint64_t request_id = 0;
  int32_t index = 0;                  // which of the n samples
  std::vector<int32_t> token_ids;     // new tokens since the last event
  std::string text;                   // new text since the last event (stop-string safe)
  std::vector<TokenLogprob> logprobs; // one per new token when requested
  std::optional<FinishReason> finish; // set on the last event of this sample
  std::string stop_reason;            // the stop string or id that ended it, if any
  Usage usage;                        // cumulative for this sample
  Status error;                       // when finish == kError
  // Timing, seconds since submit: first token / this event.
  double time_since_submit = 0;
  // Seconds from submit to the first step that scheduled the request (its
  // time in the waiting queue, vLLM's queued_time); -1 until then.
  double queue_time = -1;
  // Seconds from submit to this sample's first token; -1 before it.
  double first_token_time = -1;
  // RequestKind::kEmbed: the final event (finish kStop) carries the final
  // normed hidden state of the last prompt token (hidden_size floats, the
  // lm_head input: last-token pooling, NOT L2-normalized). Empty otherwise.
  std::vector<float> embedding;
};

using RequestSink = std::function<void(const RequestEvent&)>;

// kGenerate: prefill, then sample up to max_tokens. kEmbed (pooling): prefill
// only (chunked like any prompt, through the prefix cache like any prompt:
// it may hit and it commits its full blocks), nothing sampled, no KV kept
// after it; one final event with RequestEvent::embedding. Requires n == 1
// (max_tokens and the sampling fields are ignored) and a runner with
// supports_hidden_states().
enum class RequestKind { kGenerate, kEmbed };

struct GenerateRequest {
  std::vector<int32_t> prompt_ids;
  SamplingParams params;
  RequestSink sink;
  // Tenant, weight, priority, cache salt (request_meta.h). The {} lets
  // {prompt, params, sink} initializers leave it out without a warning.
  RequestMeta meta{};
  RequestKind kind = RequestKind::kGenerate;
};

struct EngineConfig {
  int32_t block_size = 16;
  int32_t num_kv_blocks = 0;        // 0: from kv_cache_memory
  int64_t kv_cache_memory = 0;      // bytes; 0 with num_kv_blocks 0: a default
  int32_t max_num_seqs = 256;
  int32_t max_num_batched_tokens = 2048;
  bool enable_prefix_cache = true;
  // Hybrid models (recurrent state) with the prefix cache: a snapshot of the
  // state every this many blocks (engine/state_snapshots.h; planned in the
  // KV budget, compute/kv_cache_plan.h). 4 blocks of 16 = one 64-token
  // delta-rule chunk.
  int32_t state_snapshot_interval = 4;
  int32_t max_model_len = 0;        // 0: from the config (max_position_embeddings)
  std::vector<int32_t> eos_token_ids;  // from the model's generation config
  // KV-cache events (block_pool.h): when set, every block the prefix cache
  // commits or evicts is reported once, in order, in batches (one call per
  // engine step that changed the cache). Runs on the engine thread: it must
  // only hand the batch to another thread (append to a queue). Empty: the
  // pool records nothing (no cost).
  std::function<void(std::vector<KvBlockEvent>&&)> kv_event_sink;
  // Speculative decoding with the model's MTP head (engine/speculative.h);
  // method "" is off. Requires a runner with supports_mtp().
  SpeculativeConfig speculative;
};

// Counters for /metrics and `yun bench` (read from any thread).
struct EngineStats {
  int64_t num_running = 0, num_waiting = 0;
  double kv_cache_usage = 0;  // fraction of blocks in use
  int64_t num_kv_blocks = 0;
  int64_t block_size = 0;                                   // tokens per KV block
  bool prefix_cache_enabled = false;                        // vllm:cache_config_info
  int64_t prefix_cache_queries = 0, prefix_cache_hits = 0;  // in tokens
  int64_t prompt_tokens_total = 0, generation_tokens_total = 0;
  int64_t num_preemptions = 0;
  // Hybrid prefix cache (engine/state_snapshots.h): snapshots held now, and
  // ever taken / restored (a prefix hit or a fork) / evicted for newer ones.
  int64_t num_state_snapshots = 0, state_snapshot_capacity = 0;
  int64_t state_snapshots_taken = 0, state_snapshot_restores = 0, state_snapshot_evictions = 0;
  int64_t steps = 0;
  int64_t memory_trims = 0;  // malloc_trim calls when idle (see engine.cc)
  // Speculative decoding: draft tokens verified, and accepted.
  int64_t spec_draft_tokens = 0, spec_accepted_tokens = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Starts the engine thread. `tokenizer` may be null (then stop strings and
  // event text are unavailable). Errors: kInvalidArgument for bad config,
  // kResourceExhausted when the KV cache cannot hold even one block.
  static Result<std::unique_ptr<Engine>> create(const EngineConfig& config,
                                                std::unique_ptr<ModelRunner> runner,
                                                std::shared_ptr<const Tokenizer> tokenizer);

  // Queues a request and returns its id. Validation errors (bad params or
  // meta, empty prompt, prompt + max_tokens past max_model_len, a prompt that can never fit
  // in the KV cache) come back here, before anything is queued.
  virtual Result<uint64_t> submit(GenerateRequest request) = 0;
  // Aborts a request (no-op when it already ended). Its sink gets a final
  // event with finish == kAbort; its blocks are freed at the next step.
  virtual void abort(uint64_t request_id) = 0;

  virtual EngineStats stats() const = 0;
  virtual const ModelConfig& model_config() const = 0;
  virtual int32_t max_model_len() const = 0;
  // Stops the thread after aborting everything still running.
  virtual void shutdown() = 0;
};

}  // namespace yun
