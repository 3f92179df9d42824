// KV cache sizing: how many blocks the pool gets.
//
//   num_kv_blocks > 0:  exactly that many;
//   kv_cache_memory > 0: kv_cache_memory / (kv_bytes_per_token * block_size);
//   both 0 (default):    min(1 GiB, max_model_len * max_num_seqs *
//                        kv_bytes_per_token) worth of blocks.
// Errors: kInvalidArgument for negative sizes, kResourceExhausted when the
// result is not even one block.
#pragma once

#include <cstddef>
#include <cstdint>

#include "yun/base/status.h"
#include "yun/engine/engine.h"

namespace yun {

constexpr int64_t kDefaultKvCacheCap = int64_t{1} << 30;  // 1 GiB

Result<int32_t> compute_num_kv_blocks(const EngineConfig& config, size_t kv_bytes_per_token,
                                      int32_t max_model_len);

}  // namespace yun
