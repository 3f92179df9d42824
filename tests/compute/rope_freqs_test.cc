// The one RoPE table (compute/rope_freqs.h) both runners use: dynamic NTK
// equals the default table up to max_position_embeddings (why the CUDA runner
// keeps one table and refuses longer contexts) and differs past it; linear
// divides by the factor.
// Run: build/tests/yun_compute_tests --gtest_filter='RopeFreqs*'
#include "yun/compute/rope_freqs.h"

#include <gtest/gtest.h>

#include <cmath>

namespace yun {
namespace {

ModelConfig config(RopeScaling::Type type) {
  ModelConfig c;
  c.head_dim = 64;
  c.rope_theta = 10000.0;
  c.max_position_embeddings = 2048;
  c.rope_scaling.type = type;
  c.rope_scaling.factor = 2.0;
  return c;
}

TEST(RopeFreqsTest, DynamicIsDefaultUpToMaxPositions) {
  const RopeFreqs base = compute_rope_freqs(config(RopeScaling::Type::kNone));
  const ModelConfig dyn = config(RopeScaling::Type::kDynamic);
  EXPECT_TRUE(rope_depends_on_length(dyn));
  EXPECT_FALSE(rope_depends_on_length(config(RopeScaling::Type::kLinear)));
  for (int64_t len : {0, 1, 2048}) {
    const RopeFreqs f = compute_rope_freqs(dyn, len);
    ASSERT_EQ(f.inv_freq.size(), 32u);
    for (size_t i = 0; i < 32; ++i) EXPECT_FLOAT_EQ(f.inv_freq[i], base.inv_freq[i]) << len;
  }
  const RopeFreqs longer = compute_rope_freqs(dyn, 4096);
  EXPECT_FLOAT_EQ(longer.inv_freq[0], 1.f);
  EXPECT_LT(longer.inv_freq[31], base.inv_freq[31]);  // a larger base past the limit
}

TEST(RopeFreqsTest, DefaultAndLinear) {
  const RopeFreqs base = compute_rope_freqs(config(RopeScaling::Type::kNone));
  EXPECT_FLOAT_EQ(base.inv_freq[0], 1.f);
  EXPECT_NEAR(base.inv_freq[31], 1.0 / std::pow(10000.0, 62.0 / 64), 1e-9);
  EXPECT_EQ(base.attention_scale, 1.f);
  const RopeFreqs lin = compute_rope_freqs(config(RopeScaling::Type::kLinear));
  for (size_t i = 0; i < 32; ++i) EXPECT_FLOAT_EQ(lin.inv_freq[i], base.inv_freq[i] / 2);
}

}  // namespace
}  // namespace yun
