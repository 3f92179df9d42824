// Feed-forward blocks of the decoder: the SwiGLU MLP (down(silu(gate(x)) * up(x)))
// and the Qwen3-MoE sparse block (softmax router, top-k, optional renormalization,
// weighted sum of the picked experts' SwiGLU MLPs).
#pragma once

#include <cstdint>
#include <vector>

#include "yun/base/thread_pool.h"
#include "yun/compute/cpu/matmul.h"

namespace yun {

struct SwigluWeights {
  WeightMatrix gate, up, down;  // [I, H], [I, H], [H, I]
  const float* gate_bias = nullptr;  // optional [I]
  const float* up_bias = nullptr;    // optional [I]
  const float* down_bias = nullptr;  // optional [H]
};

// Scratch reused across calls (grows, never shrinks).
struct MlpScratch {
  std::vector<float> gate, up;           // [rows, I]
  std::vector<float> router;             // [rows, E]
  std::vector<float> xe, ye;             // gathered rows of one expert
  std::vector<int32_t> expert_rows;      // [rows * k] row ids grouped by expert
  std::vector<float> expert_weight;      // matching routing weights
  std::vector<int32_t> expert_count;     // [E]
  std::vector<int32_t> expert_start;     // [E + 1] prefix sums of expert_count
  std::vector<int32_t> expert_fill;      // [E] insertion cursors
  std::vector<int32_t> topk_id;          // [rows * k]
  std::vector<float> topk_w;             // [rows * k]
  std::vector<float> shared_y, shared_g;  // shared expert output [rows, H], gate [rows]
};

// y[rows, H] = SwiGLU(x[rows, H]).
void swiglu_mlp(const float* x, int64_t rows, const SwigluWeights& w, float* y,
                MlpScratch& scratch, ThreadPool& pool);

struct MoeWeights {
  WeightMatrix router;  // [E, H]
  std::vector<SwigluWeights> experts;
  int64_t top_k = 0;
  bool norm_topk_prob = false;
  // Qwen3.5: a shared expert every token runs, scaled by
  // sigmoid(shared_gate · x) (shared_gate [1, H]); unused when shared_gate.data is null.
  SwigluWeights shared;
  WeightMatrix shared_gate{DType::kF32, nullptr, 0, 0};
};

// y[rows, H] = sum over the top-k experts of routing weight * expert(x)
// (+ the gated shared expert when there is one).
void moe_mlp(const float* x, int64_t rows, int64_t hidden, const MoeWeights& w, float* y,
             MlpScratch& scratch, ThreadPool& pool);

}  // namespace yun
