// RMSNorm as Hugging Face computes it: y = w * (x * rsqrt(mean(x^2) + eps)),
// in float32 (accumulating the mean in double for stability).
#pragma once

#include <cstdint>

namespace yun {

// `rows` rows of `dim` floats, x -> y (x == y allowed). w holds dim floats.
void rms_norm(const float* x, int64_t rows, int64_t dim, const float* w, float eps, float* y);

}  // namespace yun
