// KV cache planning: how many blocks of block_size tokens a runner's KV cache
// gets, from the engine's budget. The runner owns the decision
// (ModelRunner::plan_kv_cache); these are the rules, as pure functions so
// they are tested without a model or a device.
//
//   budget.num_blocks > 0:    exactly that many;
//   budget.memory_bytes > 0:  memory_bytes / (bytes_per_token * block_size);
//   both 0 (default):         min(default_bytes, max_model_len * max_num_seqs *
//                             bytes_per_token) worth of blocks, at least one
//                             block unless default_bytes is 0.
// default_bytes is the backend's: kDefaultKvCacheCap (1 GiB) on the CPU; on a
// GPU what gpu_kv_cache_bytes() leaves under --gpu-memory-utilization.
//
// Hybrid models with the prefix cache (budget.state_snapshot_bytes > 0):
// the same bytes also hold the recurrent-state snapshots
// (engine/state_snapshots.h), one per state_snapshot_interval blocks, each
// state_snapshot_bytes. With num_blocks given, that many blocks plus
// ceil(num_blocks / interval) snapshots. Otherwise a block costs its KV plus
// 1/interval of a snapshot, so that every interval-th block of the pool can
// keep one; but the snapshots take at most half of the bytes (then as many
// as fit in that half, and the blocks the rest): a snapshot is a whole
// sequence's state, so without that bound a model whose state dwarfs its KV
// would serve little context.
#pragma once

#include <cstddef>
#include <cstdint>

#include "yun/base/status.h"

namespace yun {

constexpr int64_t kDefaultKvCacheCap = int64_t{1} << 30;  // 1 GiB

struct KvCacheSpec {
  int32_t num_blocks = 0;
  int32_t block_size = 16;
  int32_t num_state_snapshots = 0;  // recurrent-state snapshots (hybrids, prefix cache)
};

// What the engine asks for (EngineConfig's KV knobs plus the context it serves).
struct KvCacheBudget {
  int32_t block_size = 16;
  int32_t num_blocks = 0;     // > 0: exactly this many blocks
  int64_t memory_bytes = 0;   // > 0: this many bytes of blocks
  int64_t max_model_len = 0;  // with max_num_seqs: the most the engine can use
  int32_t max_num_seqs = 1;
  // Hybrid models: bytes of one recurrent-state snapshot (0: none planned)
  // and the blocks between two snapshots.
  int64_t state_snapshot_bytes = 0;
  int32_t state_snapshot_interval = 1;
};

// The rule above. Errors: kInvalidArgument for negative sizes or block_size
// <= 0; kResourceExhausted when the result is not even one block (an explicit
// memory_bytes below one block, or default_bytes 0).
Result<KvCacheSpec> plan_kv_blocks(const KvCacheBudget& budget, size_t bytes_per_token,
                                   int64_t default_bytes);

// vLLM's --gpu-memory-utilization: the process may use `utilization` of the
// device's total memory, for everything. Given the device's total and free
// bytes after the weights and activation buffers are in place, returns what
// is left for the KV cache: total * utilization - (total - free) - reserve
// (reserve: cuBLAS workspaces, graphs, fragmentation), or 0 when nothing is.
// REQUIRES: 0 < utilization <= 1, free <= total.
int64_t gpu_kv_cache_bytes(size_t total, size_t free, double utilization, size_t reserve);

}  // namespace yun
