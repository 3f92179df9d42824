// silu_mul: each SIMD path (and the dispatched one) against the float32
// reference silu_mul_scalar (std::exp), on random data of odd lengths, over
// the whole range where e^-g matters, and at the clamp's edges.
#include "yun/compute/cpu/activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "yun/compute/cpu/activation_kernels.h"

namespace yun {
namespace {

std::vector<internal::SiluMulPath> paths() {
  internal::SiluMulPath p[3];
  int n = internal::available_silu_mul_paths(p, 3);
  std::vector<internal::SiluMulPath> v(p, p + n);
  v.push_back({"dispatch", silu_mul});
  return v;
}

// Runs `fn` and the reference on copies of g and u, and checks every element
// within 4 ulp-ish (relative 5e-7) or 1e-30 absolute (where vexp's clamp
// gives e^-87 instead of a denormal).
void expect_close(const char* name, internal::SiluMulFn fn, const std::vector<float>& g,
                  const std::vector<float>& u) {
  std::vector<float> want = g, got = g;
  internal::silu_mul_scalar(want.data(), u.data(), int64_t(g.size()));
  fn(got.data(), u.data(), int64_t(g.size()));
  for (size_t i = 0; i < g.size(); ++i) {
    if (!std::isfinite(want[i])) {  // inf stays inf; NaN (silu(-inf)) stays NaN
      ASSERT_TRUE(got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i])))
          << name << " g=" << g[i] << " got " << got[i] << " want " << want[i];
      continue;
    }
    ASSERT_NEAR(got[i], want[i], 5e-7f * std::fabs(want[i]) + 1e-30f)
        << name << " n=" << g.size() << " i=" << i << " g=" << g[i] << " u=" << u[i];
  }
}

TEST(SiluMul, EveryPathMatchesTheReference) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> wide(-120.0f, 120.0f), narrow(-6.0f, 6.0f);
  for (int64_t n : {0, 1, 5, 8, 15, 16, 17, 31, 33, 100, 4864}) {
    for (int rep = 0; rep < 6; ++rep) {
      std::vector<float> g(static_cast<size_t>(n)), u(static_cast<size_t>(n));
      for (auto& v : g) v = rep % 2 ? wide(rng) : narrow(rng);
      for (auto& v : u) v = narrow(rng);
      for (const auto& p : paths()) expect_close(p.name, p.fn, g, u);
    }
  }
}

TEST(SiluMul, EdgesOfTheRange) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> g = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-8f, 86.9f, 87.0f, 87.5f, 88.0f,
                          88.5f, 89.0f, 200.0f, -86.9f, -87.0f, -88.0f, -88.7f, -89.0f,
                          -200.0f, 1e30f, -1e30f, 0.5f, -0.5f, 3.0f, -3.0f, inf, -inf};
  while (g.size() % 16 != 0) g.push_back(1.0f);
  std::vector<float> u(g.size(), 1.5f);
  for (const auto& p : paths()) expect_close(p.name, p.fn, g, u);
  // A NaN input stays NaN.
  std::vector<float> nan_in(16, std::numeric_limits<float>::quiet_NaN());
  std::vector<float> ones(16, 1.0f);
  for (const auto& p : paths()) {
    std::vector<float> x = nan_in;
    p.fn(x.data(), ones.data(), 16);
    for (float v : x) EXPECT_TRUE(std::isnan(v)) << p.name;
  }
}

}  // namespace
}  // namespace yun
