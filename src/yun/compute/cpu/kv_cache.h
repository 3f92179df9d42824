// CpuKvCache: the paged KV cache of the CPU runner, float32,
// K and V each laid out [layer][block][block_size][kv_heads][head_dim].
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "yun/base/status.h"

namespace yun {

class CpuKvCache {
 public:
  // (Re)allocates; contents are uninitialized. Errors: kResourceExhausted when
  // the allocation fails, kInvalidArgument for non-positive sizes.
  Status allocate(int64_t layers, int64_t num_blocks, int64_t block_size, int64_t kv_heads,
                  int64_t head_dim);

  bool allocated() const { return k_ != nullptr; }
  int64_t num_blocks() const { return num_blocks_; }
  int64_t block_size() const { return block_size_; }
  // Floats per (block, slot): kv_heads * head_dim.
  int64_t token_stride() const { return token_stride_; }
  // Floats per block of one layer.
  int64_t block_stride() const { return block_size_ * token_stride_; }

  // Start of layer `layer`'s K (or V) area; block b, slot s is at
  // + (b * block_size + s) * token_stride.
  float* k_layer(int64_t layer) { return k_.get() + layer * layer_stride_; }
  float* v_layer(int64_t layer) { return v_.get() + layer * layer_stride_; }
  const float* k_layer(int64_t layer) const { return k_.get() + layer * layer_stride_; }
  const float* v_layer(int64_t layer) const { return v_.get() + layer * layer_stride_; }

 private:
  std::unique_ptr<float[]> k_, v_;
  int64_t num_blocks_ = 0, block_size_ = 0, token_stride_ = 0, layer_stride_ = 0;
};

}  // namespace yun
