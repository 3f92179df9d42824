// Unit tests of the CPU decoder ops: RoPE frequencies for every scaling type,
// the rotation itself, RMSNorm, paged attention against a dense reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "yun/compute/cpu/attention.h"
#include "yun/compute/cpu/attention_kernels.h"
#include "yun/compute/cpu/rms_norm.h"
#include "yun/compute/cpu/rope.h"

namespace yun {
namespace {

ModelConfig rope_config(int64_t head_dim, double theta) {
  ModelConfig c;
  c.head_dim = head_dim;
  c.rope_theta = theta;
  c.max_position_embeddings = 4096;
  return c;
}

TEST(OpsRope, DefaultAndLinear) {
  ModelConfig c = rope_config(64, 10000.0);
  RopeFreqs f = compute_rope_freqs(c);
  ASSERT_EQ(f.inv_freq.size(), 32u);
  for (int i = 0; i < 32; ++i)
    EXPECT_NEAR(f.inv_freq[size_t(i)], 1.0 / std::pow(10000.0, 2.0 * i / 64), 1e-7);
  EXPECT_EQ(f.attention_scale, 1.0f);
  c.rope_scaling.type = RopeScaling::Type::kLinear;
  c.rope_scaling.factor = 4.0;
  RopeFreqs l = compute_rope_freqs(c);
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(l.inv_freq[size_t(i)], f.inv_freq[size_t(i)] / 4, 1e-8);
}

TEST(OpsRope, DynamicOnlyPastMax) {
  ModelConfig c = rope_config(64, 10000.0);
  RopeFreqs f = compute_rope_freqs(c);
  c.rope_scaling.type = RopeScaling::Type::kDynamic;
  c.rope_scaling.factor = 2.0;
  RopeFreqs d = compute_rope_freqs(c, 100);
  EXPECT_EQ(d.inv_freq, f.inv_freq);
  RopeFreqs far = compute_rope_freqs(c, 8192);
  // base' = base * (2 * 8192 / 4096 - 1)^(64/62) = base * 3^(64/62)
  double base = 10000.0 * std::pow(3.0, 64.0 / 62.0);
  EXPECT_NEAR(far.inv_freq[1], 1.0 / std::pow(base, 2.0 / 64), 1e-7);
}

TEST(OpsRope, Llama3Bands) {
  ModelConfig c = rope_config(128, 500000.0);
  RopeFreqs f = compute_rope_freqs(c);
  c.rope_scaling.type = RopeScaling::Type::kLlama3;
  c.rope_scaling.factor = 8.0;
  c.rope_scaling.original_max_position_embeddings = 8192;
  RopeFreqs l = compute_rope_freqs(c);
  int high = 0, low = 0, mid = 0;
  for (size_t i = 0; i < f.inv_freq.size(); ++i) {
    double wavelen = 2 * M_PI / f.inv_freq[i];
    if (wavelen < 8192 / 4.0) {
      EXPECT_FLOAT_EQ(l.inv_freq[i], f.inv_freq[i]);
      ++high;
    } else if (wavelen > 8192 / 1.0) {
      EXPECT_FLOAT_EQ(l.inv_freq[i], f.inv_freq[i] / 8);
      ++low;
    } else {
      EXPECT_LT(l.inv_freq[i], f.inv_freq[i]);
      EXPECT_GT(l.inv_freq[i], f.inv_freq[i] / 8);
      ++mid;
    }
  }
  EXPECT_GT(high, 0);
  EXPECT_GT(low, 0);
  EXPECT_GT(mid, 0);
}

TEST(OpsRope, YarnRampAndAttentionFactor) {
  ModelConfig c = rope_config(16, 1e6);
  RopeFreqs f = compute_rope_freqs(c);
  c.rope_scaling.type = RopeScaling::Type::kYarn;
  c.rope_scaling.factor = 4.0;
  c.rope_scaling.original_max_position_embeddings = 64;
  RopeFreqs y = compute_rope_freqs(c);
  EXPECT_NEAR(y.attention_scale, 0.1 * std::log(4.0) + 1.0, 1e-6);
  // Highest frequency extrapolated, lowest interpolated.
  EXPECT_NEAR(y.inv_freq.front(), f.inv_freq.front(), 1e-7);
  EXPECT_NEAR(y.inv_freq.back(), f.inv_freq.back() / 4, 1e-12);
  c.rope_scaling.attention_factor = 1.5;
  EXPECT_FLOAT_EQ(compute_rope_freqs(c).attention_scale, 1.5f);
  c.rope_scaling.attention_factor.reset();
  c.rope_scaling.mscale = 1.0;
  c.rope_scaling.mscale_all_dim = 1.0;
  EXPECT_FLOAT_EQ(compute_rope_freqs(c).attention_scale, 1.0f);
}

TEST(OpsRope, RotationPairsHalves) {
  ModelConfig c = rope_config(8, 10000.0);
  RopeFreqs f = compute_rope_freqs(c);
  float cs[4], sn[4];
  rope_cos_sin(f, 0, cs, sn);
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8}, y = x;
  apply_rope(y.data(), 1, 8, cs, sn);
  EXPECT_EQ(x, y);
  rope_cos_sin(f, 3, cs, sn);
  apply_rope(y.data(), 1, 8, cs, sn);
  float a = 3.0f * f.inv_freq[0];
  EXPECT_NEAR(y[0], 1 * std::cos(a) - 5 * std::sin(a), 1e-5);
  EXPECT_NEAR(y[4], 5 * std::cos(a) + 1 * std::sin(a), 1e-5);
  double n0 = 0, n1 = 0;
  for (int i = 0; i < 8; ++i) n0 += x[size_t(i)] * x[size_t(i)], n1 += y[size_t(i)] * y[size_t(i)];
  EXPECT_NEAR(n0, n1, 1e-3);
}

TEST(OpsRmsNorm, MatchesDouble) {
  std::vector<float> x = {1, -2, 3, 0.5f, 4, -1}, w = {1, 2, 0.5f}, y(6);
  rms_norm(x.data(), 2, 3, w.data(), 1e-6f, y.data());
  for (int r = 0; r < 2; ++r) {
    double ss = 0;
    for (int i = 0; i < 3; ++i) ss += double(x[size_t(r * 3 + i)]) * x[size_t(r * 3 + i)];
    double inv = 1.0 / std::sqrt(ss / 3 + 1e-6);
    for (int i = 0; i < 3; ++i)
      EXPECT_NEAR(y[size_t(r * 3 + i)], w[size_t(i)] * x[size_t(r * 3 + i)] * inv, 1e-6);
  }
}

// Every attention path this CPU has (and the dispatching paged_attention)
// against a float64 dense reference: two sequences with cached and new rows,
// head sizes that exercise the vector tails (8, 20) and whole vectors (64, 128).
void check_attention(internal::AttendFn fn, const char* name, int64_t Hq, int64_t Hkv, int64_t D,
                     int64_t bs, int32_t cached_a, int32_t new_a) {
  const int64_t ts = Hkv * D;
  const int64_t nblocks = 64;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  ForwardBatch b;
  std::vector<int32_t> table_a;
  const int32_t len_a = cached_a + new_a;
  for (int32_t i = 0; i * bs < len_a; ++i) table_a.push_back(int32_t((i * 7 + 3) % nblocks));
  SeqSlice a{0, new_a, len_a, table_a};
  SeqSlice s2{new_a, 1, 2, {int32_t(nblocks - 1)}};
  b.seqs = {a, s2};
  b.token_ids.assign(size_t(new_a + 1), 0);
  std::vector<float> kc(size_t(nblocks * bs * ts)), vc(kc.size());
  for (auto& v : kc) v = nd(rng);
  for (auto& v : vc) v = nd(rng);
  const int64_t T = new_a + 1;
  std::vector<float> q(size_t(T * Hq * D)), out(q.size());
  for (auto& v : q) v = nd(rng);
  ThreadPool pool(2);
  const AttentionShape shape{Hq, Hkv, D, bs, ts};
  if (fn) {
    internal::paged_attention_with(fn, b, shape, q.data(), kc.data(), vc.data(), out.data(), pool);
  } else {
    paged_attention(b, shape, q.data(), kc.data(), vc.data(), out.data(), pool);
  }
  for (size_t si = 0; si < b.seqs.size(); ++si) {
    const SeqSlice& s = b.seqs[si];
    for (int32_t j = 0; j < s.num_tokens; ++j) {
      const int64_t row = s.token_start + j, pos = s.context_len - s.num_tokens + j;
      for (int64_t h = 0; h < Hq; ++h) {
        const int64_t kvh = h / (Hq / Hkv);
        std::vector<double> sc;
        double mx = -1e300;
        for (int64_t t = 0; t <= pos; ++t) {
          const float* k = kc.data() + (s.block_table[size_t(t / bs)] * bs + t % bs) * ts + kvh * D;
          double d = 0;
          for (int64_t i = 0; i < D; ++i) d += double(q[size_t((row * Hq + h) * D + i)]) * k[i];
          sc.push_back(d / std::sqrt(double(D)));
          mx = std::max(mx, sc.back());
        }
        double sum = 0;
        for (auto& v : sc) sum += (v = std::exp(v - mx));
        for (int64_t i = 0; i < D; ++i) {
          double acc = 0;
          for (int64_t t = 0; t <= pos; ++t) {
            const float* v =
                vc.data() + (s.block_table[size_t(t / bs)] * bs + t % bs) * ts + kvh * D;
            acc += sc[size_t(t)] / sum * v[i];
          }
          ASSERT_NEAR(out[size_t((row * Hq + h) * D + i)], acc, 2e-5)
              << name << " D=" << D << " row " << row << " head " << h << " i " << i;
        }
      }
    }
  }
}

TEST(OpsAttention, EveryPathMatchesDense) {
  internal::AttendPath p[4];
  const int n = internal::available_attend_paths(p, 4);
  std::vector<internal::AttendPath> paths(p, p + n);
  paths.push_back({"dispatch", nullptr});
  for (const auto& path : paths) {
    check_attention(path.fn, path.name, 4, 2, 8, 4, 5, 3);
    check_attention(path.fn, path.name, 6, 2, 20, 4, 9, 4);
    check_attention(path.fn, path.name, 14, 2, 64, 16, 40, 9);
    check_attention(path.fn, path.name, 8, 4, 128, 16, 70, 2);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(OpsAttention, ReportsPaths) {
  internal::AttendPath p[4];
  const int n = internal::available_attend_paths(p, 4);
  ASSERT_GE(n, 1);
  EXPECT_STREQ(p[n - 1].name, "scalar");
}

}  // namespace
}  // namespace yun
