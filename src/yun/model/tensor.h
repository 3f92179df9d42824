// TensorView: a non-owning view of a tensor inside a memory-mapped checkpoint
// (row-major, contiguous). The mapping must outlive the view.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "yun/model/dtype.h"

namespace yun {

struct TensorView {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;

  bool empty() const { return data == nullptr; }
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  int64_t dim(int i) const { return shape.at(i < 0 ? shape.size() + i : i); }
  // "[896, 4864] BF16"
  std::string describe() const;
};

}  // namespace yun
