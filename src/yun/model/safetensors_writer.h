// Writing safetensors files (for tools and tests), streamed: the header is
// written from the tensor list, then each tensor's bytes are produced in
// chunks by a callback, so a multi-GB file never sits in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/model/dtype.h"

namespace yun {

struct TensorSpec {
  std::string name;
  DType dtype = DType::kBF16;
  std::vector<int64_t> shape;
  size_t nbytes() const;
};

// fill(index, offset, dst, n): write bytes [offset, offset + n) of tensor
// `index` (in `tensors` order) to dst.
using TensorFill = std::function<void(size_t index, size_t offset, uint8_t* dst, size_t n)>;

// Writes `path`: tensors laid out back to back in the given order, header
// padded to 8 bytes. Errors: kInvalidArgument (duplicate names, cannot write).
Status write_safetensors(const std::string& path, const std::vector<TensorSpec>& tensors,
                         const TensorFill& fill,
                         const std::map<std::string, std::string>& metadata = {});

// The header JSON text write_safetensors would produce (unpadded).
std::string safetensors_header(const std::vector<TensorSpec>& tensors,
                               const std::map<std::string, std::string>& metadata);

}  // namespace yun
