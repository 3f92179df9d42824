// Paged attention over the KV cache for a ragged batch: decode rows, prefill
// rows (causal) and prefix-cache hits alike. Every query row attends to
// positions [0, positions[t]] of its sequence, read from the cache (this
// step's K/V must have been written first: kv_cache.cuh).
#pragma once

#include "yun/compute/cuda/cuda_common.h"

namespace yun::cuda {

struct PagedAttentionArgs {
  const bf16* q = nullptr;        // [T, q_stride]; head h at h*head_dim
  int64_t q_stride = 0;
  const bf16* k_cache = nullptr;  // [num_slots, num_kv_heads, head_dim]
  const bf16* v_cache = nullptr;
  const int32_t* positions = nullptr;     // [T] position of each row
  const int32_t* token_seq = nullptr;     // [T] sequence index of each row
  const int32_t* block_tables = nullptr;  // [num_seqs, bt_stride] block ids
  int32_t bt_stride = 0;
  int32_t block_size = 0;
  int64_t T = 0;
  int num_q_heads = 0, num_kv_heads = 0, head_dim = 0;
  float scale = 0.f;       // softmax scale, usually 1/sqrt(head_dim)
  bf16* out = nullptr;     // [T, out_stride]; head h at h*head_dim
  int64_t out_stride = 0;
  // Split-K along the keys (long contexts, few rows): num_splits > 1 needs
  // workspace of attention_workspace_floats(T, num_q_heads, head_dim, num_splits).
  int num_splits = 1;
  float* workspace = nullptr;
};

// Floats of workspace split-K needs (0 when num_splits == 1).
int64_t attention_workspace_floats(int64_t T, int num_q_heads, int head_dim, int num_splits);

// One block of 4 warps per (row, kv head, group of up to 8 query heads, split):
// GQA-aware (each K/V row is read once for all query heads sharing it), online
// softmax in float32. Bytes (decode): ~ctx * kv_size * 4 per sequence.
// REQUIRES: head_dim <= 256, num_q_heads % num_kv_heads == 0, 1 <= num_splits <= 64.
// The block tables must cover positions[t] + 1 positions.
Status paged_attention(const PagedAttentionArgs& a, cudaStream_t stream);

}  // namespace yun::cuda
