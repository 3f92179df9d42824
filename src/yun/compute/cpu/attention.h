// Causal GQA attention over the paged KV cache, for one layer of a ragged
// batch (see compute/forward_batch.h). The new K/V of the batch must already
// be written into the cache.
#pragma once

#include <cstdint>

#include "yun/base/thread_pool.h"
#include "yun/compute/forward_batch.h"

namespace yun {

struct AttentionShape {
  int64_t num_heads = 0;     // query heads
  int64_t num_kv_heads = 0;  // divides num_heads
  int64_t head_dim = 0;
  int64_t block_size = 0;
  int64_t token_stride = 0;  // floats per cached token (num_kv_heads * head_dim)
};

// q: [total_tokens, num_heads * head_dim]; out: same shape. Row j of sequence
// s (at position context_len - num_tokens + j) attends to positions 0..that
// position of s, read from k_cache/v_cache (one layer's area of CpuKvCache).
// Softmax in float32 with max subtraction, scale 1/sqrt(head_dim).
// REQUIRES: the batch was validated (block tables cover context_len).
void paged_attention(const ForwardBatch& batch, const AttentionShape& shape, const float* q,
                     const float* k_cache, const float* v_cache, float* out, ThreadPool& pool);

}  // namespace yun
