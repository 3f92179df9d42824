// Tiled causal attention for prefill rows (whole prompts, chunks on top of a
// cached prefix), reading K/V from the paged cache.
#pragma once

#include "yun/compute/cuda/attention.cuh"

namespace yun::cuda {

// Query rows handled by one block: a tile is up to this many consecutive rows
// of one sequence.
constexpr int kPrefillTileRows = 16;

// Same arguments and result as paged_attention (a.num_splits / a.workspace
// are ignored), but the grid runs over `tiles`: num_tiles pairs
// (first_row, n_rows), 1 <= n_rows <= kPrefillTileRows, the rows consecutive
// and of one sequence (so their positions increase by one). One block of 4
// warps per (tile, query head): K/V tiles of 32 keys staged in shared memory
// serve all the tile's rows; scores one key per lane; online softmax.
// Bytes: per tile, (last position + 1) * head_dim * 4 per query head (L2 mostly).
// Flops: 4 * sum over rows of (position + 1) * head_dim per head.
// REQUIRES: as paged_attention; every row of the batch in exactly one tile.
Status prefill_attention(const PagedAttentionArgs& a, const int32_t* tiles, int64_t num_tiles,
                         cudaStream_t stream);

}  // namespace yun::cuda
