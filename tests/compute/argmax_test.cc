// argmax_f32 and each SIMD path against the scalar loop (std::max_element's
// answer): random rows of odd lengths, ties (first index wins), -inf, NaNs.
#include "yun/compute/cpu/argmax.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "yun/base/cpu_features.h"

namespace yun {
namespace {

using Fn = int64_t (*)(const float*, int64_t);

std::vector<std::pair<const char*, Fn>> paths() {
  std::vector<std::pair<const char*, Fn>> v = {{"scalar", internal::argmax_scalar},
                                               {"dispatch", argmax_f32}};
  if (cpu_features().avx2) v.push_back({"avx2", internal::argmax_avx2});
  if (cpu_features().avx512f) v.push_back({"avx512", internal::argmax_avx512});
  return v;
}

int64_t expected(const std::vector<float>& x) {
  return x.empty() ? 0 : std::max_element(x.begin(), x.end()) - x.begin();
}

TEST(Argmax, RandomRowsAndTies) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-5.0f, 5.0f);
  for (int64_t n : {1, 2, 7, 15, 16, 17, 31, 32, 33, 100, 151936}) {
    for (int rep = 0; rep < 20; ++rep) {
      std::vector<float> x(static_cast<size_t>(n));
      for (auto& v : x) v = rep % 3 == 0 ? float(int(u(rng))) : u(rng);  // many ties
      if (rep % 4 == 1) x.back() = 100.0f;
      if (rep % 4 == 2) x[size_t(n / 2)] = 100.0f, x[size_t(n - 1)] = 100.0f;
      for (const auto& [name, fn] : paths())
        ASSERT_EQ(fn(x.data(), n), expected(x)) << name << " n=" << n << " rep=" << rep;
    }
  }
}

TEST(Argmax, InfinitiesAndNaNs) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::vector<float>> rows;
  rows.push_back(std::vector<float>(40, -inf));
  std::vector<float> a(40, -inf);
  a[37] = -1.0f;
  rows.push_back(a);
  std::vector<float> b(40, 1.0f);
  b[3] = nan, b[20] = nan, b[33] = 2.0f;
  rows.push_back(b);
  std::vector<float> c(40, 1.0f);
  c[0] = nan, c[5] = 3.0f;
  rows.push_back(c);
  std::vector<float> d(40, nan);
  d[17] = 0.5f;
  rows.push_back(d);
  for (const auto& x : rows)
    for (const auto& [name, fn] : paths())
      EXPECT_EQ(fn(x.data(), int64_t(x.size())), expected(x)) << name;
  EXPECT_EQ(argmax_f32(nullptr, 0), 0);
}

}  // namespace
}  // namespace yun
