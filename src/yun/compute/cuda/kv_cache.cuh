// Writing this step's K and V rows into the paged KV cache.
#pragma once

#include "yun/compute/cuda/cuda_common.h"

namespace yun::cuda {

// Cache layout, per layer: k_cache/v_cache [num_slots, kv_size] bf16 where
// slot = block_id * block_size + offset and kv_size = num_kv_heads * head_dim
// (heads contiguous inside a slot).
// For t < T with 0 <= slots[t] < num_slots:
//   k_cache[slots[t]] = qkv[t, k_offset : k_offset + kv_size]
//   v_cache[slots[t]] = qkv[t, v_offset : v_offset + kv_size]
// Rows with a negative slot (padding) are skipped. Bytes: T*kv_size*8.
Status kv_cache_write(const bf16* qkv, int64_t T, int64_t stride, int64_t k_offset,
                      int64_t v_offset, int64_t kv_size, const int32_t* slots, bf16* k_cache,
                      bf16* v_cache, int64_t num_slots, cudaStream_t stream);

}  // namespace yun::cuda
