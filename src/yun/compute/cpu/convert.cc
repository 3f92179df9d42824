#include "yun/compute/cpu/convert.h"

#include <cstring>

#include "yun/model/weight_format.h"

namespace yun {

void to_f32(DType dtype, const void* src, int64_t n, float* dst) {
  const WeightFormat* f = weight_format(dtype);
  if (f && n % f->block_elems == 0) {
    f->row_to_float(src, dst, n);
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = 0.0f;
}

std::vector<float> tensor_to_f32(const TensorView& t) {
  if (t.empty()) return {};
  std::vector<float> out(size_t(t.numel()));
  to_f32(t.dtype, t.data, t.numel(), out.data());
  return out;
}

}  // namespace yun
