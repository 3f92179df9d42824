// Element types of checkpoint tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace yun {

// kQ* are GGUF's block-quantized weight formats (model/weight_format.h): they
// have no per-element size, and safetensors files never hold them.
enum class DType : uint8_t {
  kF32, kF16, kBF16, kI32, kI64, kU8, kI8, kBool, kF64, kI16,
  kQ8_0, kQ4_0, kQ4_K, kQ5_K, kQ6_K, kQ5_0,
};

// Bytes per element; 0 for block formats (use format_bytes).
size_t dtype_size(DType t);
// Safetensors name ("F32", "BF16", ...).
const char* dtype_name(DType t);
// Parses a safetensors dtype name; false when unknown (block formats too).
bool parse_dtype(std::string_view name, DType* out);

}  // namespace yun
