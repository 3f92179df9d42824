// The state-carrying causal depthwise conv1d of Gated DeltaNet, followed by
// SiLU, in float32 (K is tiny, 4 in every published Qwen3.5). Runs the best
// SIMD path of gated_delta_kernels.h; the plain reference loops are
// internal::kDeltaKernelsScalar.conv.
//
//   y_t[c] = silu(sum_{j<K} w[c, j] * u_{t-K+1+j}[c])
//
// where inputs before the first one of this call come from `state`: the
// last K-1 inputs of the previous call (zeros at the start of a sequence),
// oldest first. w[c, K-1] multiplies the current token. After the call the
// state holds the last K-1 inputs seen, so calls over consecutive pieces of
// a sequence give exactly the result of one call over the whole.
#pragma once

#include <cstdint>

namespace yun {

// u: [n, C] inputs (row stride u_stride); w: [C, K] float32; state: [K-1, C];
// y: [n, C] (row stride y_stride; must not alias u). n may be 0.
void causal_conv1d_silu(const float* u, int64_t u_stride, int64_t n, int64_t C, const float* w,
                        int64_t K, float* state, float* y, int64_t y_stride);

}  // namespace yun
