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
  // Fraction of the device memory still free after weights and activation
  // buffers that the KV cache takes when it is sized automatically.
  double gpu_memory_utilization = 0.9;
  // Allocate the KV cache at creation (auto-sized, kv_block_size tokens per
  // block). kv_cache_spec() then tells the engine how many blocks there are;
  // allocate_kv_cache() with that same spec keeps the allocation, and
  // allocate_kv_cache({0, block_size}) auto-sizes again.
  bool auto_allocate_kv_cache = true;
  int kv_block_size = 16;
  // Capture decode steps (every sequence with one new token) in CUDA graphs,
  // one per batch-size bucket 1, 2, 4, ... max_graph_batch. Dense models only
  // (MoE routing synchronizes with the host).
  bool cuda_graphs = true;
  int max_graph_batch = 64;
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
