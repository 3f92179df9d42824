// Element-wise activations of the MLP, with a float32 reference and SIMD
// paths picked at run time (activation_kernels.h).
#pragma once

#include <cstdint>

namespace yun {

// g[i] = silu(g[i]) * u[i] = g[i] / (1 + e^-g[i]) * u[i], for i < n; one
// thread (callers split the range). SwiGLU's gating step.
void silu_mul(float* g, const float* u, int64_t n);

}  // namespace yun
