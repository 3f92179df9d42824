// Mixture-of-experts routing and combination (Qwen3-MoE). The expert
// matmuls themselves run through cuBLASLt per expert (cuda_runner.cc) on rows
// gathered by expert (embedding.cuh: gather_rows_bf16).
#pragma once

#include "yun/compute/cuda/cuda_common.h"

namespace yun::cuda {

// Per token t < T: p = softmax(router_logits[t, :E]) (float32); the top-k
// experts by p (ties: lower index first) go to topk_ids[t, :k] in descending
// order with weights topk_w[t, :k] = p (divided by their sum when renormalize).
// Bytes: T*E*4. REQUIRES: 1 <= k <= E <= 1024.
Status moe_route(const float* router_logits, int64_t T, int E, int k, bool renormalize,
                 int32_t* topk_ids, float* topk_w, cudaStream_t stream);

// residual[t, :] += sum_j topk_w[t, j] * float(expert_out[rows[t*k + j], :]),
// j < k, for t < T (expert_out [n_rows, H] holds each (token, expert) pair's
// output, rows maps pairs to it). No atomics: deterministic.
Status moe_combine(const bf16* expert_out, int64_t n_rows, const int32_t* rows,
                   const float* topk_w, int64_t T, int k, int64_t H, float* residual,
                   cudaStream_t stream);

}  // namespace yun::cuda
