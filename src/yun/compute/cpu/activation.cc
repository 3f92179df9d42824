#include "yun/compute/cpu/activation.h"

#include <cmath>

#include "yun/base/cpu_features.h"
#include "yun/compute/cpu/activation_kernels.h"

namespace yun {

namespace internal {

void silu_mul_scalar(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

int available_silu_mul_paths(SiluMulPath* out, int max_out) {
  const CpuFeatures& f = cpu_features();
  int n = 0;
  auto add = [&](const char* name, SiluMulFn fn) {
    if (n < max_out) out[n++] = {name, fn};
  };
  if (f.avx512f) add("avx512", silu_mul_avx512);
  if (f.avx2 && f.fma) add("avx2", silu_mul_avx2);
  add("scalar", silu_mul_scalar);
  return n;
}

}  // namespace internal

void silu_mul(float* g, const float* u, int64_t n) {
  static const internal::SiluMulFn fn = [] {
    internal::SiluMulPath p[3];
    internal::available_silu_mul_paths(p, 3);
    return p[0].fn;
  }();
  fn(g, u, n);
}

}  // namespace yun
