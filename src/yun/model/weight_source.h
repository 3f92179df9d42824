// WeightSource: where a model's tensors come from — a safetensors directory
// (WeightStore, safetensors.h) or a GGUF file (GgufWeights, gguf_model.h).
// Tensors are found by their Hugging Face names ("model.embed_tokens.weight",
// "model.layers.0.self_attn.q_proj.weight"); a source whose file names them
// otherwise maps the names. Shapes are row-major [rows, cols] as in PyTorch;
// dtype may be any weight format (model/weight_format.h).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "yun/model/tensor.h"

namespace yun {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // The tensor named `name` (Hugging Face name), or nullptr. The view stays
  // valid as long as the source.
  virtual const TensorView* find(const std::string& name) const = 0;
  // Every name find() answers, sorted.
  virtual std::vector<std::string> names() const = 0;
  // Total bytes of all tensor data.
  virtual size_t total_bytes() const = 0;
  // Asks the kernel to read the files ahead (weights in page cache sooner).
  virtual void prefetch() const {}
};

}  // namespace yun
