// ModelRunner: a loaded model on some device plus its paged KV cache; runs
// one forward pass per engine step. The engine owns one and calls it from the
// engine thread only, so implementations need no locks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/compute/forward_batch.h"
#include "yun/model/config.h"

namespace yun {

struct KvCacheSpec {
  int32_t num_blocks = 0;
  int32_t block_size = 16;
};

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;

  virtual const ModelConfig& config() const = 0;
  // "cpu" or "cuda:0", for logs and /version.
  virtual std::string device_name() const = 0;

  // Bytes of KV cache one token takes (all layers, K and V).
  virtual size_t kv_bytes_per_token() const = 0;
  // (Re)allocates the KV cache. Previous contents are lost.
  virtual Status allocate_kv_cache(const KvCacheSpec& spec) = 0;
  virtual KvCacheSpec kv_cache_spec() const = 0;

  // Runs the batch: writes each sequence's new K/V into its blocks, and returns
  // float32 logits, one row of vocab_size per entry of batch.logit_rows, in
  // `logits` (resized to logit_rows.size() * vocab_size).
  // REQUIRES: block tables cover context_len; block ids < num_blocks.
  // Errors: kInvalidArgument for a malformed batch (checked, never UB).
  virtual Status forward(const ForwardBatch& batch, std::vector<float>& logits) = 0;
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
};

// Loads DIR (config + safetensors, memory-mapped unless read_weights) for the
// CPU. The KV cache is not allocated yet: call allocate_kv_cache. Errors as
// load_model_config / WeightStore::open_dir / load_model_weights.
Result<std::unique_ptr<ModelRunner>> create_cpu_runner(const std::string& model_dir,
                                                       const CpuRunnerOptions& options);

}  // namespace yun
