// Element conversion of checkpoint data (F32/F16/BF16) to float32.
#pragma once

#include <cstdint>
#include <vector>

#include "yun/model/tensor.h"

namespace yun {

// n elements of `dtype` at `src` -> dst. REQUIRES: dtype is F32, F16 or BF16.
void to_f32(DType dtype, const void* src, int64_t n, float* dst);

// A whole (small) tensor as floats; empty for an empty view.
std::vector<float> tensor_to_f32(const TensorView& t);

}  // namespace yun
