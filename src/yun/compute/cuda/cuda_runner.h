// The CUDA ModelRunner: bf16 weights and KV cache on one GPU, float32
// residual stream and accumulation, cuBLASLt matmuls, CUDA graphs for decode.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "yun/base/status.h"
#include "yun/compute/model_runner.h"

namespace yun {

struct CudaRunnerOptions {
  int device = 0;
  // vLLM's meaning: the share of the device's TOTAL memory this process may
  // use for weights, activations and the KV cache; the cache gets what is
  // left (compute/kv_cache_plan.h gpu_kv_cache_bytes), capped by what the
  // engine can use (plan_kv_cache).
  double gpu_memory_utilization = 0.9;
  // Allocate the KV cache at creation (all the device gives, kv_block_size
  // tokens per block). create_runner turns it off: the engine plans with
  // plan_kv_cache() and allocates. allocate_kv_cache() with the current spec
  // keeps the allocation, and allocate_kv_cache({0, block_size}) auto-sizes again.
  bool auto_allocate_kv_cache = true;
  int kv_block_size = 16;
  // Capture decode steps (every sequence with one new token) in CUDA graphs,
  // one per batch-size bucket 1, 2, 4, ... max_graph_batch. Dense models only
  // (MoE routing synchronizes with the host).
  bool cuda_graphs = true;
  int max_graph_batch = 64;
  // Sample on the device (compute/cuda/sampling.cuh) the rows it can take
  // (greedy, or top-k <= 64 with temperature/top-p/min-p, without penalties,
  // banned ids or logprobs); the rest copy their logits row to the host for
  // CpuSampler. Off until scripts/gpu-check.sh has compared it with the host
  // path on a GPU; YUN_CUDA_SAMPLING=device|host overrides.
  bool device_sampling = false;
  // Initial activation capacity in tokens per step; grows on demand.
  int64_t max_num_tokens = 8192;
};

// Loads DIR (config + safetensors) onto the GPU: weights are copied from the
// memory-mapped files through two pinned staging buffers (copies overlapped
// with the host-side conversion of F16/F32 tensors to bf16).
// Errors: kUnavailable without a usable device; as load_model_config /
// WeightStore::open_dir / load_model_weights; kResourceExhausted when the
// weights do not fit.
Result<std::unique_ptr<ModelRunner>> create_cuda_runner(const std::string& model_dir,
                                                        const CudaRunnerOptions& options);

}  // namespace yun
