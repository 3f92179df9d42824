// Element conversion of checkpoint data (any weight format, model/weight_format.h)
// to float32.
#pragma once

#include <cstdint>
#include <vector>

#include "yun/model/tensor.h"

namespace yun {

// n elements of `dtype` at `src` -> dst. REQUIRES: dtype is a weight format and
// n a whole number of its blocks (else dst is zeroed).
void to_f32(DType dtype, const void* src, int64_t n, float* dst);

// A whole (small) tensor as floats; empty for an empty view.
std::vector<float> tensor_to_f32(const TensorView& t);

}  // namespace yun
