#include "yun/compute/kv_cache_plan.h"

#include <algorithm>
#include <limits>
#include <string>

namespace yun {

Result<KvCacheSpec> plan_kv_blocks(const KvCacheBudget& budget, size_t bytes_per_token,
                                   int64_t default_bytes) {
  if (budget.num_blocks < 0) return invalid_argument("num_kv_blocks must be >= 0");
  if (budget.memory_bytes < 0) return invalid_argument("kv_cache_memory must be >= 0");
  if (budget.block_size <= 0) return invalid_argument("block_size must be > 0");
  if (budget.state_snapshot_bytes < 0 || budget.state_snapshot_interval <= 0)
    return invalid_argument("state snapshots: bytes must be >= 0 and the interval > 0");
  KvCacheSpec spec;
  spec.block_size = budget.block_size;
  const int64_t snap = budget.state_snapshot_bytes, every = budget.state_snapshot_interval;
  if (budget.num_blocks > 0) {
    spec.num_blocks = budget.num_blocks;
    if (snap > 0) spec.num_state_snapshots = int32_t((budget.num_blocks + every - 1) / every);
    return spec;
  }
  const int64_t per_token = static_cast<int64_t>(std::max<size_t>(bytes_per_token, 1));
  const int64_t bytes_per_block = per_token * budget.block_size;
  int64_t bytes = budget.memory_bytes;
  if (bytes == 0) {
    const int64_t want = std::max<int64_t>(budget.max_model_len, 0) *
                         std::max<int64_t>(budget.max_num_seqs, 1) * per_token;
    bytes = std::min(default_bytes, want);
    if (default_bytes > 0) bytes = std::max(bytes, bytes_per_block);  // at least one block
  }
  int64_t blocks = bytes / bytes_per_block, snapshots = 0;
  if (snap > 0) {
    // A block and 1/every of a snapshot each (in 128-bit: no overflow).
    blocks = int64_t((__int128)bytes * every / ((__int128)bytes_per_block * every + snap));
    snapshots = (blocks + every - 1) / every;
    if (snapshots * snap > bytes / 2) {
      snapshots = (bytes / 2) / snap;
      blocks = (bytes - snapshots * snap) / bytes_per_block;
    }
  }
  if (blocks < 1) {
    return resource_exhausted("KV cache of " + std::to_string(bytes) +
                              " bytes cannot hold one block of " + std::to_string(bytes_per_block) +
                              " bytes");
  }
  spec.num_blocks =
      static_cast<int32_t>(std::min<int64_t>(blocks, std::numeric_limits<int32_t>::max()));
  spec.num_state_snapshots =
      static_cast<int32_t>(std::min<int64_t>(snapshots, std::numeric_limits<int32_t>::max()));
  return spec;
}

int64_t gpu_kv_cache_bytes(size_t total, size_t free, double utilization, size_t reserve) {
  const double allowed = double(total) * utilization;
  const double used = double(total - std::min(free, total));
  const double left = allowed - used - double(reserve);
  return left > 0 ? static_cast<int64_t>(left) : 0;
}

}  // namespace yun
