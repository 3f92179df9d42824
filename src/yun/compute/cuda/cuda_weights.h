// Model weights on the device: every tensor bf16, Q|K|V and gate|up fused
// (rows concatenated) so that each is one GEMM.
#pragma once

#include <vector>

#include "yun/compute/cuda/cuda_common.h"
#include "yun/model/config.h"
#include "yun/model/weights.h"

namespace yun::cuda {

struct DeviceLayer {
  bf16 *input_norm = nullptr, *post_norm = nullptr;
  bf16 *qkv_w = nullptr, *qkv_b = nullptr;  // [Q + 2KV, H], optional [Q + 2KV]
  bf16 *o_w = nullptr, *o_b = nullptr;      // [H, Q], optional [H]
  bf16 *q_norm = nullptr, *k_norm = nullptr;  // optional [head_dim]
  bf16 *gate_up_w = nullptr, *down_w = nullptr;  // [2I, H], [H, I]
  bf16 *gate_up_b = nullptr, *down_b = nullptr;  // llama mlp_bias
  bool moe = false;
  bf16* router = nullptr;                            // [E, H]
  std::vector<bf16*> expert_gate_up, expert_down;    // [2I_moe, H], [H, I_moe] per expert
};

struct DeviceWeights {
  DeviceWeights() = default;
  ~DeviceWeights();
  DeviceWeights(const DeviceWeights&) = delete;
  DeviceWeights& operator=(const DeviceWeights&) = delete;

  bf16 *embed = nullptr, *lm_head = nullptr, *final_norm = nullptr;  // lm_head == embed when tied
  std::vector<DeviceLayer> layers;
  bool any_moe = false;
  size_t bytes = 0;               // device bytes held
  std::vector<void*> allocs;      // freed by the destructor
};

// Copies `w` (views into the mmap'd checkpoint) to the current device through
// two pinned staging buffers, converting F16/F32 to bf16 on the host while the
// previous chunk is in flight. REQUIRES: out is empty.
// Errors: kResourceExhausted (device memory), kInvalidArgument (dtype).
Status upload_weights(const ModelConfig& config, const ModelWeights& w, DeviceWeights* out);

}  // namespace yun::cuda
