#include "yun/compute/cpu/kv_cache.h"

#include <new>

namespace yun {

Status CpuKvCache::allocate(int64_t layers, int64_t num_blocks, int64_t block_size,
                            int64_t kv_heads, int64_t head_dim) {
  k_.reset();
  v_.reset();
  num_blocks_ = block_size_ = token_stride_ = layer_stride_ = 0;
  if (layers <= 0 || num_blocks <= 0 || block_size <= 0 || kv_heads <= 0 || head_dim <= 0)
    return invalid_argument("KV cache: num_blocks and block_size must be positive");
  const int64_t token = kv_heads * head_dim;
  const int64_t limit = (int64_t(1) << 40) / 4;  // 1 TiB of floats per K or V
  if (num_blocks > limit / block_size / token / layers)
    return resource_exhausted("KV cache: " + std::to_string(num_blocks) + " blocks is too large");
  const int64_t layer = num_blocks * block_size * token;
  k_.reset(new (std::nothrow) float[size_t(layer * layers)]);
  v_.reset(new (std::nothrow) float[size_t(layer * layers)]);
  if (!k_ || !v_) {
    k_.reset();
    v_.reset();
    return resource_exhausted("KV cache: cannot allocate " + std::to_string(num_blocks) +
                              " blocks");
  }
  num_blocks_ = num_blocks;
  block_size_ = block_size;
  token_stride_ = token;
  layer_stride_ = layer;
  return Status::ok();
}

}  // namespace yun
