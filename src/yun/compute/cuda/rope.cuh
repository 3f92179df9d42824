// Rotary position embedding (NeoX / rotate_half layout, as Hugging Face Qwen
// and Llama), fused with the per-head q/k RMSNorm of Qwen3.
#pragma once

#include "yun/compute/cuda/cuda_common.h"

namespace yun::cuda {

// In place on the fused QKV rows: row t of `qkv` (row stride `stride`
// elements) holds nq query heads then nkv key heads (then the values, not
// touched), each `head_dim` wide. For each of those heads x:
//   x = rmsnorm(x) * norm_w   (when q_norm / k_norm != nullptr; eps)
//   angle_i = float(positions[t]) * inv_freq[i], i < head_dim/2
//   x[i], x[i+d/2] = x[i]*c - x[i+d/2]*s, x[i+d/2]*c + x[i]*s
// where c, s = cos, sin(angle_i) * attn_scaling (YaRN's attention factor; 1 else).
// inv_freq (device, [head_dim/2] float) holds the default / linear / YaRN /
// Llama-3 frequencies (compute/rope_freqs.h). Bytes: T*(nq+nkv)*head_dim*4.
// REQUIRES: head_dim even, stride >= (nq+nkv)*head_dim.
Status rope_qk(bf16* qkv, int64_t T, int64_t stride, int nq, int nkv, int head_dim,
               const int32_t* positions, const float* inv_freq, float attn_scaling,
               const bf16* q_norm, const bf16* k_norm, float eps, cudaStream_t stream);

}  // namespace yun::cuda
