// SamplingParams: validation, and the mapping onto the runner's sampling
// inputs (compute/sampling.h; the sampler itself is tested in
// tests/compute/sampler_test.cc).
// Run: build/tests/yun_engine_tests --gtest_filter='SamplingParams*'
#include <gtest/gtest.h>

#include "yun/engine/engine.h"
#include "yun/engine/sampling_params.h"

namespace yun {
namespace {

TEST(SamplingParamsTest, ValidateNamesTheField) {
  SamplingParams p;
  EXPECT_TRUE(p.validate().is_ok());
  p.top_p = 1.5;
  EXPECT_NE(p.validate().message().find("top_p"), std::string::npos);
  p = SamplingParams();
  p.temperature = -1;
  EXPECT_NE(p.validate().message().find("temperature"), std::string::npos);
  p = SamplingParams();
  p.min_tokens = 20;
  EXPECT_FALSE(p.validate().is_ok());
  EXPECT_STREQ(finish_reason_name(FinishReason::kLength), "length");
}

TEST(SamplingParamsTest, SamplingOptionsCarryEveryNumericSetting) {
  SamplingParams p;
  p.temperature = 0.7;
  p.top_p = 0.9;
  p.top_k = 20;
  p.min_p = 0.05;
  p.presence_penalty = 0.5;
  p.frequency_penalty = -0.25;
  p.repetition_penalty = 1.1;
  p.logprobs = 3;
  const SamplingOptions o = p.sampling_options();
  EXPECT_EQ(o.temperature, 0.7);
  EXPECT_EQ(o.top_p, 0.9);
  EXPECT_EQ(o.top_k, 20);
  EXPECT_EQ(o.min_p, 0.05);
  EXPECT_EQ(o.presence_penalty, 0.5);
  EXPECT_EQ(o.frequency_penalty, -0.25);
  EXPECT_EQ(o.repetition_penalty, 1.1);
  EXPECT_EQ(o.logprobs, 3);
  EXPECT_FALSE(o.greedy());
  p.temperature = 0;
  EXPECT_TRUE(p.sampling_options().greedy());
}

}  // namespace
}  // namespace yun
