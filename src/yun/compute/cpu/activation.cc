#include "yun/compute/cpu/activation.h"

#include <cmath>

#include "yun/compute/cpu/activation_kernels.h"

namespace yun {

namespace internal {

void silu_mul_scalar(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

int available_silu_mul_paths(SiluMulPath* out, int max_out) {
  return isa_paths<SiluMulFn>(out, max_out, silu_mul_avx512, silu_mul_avx2, silu_mul_scalar);
}

}  // namespace internal

void silu_mul(float* g, const float* u, int64_t n) {
  static const internal::SiluMulFn fn = internal::best_isa_path(internal::available_silu_mul_paths);
  fn(g, u, n);
}

}  // namespace yun
