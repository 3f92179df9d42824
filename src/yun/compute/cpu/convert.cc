#include "yun/compute/cpu/convert.h"

#include <cstring>

#include "yun/base/half.h"

namespace yun {

void to_f32(DType dtype, const void* src, int64_t n, float* dst) {
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, size_t(n) * sizeof(float));
      break;
    case DType::kBF16: {
      auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      break;
    }
    case DType::kF16: {
      auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      break;
    }
    default:
      for (int64_t i = 0; i < n; ++i) dst[i] = 0.0f;
  }
}

std::vector<float> tensor_to_f32(const TensorView& t) {
  if (t.empty()) return {};
  std::vector<float> out(size_t(t.numel()));
  to_f32(t.dtype, t.data, t.numel(), out.data());
  return out;
}

}  // namespace yun
