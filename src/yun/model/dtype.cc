#include "yun/model/dtype.h"

#include <string>

namespace yun {

namespace {
struct Info {
  DType t;
  const char* name;
  size_t size;  // 0: a block format, not in safetensors files
};
constexpr Info kInfo[] = {
    {DType::kF32, "F32", 4},   {DType::kF16, "F16", 2}, {DType::kBF16, "BF16", 2},
    {DType::kI32, "I32", 4},   {DType::kI64, "I64", 8}, {DType::kU8, "U8", 1},
    {DType::kI8, "I8", 1},     {DType::kBool, "BOOL", 1}, {DType::kF64, "F64", 8},
    {DType::kI16, "I16", 2},   {DType::kQ8_0, "Q8_0", 0}, {DType::kQ4_0, "Q4_0", 0},
    {DType::kQ4_K, "Q4_K", 0}, {DType::kQ5_K, "Q5_K", 0}, {DType::kQ6_K, "Q6_K", 0},
    {DType::kQ5_0, "Q5_0", 0},
};
}  // namespace

size_t dtype_size(DType t) {
  for (auto& i : kInfo)
    if (i.t == t) return i.size;
  return 0;
}

const char* dtype_name(DType t) {
  for (auto& i : kInfo)
    if (i.t == t) return i.name;
  return "?";
}

bool parse_dtype(std::string_view name, DType* out) {
  for (auto& i : kInfo) {
    if (i.size != 0 && name == i.name) {
      *out = i.t;
      return true;
    }
  }
  return false;
}

}  // namespace yun
