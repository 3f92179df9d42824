// ModelRunner: a loaded model on some device plus its paged KV cache; runs
// one forward pass per engine step and samples its logit rows. The engine
// owns one and calls it from the engine thread only, so implementations need
// no locks. Runners are made by create_runner (compute/runner_factory.h).
//
// Per engine: plan_kv_cache(budget) -> allocate_kv_cache(spec) once, then
// forward(batch, sampling, results) per step.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/compute/cpu/sampler.h"
#include "yun/compute/forward_batch.h"
#include "yun/compute/kv_cache_plan.h"
#include "yun/compute/sampling.h"
#include "yun/model/config.h"
#include "yun/model/dtype.h"

namespace yun {

enum class QuantScheme : int;  // model/quant_scheme.h

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;

  virtual const ModelConfig& config() const = 0;
  // "cpu" or "cuda:0", for logs and /version.
  virtual std::string device_name() const = 0;

  // Bytes of KV cache one token takes (all layers, K and V).
  virtual size_t kv_bytes_per_token() const = 0;
  // How many blocks this runner's KV cache gets for `budget` (the rules in
  // compute/kv_cache_plan.h with this backend's default: 1 GiB here, the
  // device memory left under gpu_memory_utilization on a GPU). Allocates
  // nothing. Errors: as plan_kv_blocks.
  virtual Result<KvCacheSpec> plan_kv_cache(const KvCacheBudget& budget) const {
    return plan_kv_blocks(budget, kv_bytes_per_token(), kDefaultKvCacheCap);
  }
  // (Re)allocates the KV cache. Previous contents are lost.
  virtual Status allocate_kv_cache(const KvCacheSpec& spec) = 0;
  // The cache as allocated (num_blocks 0 before allocate_kv_cache).
  virtual KvCacheSpec kv_cache_spec() const = 0;

  // Per-sequence recurrent state (hybrid models: the conv state and the
  // delta-rule state of every linear-attention layer, float32), in slots
  // numbered 0..num_slots-1 that the engine hands to its running sequences
  // (SeqSlice::state_slot). A model without linear-attention layers has none:
  // 0 bytes, and the calls below succeed and do nothing.
  //
  // Contract of a slot: it holds the state after the tokens the runner has
  // run for it; a slice that starts at position 0 resets it first (a new or
  // preempted sequence: recompute from scratch); a slice that starts at
  // position p > 0 must find the slot at exactly p, else forward() fails
  // with kInvalidArgument (so a prefix-cache hit without a state snapshot can
  // never give wrong output). Prefix-cache snapshots are slots too: a slice
  // copies its state into others as it runs (SeqSlice::captures) and may
  // start from one (SeqSlice::restore_slot); engine/state_snapshots.h.
  virtual size_t state_bytes_per_slot() const { return 0; }
  // (Re)sizes the table to `num_slots` (the engine: max_num_seqs, plus the
  // planned KvCacheSpec::num_state_snapshots); drops all
  // state. Memory is taken per slot on first use. Errors: kInvalidArgument
  // for num_slots < 0.
  virtual Status allocate_state_slots(int32_t num_slots) {
    return num_slots < 0 ? invalid_argument("negative number of state slots") : Status::ok();
  }
  // Zeroes slot `slot` (position 0). Copies slot src into dst (n > 1 forks
  // that continue from the same state). Errors: kInvalidArgument for a slot
  // out of range (on a model with state).
  virtual Status reset_state_slot(int32_t /*slot*/) { return Status::ok(); }
  virtual Status copy_state_slot(int32_t /*src*/, int32_t /*dst*/) { return Status::ok(); }

  // Runs the batch: writes each sequence's new K/V into its blocks, and returns
  // float32 logits, one row of vocab_size per entry of batch.logit_rows, in
  // `logits` (resized to logit_rows.size() * vocab_size). With
  // batch.hidden_rows, also keeps those rows' final normed hidden states for
  // hidden_states().
  // REQUIRES: block tables cover context_len; block ids < num_blocks.
  // Errors: kInvalidArgument for a malformed batch (checked, never UB);
  // kUnimplemented for hidden_rows on a runner without supports_hidden_states().
  virtual Status forward(const ForwardBatch& batch, std::vector<float>& logits) = 0;

