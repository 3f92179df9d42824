#include "yun/compute/cpu/causal_conv.h"

#include <algorithm>
#include <cmath>

#include "yun/compute/cpu/gated_delta_kernels.h"

namespace yun {

namespace internal {

void causal_conv1d_silu_scalar(const float* u, int64_t u_stride, int64_t n, int64_t C,
                               const float* w, int64_t K, float* state, float* y,
                               int64_t y_stride) {
  const int64_t S = K - 1;  // state rows
  for (int64_t t = 0; t < n; ++t) {
    float* yr = y + t * y_stride;
    for (int64_t c = 0; c < C; ++c) {
      float acc = 0.0f;
      for (int64_t j = 0; j < K; ++j) {
        const int64_t src = t - S + j;  // input index; < 0: from the state
        const float in = src < 0 ? state[(S + src) * C + c] : u[src * u_stride + c];
        acc += w[c * K + j] * in;
      }
      yr[c] = acc / (1.0f + std::exp(-acc));
    }
  }
  causal_conv_update_state(u, u_stride, n, C, K, state);
}

void causal_conv_update_state(const float* u, int64_t u_stride, int64_t n, int64_t C, int64_t K,
                              float* state) {
  const int64_t S = K - 1;
  if (S <= 0 || n == 0) return;
  // New state: the last S inputs of (old state ++ u).
  if (n >= S) {
    for (int64_t r = 0; r < S; ++r)
      std::copy(u + (n - S + r) * u_stride, u + (n - S + r) * u_stride + C, state + r * C);
  } else {
    std::copy(state + n * C, state + S * C, state);  // shift up by n rows
    for (int64_t r = 0; r < n; ++r)
      std::copy(u + r * u_stride, u + r * u_stride + C, state + (S - n + r) * C);
  }
}

}  // namespace internal

void causal_conv1d_silu(const float* u, int64_t u_stride, int64_t n, int64_t C, const float* w,
                        int64_t K, float* state, float* y, int64_t y_stride) {
  internal::best_delta_kernels().conv(u, u_stride, n, C, w, K, state, y, y_stride);
}

}  // namespace yun
