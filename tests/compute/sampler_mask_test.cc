// CpuSampler with an allowed-token mask and logit_bias (compute/sampling.h):
// on random rows, sampling with the mask/bias equals sampling a row edited by
// hand (masked-out logits -inf, bias added) with neither, for greedy and
// seeded draws, penalties, truncation and logprobs; masked-out ids are never
// drawn; a row with a mask or a bias is never plain greedy.
// Run: build/tests/yun_compute_tests --gtest_filter='SamplerMask*'
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "yun/compute/cpu/sampler.h"

namespace yun {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Case {
  std::vector<float> logits;
  std::vector<uint32_t> mask;
  std::vector<std::pair<int32_t, float>> bias;
  std::vector<int32_t> tokens;
  SamplingOptions opts;
};

Case random_case(std::mt19937_64& g, int32_t V) {
  Case c;
  std::normal_distribution<float> n(0.0f, 3.0f);
  for (int32_t i = 0; i < V; ++i) c.logits.push_back(n(g));
  // A mask that covers part of the vocabulary (words past it: disallowed).
  const size_t words = (size_t(V) + 31) / 32 - (g() % 2);
  for (size_t w = 0; w < words; ++w) {
    uint32_t bits = uint32_t(g());
    if (g() % 4 == 0) bits = 0xffffffffu;
    if (g() % 5 == 0) bits = 0;
    c.mask.push_back(bits);
  }
  c.mask[0] |= 1u;  // something stays allowed
  for (int k = 0; k < 5; ++k)
    c.bias.emplace_back(int32_t(g() % uint64_t(V + 3)) - 1, float(int(g() % 201) - 100) / 10.0f);
  for (int k = 0; k < 12; ++k) c.tokens.push_back(int32_t(g() % uint64_t(V)));
  c.opts.temperature = (g() % 3 == 0) ? 0.0 : 0.3 + double(g() % 100) / 50.0;
  c.opts.top_k = (g() % 2) ? int32_t(1 + g() % 40) : -1;
  c.opts.top_p = (g() % 2) ? 0.5 + double(g() % 50) / 100.0 : 1.0;
  c.opts.min_p = (g() % 3 == 0) ? 0.05 : 0.0;
  c.opts.repetition_penalty = (g() % 2) ? 1.2 : 1.0;
  c.opts.frequency_penalty = (g() % 2) ? 0.5 : 0.0;
  c.opts.presence_penalty = (g() % 2) ? -0.3 : 0.0;
  c.opts.logprobs = int32_t(g() % 4) - 1;
  return c;
}

bool allowed(const std::vector<uint32_t>& mask, int32_t t) {
  return size_t(t) / 32 < mask.size() && ((mask[size_t(t) / 32] >> (t % 32)) & 1u);
}

// The plain reference: the row edited by hand.
std::vector<float> edited(const Case& c) {
  std::vector<float> x = c.logits;
  for (size_t t = 0; t < x.size(); ++t)
    if (!allowed(c.mask, int32_t(t))) x[t] = kNegInf;
  for (const auto& [t, b] : c.bias)
    if (t >= 0 && size_t(t) < x.size()) x[size_t(t)] += b;
  return x;
}

TEST(SamplerMaskTest, EqualsAPlainSamplerOnTheEditedRow) {
  std::mt19937_64 g(42);
  CpuSampler s, ref;
  for (int iter = 0; iter < 400; ++iter) {
    const int32_t V = 40 + int32_t(g() % 300);
    Case c = random_case(g, V);
    const uint64_t seed = g();
    std::mt19937_64 ra(seed), rb(seed);
    RowSampling row;
    row.options = c.opts;
    row.tokens = c.tokens;
    row.num_prompt = 4;
    row.allowed = c.mask;
    row.logit_bias = c.bias;
    row.rng = &ra;
    EXPECT_FALSE(row.plain_greedy());
    SampleResult got = s.sample(c.logits, row);
    std::vector<float> x = edited(c);
    RowSampling plain = row;
    plain.allowed = {};
    plain.logit_bias = {};
    plain.rng = &rb;
    SampleResult want = ref.sample(x, plain);
    ASSERT_EQ(got.token, want.token) << "iter " << iter;
    EXPECT_TRUE(allowed(c.mask, got.token)) << "iter " << iter;
    EXPECT_EQ(ra(), rb()) << "same number of draws";
    if (c.opts.logprobs >= 0) {
      EXPECT_EQ(got.logprob.logprob, want.logprob.logprob);
      ASSERT_EQ(got.logprob.top.size(), want.logprob.top.size());
      for (size_t k = 0; k < got.logprob.top.size(); ++k) {
        EXPECT_EQ(got.logprob.top[k].first, want.logprob.top[k].first);
        EXPECT_EQ(got.logprob.top[k].second, want.logprob.top[k].second);
      }
    }
  }
}

TEST(SamplerMaskTest, GreedyUnderAMaskAloneIsTheArgmaxOfTheAllowed) {
  std::mt19937_64 g(7);
  CpuSampler s, ref;
  for (int iter = 0; iter < 300; ++iter) {
    const int32_t V = 33 + int32_t(g() % 500);
    Case c = random_case(g, V);
    if (iter % 3 == 0) c.logits[size_t(g() % uint64_t(V))] = c.logits[0];  // ties
    RowSampling row;
    row.options.temperature = 0;
    row.allowed = c.mask;
    ASSERT_FALSE(row.plain_greedy());
    c.bias.clear();
    RowSampling plain;
    plain.options.temperature = 0;
    ASSERT_EQ(s.sample(c.logits, row).token, ref.sample(edited(c), plain).token) << iter;
  }
}

TEST(SamplerMaskTest, MaskedOutIdsAreNeverDrawn) {
  CpuSampler s;
  std::vector<float> logits(100, 0.0f);
  logits[7] = 50.0f;  // the favourite, masked out
  std::vector<uint32_t> mask(4, 0);
  mask[1] = (1u << 3) | (1u << 9);  // ids 35 and 41
  RowSampling row;
  row.options.temperature = 1.0;
  row.allowed = mask;
  std::mt19937_64 rng(5);
  row.rng = &rng;
  for (int i = 0; i < 300; ++i) {
    const int32_t t = s.sample(logits, row).token;
    EXPECT_TRUE(t == 35 || t == 41) << t;
  }
  row.options.temperature = 0;
  EXPECT_EQ(s.sample(logits, row).token, 35);
}

TEST(SamplerMaskTest, LogitBiasFollowsOpenAi) {
  CpuSampler s;
  const std::vector<float> logits = {3.0f, 1.0f, 0.0f};
  RowSampling row;
  row.options.temperature = 0;
  const std::vector<std::pair<int32_t, float>> bias = {{2, 100.0f}, {99, 5.0f}, {-1, 5.0f}};
  row.logit_bias = bias;
  EXPECT_FALSE(row.plain_greedy());
  EXPECT_EQ(s.sample(logits, row).token, 2);
  const std::vector<std::pair<int32_t, float>> ban = {{0, -100.0f}};
  row.logit_bias = ban;
  EXPECT_EQ(s.sample(logits, row).token, 1);
}

TEST(SamplerMaskTest, EverythingMaskedStillReturnsAToken) {
  CpuSampler s;
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  const std::vector<uint32_t> none = {0};
  RowSampling row;
  row.options.temperature = 0.7;
  row.options.logprobs = 2;
  row.allowed = none;
  std::mt19937_64 rng(1);
  row.rng = &rng;
  SampleResult r = s.sample(logits, row);
  EXPECT_GE(r.token, 0);
  EXPECT_LT(r.token, 3);
}

}  // namespace
}  // namespace yun
