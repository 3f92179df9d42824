// Element types of checkpoint tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace yun {

enum class DType : uint8_t { kF32, kF16, kBF16, kI32, kI64, kU8, kI8, kBool, kF64, kI16 };

// Bytes per element.
size_t dtype_size(DType t);
// Safetensors name ("F32", "BF16", ...).
const char* dtype_name(DType t);
// Parses a safetensors dtype name; false when unknown.
bool parse_dtype(std::string_view name, DType* out);

}  // namespace yun
