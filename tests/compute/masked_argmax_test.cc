// masked_argmax_f32 and each SIMD path against the plain reference: the
// argmax of the row copied with the disallowed entries set to -inf (and the
// scalar loop), on random rows and masks of odd lengths (mask shorter or
// longer than the row, dense, sparse, empty words), ties (lowest id wins),
// -inf rows, NaNs, and nothing allowed.
// Run: build/tests/yun_compute_tests --gtest_filter='MaskedArgmax*'
#include "yun/compute/cpu/masked_argmax.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "yun/compute/cpu/argmax.h"

namespace yun {
namespace {

using Fn = int64_t (*)(const float*, int64_t, const uint32_t*, size_t);
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Every path this CPU runs (scalar included), and the dispatcher.
std::vector<std::pair<const char*, Fn>> paths() {
  internal::MaskedArgmaxPath p[3];
  const int n = internal::available_masked_argmax_paths(p, 3);
  std::vector<std::pair<const char*, Fn>> v = {{"dispatch", masked_argmax_f32}};
  for (int i = 0; i < n; ++i) v.push_back({p[i].name, p[i].fn});
  return v;
}

bool allowed(const std::vector<uint32_t>& m, int64_t t) {
  return size_t(t) / 32 < m.size() && ((m[size_t(t) / 32] >> (t % 32)) & 1u);
}

// The reference: argmax of the masked copy (-1 when nothing is allowed).
int64_t reference(const std::vector<float>& x, const std::vector<uint32_t>& m) {
  std::vector<float> c = x;
  bool any = false;
  for (size_t t = 0; t < c.size(); ++t) {
    if (!allowed(m, int64_t(t))) c[t] = kNegInf;
    any = any || allowed(m, int64_t(t));
  }
  return any ? argmax_f32(c.data(), int64_t(c.size())) : -1;
}

std::vector<uint32_t> random_mask(std::mt19937_64& g, int64_t n) {
  const size_t need = size_t(n + 31) / 32;
  const size_t words = std::max<size_t>(1, need + size_t(g() % 3) - 1);  // shorter, exact, longer
  std::vector<uint32_t> m(words);
  const int kind = int(g() % 4);
  for (auto& w : m) {
    if (kind == 0) w = uint32_t(g());                        // half dense
    if (kind == 1) w = g() % 8 == 0 ? uint32_t(g()) : 0u;    // sparse words
    if (kind == 2) w = g() % 3 == 0 ? 0u : 0xffffffffu;      // whole words
    if (kind == 3) w = g() % 2 ? (1u << (g() % 32)) : 0u;    // single ids
  }
  return m;
}

TEST(MaskedArgmax, EqualsTheArgmaxOfTheMaskedCopy) {
  std::mt19937_64 g(11);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  int checked = 0;
  for (int64_t n : {1, 5, 7, 16, 31, 32, 33, 63, 64, 65, 100, 257, 1000, 4099, 151936}) {
    for (int rep = 0; rep < 30; ++rep) {
      std::vector<float> x(static_cast<size_t>(n));
      for (auto& v : x) v = rep % 3 == 0 ? float(int(nd(g))) : nd(g);  // many ties
      if (rep % 5 == 1) x[size_t(g() % uint64_t(n))] = 50.0f, x[size_t(g() % uint64_t(n))] = 50.0f;
      if (rep % 7 == 2)
        for (int k = 0; k < 10; ++k) x[size_t(g() % uint64_t(n))] = kNegInf;
      std::vector<uint32_t> m = random_mask(g, n);
      if (rep % 11 == 3) m.assign(m.size(), 0u);  // nothing allowed
      const int64_t want = reference(x, m);
      // The reference is exact unless every allowed value is -inf (then it
      // is the row's first id, allowed or not; ours is the first allowed).
      bool some_finite = false;
      for (int64_t t = 0; t < n; ++t) some_finite = some_finite || (allowed(m, t) && x[size_t(t)] > kNegInf);
      for (auto [name, fn] : paths()) {
        const int64_t got = fn(x.data(), n, m.data(), m.size());
        if (want < 0) {
          EXPECT_EQ(got, -1) << name << " n=" << n << " rep=" << rep;
        } else if (some_finite) {
          EXPECT_EQ(got, want) << name << " n=" << n << " rep=" << rep;
          ++checked;
        } else {
          ASSERT_GE(got, 0) << name;
          EXPECT_TRUE(allowed(m, got)) << name;
          for (int64_t t = 0; t < got; ++t) EXPECT_FALSE(allowed(m, t)) << name << " first allowed";
        }
      }
    }
  }
  EXPECT_GT(checked, 500);
}

TEST(MaskedArgmax, TiesGoToTheLowestAllowedId) {
  for (auto [name, fn] : paths()) {
    for (int64_t n : {40, 64, 100, 1025}) {
      std::vector<float> x(size_t(n), 1.0f);
      std::vector<uint32_t> m(size_t(n + 31) / 32, 0u);
      for (int64_t t : {int64_t(n - 1), int64_t(n / 2), int64_t(17)}) m[size_t(t) / 32] |= 1u << (t % 32);
      EXPECT_EQ(fn(x.data(), n, m.data(), m.size()), 17) << name << " n=" << n;
      x[size_t(n - 1)] = 2.0f;
      EXPECT_EQ(fn(x.data(), n, m.data(), m.size()), n - 1) << name << " n=" << n;
    }
  }
}

TEST(MaskedArgmax, IdsPastTheRowOrTheMaskAreNeverChosen) {
  for (auto [name, fn] : paths()) {
    // The mask allows ids past n (its last word): they are never read.
    std::vector<float> x(70, 0.0f);
    x[3] = 1.0f;
    std::vector<uint32_t> m = {1u << 3, 0u, 0xffffffffu};  // ids 3, 64..95 (n = 70)
    EXPECT_EQ(fn(x.data(), 70, m.data(), m.size()), 3) << name;
    x[69] = 5.0f;
    EXPECT_EQ(fn(x.data(), 70, m.data(), m.size()), 69) << name;
    // A mask shorter than the row: ids past it are not allowed.
    std::vector<uint32_t> short_m = {1u << 3};
    EXPECT_EQ(fn(x.data(), 70, short_m.data(), short_m.size()), 3) << name;
    EXPECT_EQ(fn(x.data(), 70, short_m.data(), 0), -1) << name;
  }
}

TEST(MaskedArgmax, NanNeverWinsAndAllNegInfGivesTheFirstAllowed) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (auto [name, fn] : paths()) {
    std::vector<float> x(200, kNegInf);
    std::vector<uint32_t> m(7, 0u);
    m[1] = 1u << 5;  // id 37
    m[4] = 1u << 9;  // id 137
    EXPECT_EQ(fn(x.data(), 200, m.data(), m.size()), 37) << name;
    x[37] = nan;
    EXPECT_EQ(fn(x.data(), 200, m.data(), m.size()), 37) << name;
    x[137] = -3.0f;
    EXPECT_EQ(fn(x.data(), 200, m.data(), m.size()), 137) << name;
  }
}

}  // namespace
}  // namespace yun
