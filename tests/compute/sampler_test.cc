// CpuSampler tests (compute/cpu/sampler.h): greedy, temperature/top-k/top-p/min-p truncation,
// repetition/presence/frequency penalty semantics, banned ids, seeded
// reproducibility, and logprob semantics (log-softmax after penalties and
// temperature, before truncation).
// Run: build/tests/yun_compute_tests --gtest_filter='Sampler*'
#include "yun/compute/cpu/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace yun {
namespace {

SamplingOptions params(double temperature) {
  SamplingOptions p;
  p.temperature = temperature;
  return p;
}

std::map<int32_t, int> histogram(CpuSampler& s, const std::vector<float>& logits,
                                 const SamplingOptions& p, int draws, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::map<int32_t, int> h;
  for (int i = 0; i < draws; ++i) ++h[s.sample(logits, p, {}, 0, {}, rng).token];
  return h;
}

TEST(SamplerTest, GreedyIsArgmaxLowestIdOnTies) {
  CpuSampler s;
  std::mt19937_64 rng(0);
  EXPECT_EQ(s.sample(std::vector<float>{1, 3, 2}, params(0), {}, 0, {}, rng).token, 1);
  EXPECT_EQ(s.sample(std::vector<float>{5, 1, 5}, params(0), {}, 0, {}, rng).token, 0);
}

TEST(SamplerTest, TopKTopPMinPTruncate) {
  CpuSampler s;
  std::vector<float> logits = {2.0f, 1.9f, 1.8f, -1.0f, -5.0f};
  SamplingOptions p = params(1.0);
  p.top_k = 2;
  auto h = histogram(s, logits, p, 2000);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_TRUE(h.count(0) && h.count(1));

  p = params(1.0);
  p.top_p = 0.01;  // only the most likely token survives
  h = histogram(s, logits, p, 500);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_TRUE(h.count(0));

  p = params(1.0);
  p.min_p = 0.5;  // keeps tokens with prob >= 0.5 * max: ids 0, 1, 2
  h = histogram(s, logits, p, 3000);
  EXPECT_EQ(h.size(), 3u);
  EXPECT_FALSE(h.count(3));

  p = params(1.0);  // untruncated: every token shows up eventually
  h = histogram(s, {1.0f, 1.0f, 1.0f, 1.0f}, p, 4000);
  EXPECT_EQ(h.size(), 4u);
  for (auto& [id, n] : h) EXPECT_NEAR(n, 1000, 150);
}

TEST(SamplerTest, LowTemperatureApproachesGreedy) {
  CpuSampler s;
  auto h = histogram(s, {1.0f, 1.5f, 0.5f}, params(0.01), 300);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_TRUE(h.count(1));
}

TEST(SamplerTest, RepetitionPenaltyHfSemantics) {
  CpuSampler s;
  std::mt19937_64 rng(0);
  SamplingOptions p = params(0);
  p.repetition_penalty = 2.0;
  p.logprobs = 0;
  // Token 0 (positive logit 3 -> 1.5) loses to token 1 (2.0); token 2's
  // negative logit -1 -> -2 (multiplied).
  std::vector<int32_t> toks = {0, 2, 0};  // prompt [0, 2], output [0]
  auto r = s.sample(std::vector<float>{3.0f, 2.0f, -1.0f}, p, toks, 2, {}, rng);
  EXPECT_EQ(r.token, 1);
  // Logprob of the chosen token from the penalized logits {1.5, 2, -2}.
  double lse = std::log(std::exp(1.5) + std::exp(2.0) + std::exp(-2.0));
  EXPECT_NEAR(r.logprob.logprob, 2.0 - lse, 1e-5);
}

TEST(SamplerTest, PresenceAndFrequencyPenaltiesCountOutputOnly) {
  CpuSampler s;
  std::mt19937_64 rng(0);
  SamplingOptions p = params(0);
  p.frequency_penalty = 1.0;
  p.presence_penalty = 0.5;
  // Prompt [1, 1, 1] is not penalized; output [0, 0] costs 2 * 1.0 + 0.5.
  std::vector<int32_t> toks = {1, 1, 1, 0, 0};
  EXPECT_EQ(s.sample(std::vector<float>{4.0f, 2.0f}, p, toks, 3, {}, rng).token, 1);
  EXPECT_EQ(s.sample(std::vector<float>{4.6f, 2.0f}, p, toks, 3, {}, rng).token, 0);
}

TEST(SamplerTest, BannedIdsNeverSampled) {
  CpuSampler s;
  std::mt19937_64 rng(0);
  std::vector<int32_t> banned = {1};
  EXPECT_EQ(s.sample(std::vector<float>{0.0f, 9.0f, 1.0f}, params(0), {}, 0, banned, rng).token, 2);
  for (int i = 0; i < 200; ++i) {
    EXPECT_NE(s.sample(std::vector<float>{0.0f, 9.0f, 1.0f}, params(1), {}, 0, banned, rng).token,
              1);
  }
}

TEST(SamplerTest, SameSeedSameTokens) {
  CpuSampler s;
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[i] = std::sin(i * 0.7f);
  SamplingOptions p = params(1.0);
  p.top_p = 0.9;
  std::mt19937_64 a(77), b(77), c(78);
  std::vector<int32_t> ta, tb, tc;
  for (int i = 0; i < 40; ++i) {
    ta.push_back(s.sample(logits, p, {}, 0, {}, a).token);
    tb.push_back(s.sample(logits, p, {}, 0, {}, b).token);
    tc.push_back(s.sample(logits, p, {}, 0, {}, c).token);
  }
  EXPECT_EQ(ta, tb);
  EXPECT_NE(ta, tc);
}

TEST(SamplerTest, LogprobsAfterTemperatureBeforeTruncation) {
  CpuSampler s;
  std::mt19937_64 rng(0);
  SamplingOptions p = params(2.0);
  p.top_k = 1;
  p.logprobs = 2;
  auto r = s.sample(std::vector<float>{2.0f, 0.0f, -2.0f}, p, {}, 0, {}, rng);
  EXPECT_EQ(r.token, 0);
  double lse = std::log(std::exp(1.0) + std::exp(0.0) + std::exp(-1.0));
  EXPECT_NEAR(r.logprob.logprob, 1.0 - lse, 1e-5);
  ASSERT_EQ(r.logprob.top.size(), 2u);
  EXPECT_EQ(r.logprob.top[1].first, 1);
  EXPECT_NEAR(r.logprob.top[1].second, 0.0 - lse, 1e-5);
}

TEST(SamplerTest, DrawIsOneCanonicalPerRowAsUniformRealDistribution) {
  // The draw a device sampler reproduces: u = generate_canonical from the
  // row's RNG, target u * sum; the same token as uniform_real_distribution.
  CpuSampler s;
  std::vector<float> logits = {1.0f, 0.5f, 0.25f, 0.0f, -0.5f};
  SamplingOptions p = params(1.0);
  for (uint64_t seed = 0; seed < 50; ++seed) {
    std::mt19937_64 a(seed), b(seed);
    const int32_t tok = s.sample(logits, p, {}, 0, {}, a).token;
    // The reference: the cumulative draw written with the distribution.
    std::vector<double> w;
    double sum = 0;
    for (float v : logits) sum += w.emplace_back(std::exp(double(v) - 1.0));
    const double target = std::uniform_real_distribution<double>(0.0, sum)(b);
    int32_t want = 4;
    double acc = 0;
    for (int32_t i = 0; i < 5; ++i) {
      acc += w[size_t(i)];
      if (acc > target) {
        want = i;
        break;
      }
    }
    EXPECT_EQ(tok, want) << "seed " << seed;
    EXPECT_EQ(a(), b()) << "one draw per row";
  }
}

TEST(SamplerTest, SampleRowsChecksShapesAndRngs) {
  CpuSampler s;
  const std::vector<float> logits = {0, 5, 1, 7, 2, 3};  // two rows of 3
  std::vector<RowSampling> rows(2);
  rows[0].options = params(0);
  rows[1].options = params(0);
  std::vector<SampleResult> out;
  ASSERT_TRUE(s.sample_rows(logits, 3, rows, out).is_ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].token, 1);
  EXPECT_EQ(out[1].token, 0);
  EXPECT_EQ(s.sample_rows(logits, 4, rows, out).code(), StatusCode::kInvalidArgument);
  rows[1].options = params(1.0);  // sampling without an RNG
  EXPECT_EQ(s.sample_rows(logits, 3, rows, out).code(), StatusCode::kInvalidArgument);
  std::mt19937_64 rng(3);
  rows[1].rng = &rng;
  EXPECT_TRUE(s.sample_rows(logits, 3, rows, out).is_ok());
}

TEST(SamplerTest, PlainGreedyIsWhatADeviceArgmaxCanDo) {
  RowSampling r;
  r.options = params(0);
  EXPECT_TRUE(r.plain_greedy());
  r.options.logprobs = 0;
  EXPECT_FALSE(r.plain_greedy());
  r.options = params(0);
  r.options.repetition_penalty = 1.1;
  EXPECT_FALSE(r.plain_greedy());
  r.options = params(0);
  const std::vector<int32_t> banned = {2};
  r.banned = banned;
  EXPECT_FALSE(r.plain_greedy());
  r = RowSampling{};
  EXPECT_FALSE(r.plain_greedy());  // temperature 1
}

}  // namespace
}  // namespace yun
