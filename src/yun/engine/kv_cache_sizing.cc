#include "yun/engine/kv_cache_sizing.h"

#include <algorithm>
#include <limits>

namespace yun {

Result<int32_t> compute_num_kv_blocks(const EngineConfig& config, size_t kv_bytes_per_token,
                                      int32_t max_model_len) {
  if (config.num_kv_blocks < 0) return invalid_argument("num_kv_blocks must be >= 0");
  if (config.kv_cache_memory < 0) return invalid_argument("kv_cache_memory must be >= 0");
  if (config.block_size <= 0) return invalid_argument("block_size must be > 0");
  if (config.num_kv_blocks > 0) return config.num_kv_blocks;
  const int64_t bytes_per_block =
      static_cast<int64_t>(std::max<size_t>(kv_bytes_per_token, 1)) * config.block_size;
  int64_t bytes = config.kv_cache_memory;
  if (bytes == 0) {
    const int64_t want = static_cast<int64_t>(max_model_len) *
                         std::max<int64_t>(config.max_num_seqs, 1) *
                         static_cast<int64_t>(std::max<size_t>(kv_bytes_per_token, 1));
    bytes = std::min(kDefaultKvCacheCap, want);
    bytes = std::max(bytes, bytes_per_block);  // at least one block
  }
  int64_t blocks = bytes / bytes_per_block;
  if (blocks < 1) {
    return resource_exhausted("KV cache of " + std::to_string(bytes) +
                              " bytes cannot hold one block of " + std::to_string(bytes_per_block) +
                              " bytes");
  }
  return static_cast<int32_t>(std::min<int64_t>(blocks, std::numeric_limits<int32_t>::max()));
}

}  // namespace yun