  // Runs the batch and samples: results[i] is the token drawn from logit row
  // i (batch.logit_rows[i]) under sampling[i] (compute/sampling.h), with its
  // logprobs when asked. The same tokens as CpuSampler over forward()'s
  // logits; this default does exactly that on the host. A device runner
  // overrides it to sample where the logits are.
  // Errors: as forward; kInvalidArgument when sampling.size() !=
  // batch.logit_rows.size() or a non-greedy row has no RNG.
  virtual Status forward(const ForwardBatch& batch, std::span<const RowSampling> sampling,
                         std::vector<SampleResult>& results);

  // Whether forward() can return batch.hidden_rows (embeddings).
  virtual bool supports_hidden_states() const { return false; }
  // The final normed hidden states (after the last RMSNorm, before lm_head:
  // not L2-normalized) of the last forward() call's batch.hidden_rows,
  // row-major [hidden_rows.size() x hidden_size], in hidden_rows order; empty
  // when that batch asked for none. Valid until the next forward call.
  virtual std::span<const float> hidden_states() const { return {}; }

  // Speculative decoding with the model's MTP head (Qwen3.5 `mtp.*`; a
  // runner made with CpuRunnerOptions::load_mtp). Its attention layer keeps
  // its own K/V as one more layer of the paged cache (kv_bytes_per_token
  // counts it), at the same positions and blocks as the main model.
  virtual bool supports_mtp() const { return false; }
  // Runs the MTP head over `batch` (same shape rules as forward(); no state
  // slots are read): row r's input is the embedding of batch.token_ids[r]
  // (the token AFTER that row's position) and the final normed hidden state
  // of row hidden_src[r] of the last forward() call (any row of it); returns
  // the draft logits of batch.logit_rows. Errors: kInvalidArgument for a
  // malformed batch or hidden_src; kUnimplemented without supports_mtp().
  virtual Status mtp_forward(const ForwardBatch& /*batch*/, std::span<const int32_t> /*hidden_src*/,
                             std::vector<float>& /*logits*/) {
    return unimplemented("this runner has no MTP head");
  }

  // Frees per-step scratch that grew with the largest batch (the host logits:
  // up to max_num_seqs x vocab floats); the engine calls it when it goes
  // idle. The next step allocates again. Overrides call this one too.
  virtual void release_scratch() { host_logits_ = std::vector<float>(); }

 protected:
  // forward() + CpuSampler over the host logits: the default above, and a
  // device runner's fallback for rows its device sampler does not handle.
  Status forward_then_sample_on_host(const ForwardBatch& batch,
                                     std::span<const RowSampling> sampling,
                                     std::vector<SampleResult>& results);

 private:
  std::vector<float> host_logits_;
  CpuSampler host_sampler_;
};

struct CpuRunnerOptions {
  int num_threads = 0;  // 0: all hardware threads
  // Round matmul inputs to bf16 (MatmulPrecision::kBF16 in compute/cpu/matmul.h):
  // ~2x faster prefill and batched decode on CPUs with AVX512_BF16, at the cost
  // of the 1e-4 agreement with transformers. Off by default.
  bool bf16_activations = false;
  // Read the weights into memory backed by transparent huge pages instead of
  // mapping the files (FileLoad::kReadHugePages): faster decode, slower start.
  bool read_weights = false;
  // Re-encode the matrices at load (--quantize q8_0): a block format of
  // model/weight_format.h with an encoder, or kF32 for none. Matrices whose
  // rows are not whole blocks keep their format.
  DType quantize = DType::kF32;
  // Or a mixed scheme (--quantize q4_k / q4_k_m: model/quant_scheme.h),
  // applied instead of `quantize` when set.
  std::optional<QuantScheme> quantize_scheme;
  // Load the MTP head (speculative decoding; ModelRunner::supports_mtp).
  // Errors at load when the checkpoint has none.
  bool load_mtp = false;
};

// Loads DIR (config + safetensors, memory-mapped unless read_weights), or a
// GGUF file (model/gguf_model.h), for the CPU. The KV cache is not allocated yet: call
// allocate_kv_cache. Errors as load_model_config / WeightStore::open_dir / load_model_weights.
Result<std::unique_ptr<ModelRunner>> create_cpu_runner(const std::string& model_dir,
                                                       const CpuRunnerOptions& options);

}  // namespace yun
