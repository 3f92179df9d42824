// The Gated DeltaNet ops (compute/cpu/gated_delta.h, causal_conv.h) against
// plain float64 references on random data and odd shapes: the chunked form
// equals the recurrent form and the textbook recurrence, pieces carried over
// the state equal the whole, and the conv equals a zero-padded depthwise conv.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "yun/compute/cpu/causal_conv.h"
#include "yun/compute/cpu/gated_delta.h"
#include "yun/compute/cpu/rope.h"

namespace yun {
namespace {

struct Inputs {
  int64_t n, Dk, Dv;
  std::vector<float> q, k, v, g, beta, state;
};

Inputs random_inputs(int64_t n, int64_t Dk, int64_t Dv, uint64_t seed, bool with_state) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd;
  std::uniform_real_distribution<float> ud(0.0f, 1.0f);
  Inputs in{n, Dk, Dv, {}, {}, {}, {}, {}, {}};
  auto fill = [&](std::vector<float>& x, int64_t m) {
    x.resize(size_t(m));
    for (auto& e : x) e = nd(rng);
  };
  fill(in.q, n * Dk);
  fill(in.k, n * Dk);
  fill(in.v, n * Dv);
  for (int64_t t = 0; t < n; ++t) {
    l2_normalize(in.q.data() + t * Dk, Dk, 1e-6f, float(1.0 / std::sqrt(double(Dk))));
    l2_normalize(in.k.data() + t * Dk, Dk, 1e-6f, 1.0f);
    in.g.push_back(-0.3f * ud(rng));
    in.beta.push_back(ud(rng));
  }
  in.state.assign(size_t(Dk * Dv), 0.0f);
  if (with_state) fill(in.state, Dk * Dv);
  return in;
}

DeltaHeadArgs args(Inputs& in, std::vector<float>& out, int64_t t0, int64_t n) {
  DeltaHeadArgs a;
  a.n = n;
  a.Dk = in.Dk;
  a.Dv = in.Dv;
  a.q = in.q.data() + t0 * in.Dk;
  a.k = in.k.data() + t0 * in.Dk;
  a.qk_stride = in.Dk;
  a.v = in.v.data() + t0 * in.Dv;
  a.v_stride = in.Dv;
  a.o = out.data() + t0 * in.Dv;
  a.o_stride = in.Dv;
  a.g = in.g.data() + t0;
  a.beta = in.beta.data() + t0;
  a.gb_stride = 1;
  a.state = in.state.data();
  return a;
}

// S_t = a_t (I - b_t k_t k_t^T) S_{t-1} + b_t k_t v_t^T; o_t = S_t^T q_t, in double.
void textbook(const Inputs& in, std::vector<double>& o, std::vector<double>& S) {
  const int64_t Dk = in.Dk, Dv = in.Dv;
  S.assign(in.state.begin(), in.state.end());
  o.assign(size_t(in.n * Dv), 0.0);
  for (int64_t t = 0; t < in.n; ++t) {
    const float* k = in.k.data() + t * Dk;
    const float* q = in.q.data() + t * Dk;
    const double a = std::exp(double(in.g[size_t(t)])), b = in.beta[size_t(t)];
    std::vector<double> kS(size_t(Dv), 0.0);  // k^T S
    for (int64_t i = 0; i < Dk; ++i)
      for (int64_t j = 0; j < Dv; ++j) kS[size_t(j)] += double(k[i]) * S[size_t(i * Dv + j)];
    for (int64_t i = 0; i < Dk; ++i)
      for (int64_t j = 0; j < Dv; ++j) {
        double& s = S[size_t(i * Dv + j)];
        s = a * (s - b * double(k[i]) * kS[size_t(j)]) +
            b * double(k[i]) * double(in.v[size_t(t * Dv + j)]);
      }
    for (int64_t j = 0; j < Dv; ++j)
      for (int64_t i = 0; i < Dk; ++i)
        o[size_t(t * Dv + j)] += S[size_t(i * Dv + j)] * double(q[i]);
  }
}

double max_rel(const std::vector<float>& a, const std::vector<double>& b) {
  double mx = 0, err = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    mx = std::max(mx, std::fabs(b[i]));
    err = std::max(err, std::fabs(double(a[i]) - b[i]));
  }
  return mx > 0 ? err / mx : err;
}

TEST(Qwen35OpsTest, ChunkedAndRecurrentMatchTheTextbookRecurrence) {
  int trial = 0;
  for (int64_t n : {1, 2, 5, 63, 64, 65, 130}) {
    for (auto [Dk, Dv] : {std::pair<int64_t, int64_t>{16, 20}, {7, 3}, {32, 32}}) {
      for (int64_t chunk : {int64_t(4), int64_t(64)}) {
        for (bool with_state : {false, true}) {
          Inputs in = random_inputs(n, Dk, Dv, uint64_t(++trial), with_state);
          std::vector<double> o_ref, S_ref;
          textbook(in, o_ref, S_ref);
          Inputs rec = in, chk = in;
          std::vector<float> o_rec(size_t(n * Dv)), o_chk(size_t(n * Dv));
          gated_delta_recurrent(args(rec, o_rec, 0, n));
          gated_delta_chunked(args(chk, o_chk, 0, n), chunk);
          const std::string what = "n " + std::to_string(n) + " Dk " + std::to_string(Dk) + " Dv " +
                                   std::to_string(Dv) + " chunk " + std::to_string(chunk);
          EXPECT_LT(max_rel(o_rec, o_ref), 1e-5) << what;
          EXPECT_LT(max_rel(o_chk, o_ref), 1e-5) << what;
          EXPECT_LT(max_rel(rec.state, S_ref), 1e-5) << what;
          EXPECT_LT(max_rel(chk.state, S_ref), 1e-5) << what;
        }
      }
    }
  }
}

TEST(Qwen35OpsTest, PiecesCarriedOverTheStateEqualTheWhole) {
  Inputs in = random_inputs(100, 16, 24, 7, true);
  std::vector<double> o_ref, S_ref;
  textbook(in, o_ref, S_ref);
  std::vector<float> o(size_t(100 * 24));
  int64_t at = 0;
  for (int64_t len : {17, 1, 1, 50, 31}) {
    DeltaHeadArgs a = args(in, o, at, len);
    if (len == 1)
      gated_delta_recurrent(a);
    else
      gated_delta_chunked(a);
    at += len;
  }
  EXPECT_LT(max_rel(o, o_ref), 1e-5);
  EXPECT_LT(max_rel(in.state, S_ref), 1e-5);
}

TEST(Qwen35OpsTest, CausalConvCarriesItsState) {
  const int64_t C = 5, K = 4, n = 11;
  std::mt19937_64 rng(3);
  std::normal_distribution<float> nd;
  std::vector<float> u(size_t(n * C)), w(size_t(C * K));
  for (auto& e : u) e = nd(rng);
  for (auto& e : w) e = nd(rng);
  // Reference: zero-padded depthwise conv, then SiLU, in double.
  std::vector<double> ref(size_t(n * C));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < C; ++c) {
      double acc = 0;
      for (int64_t j = 0; j < K; ++j) {
        const int64_t src = t - (K - 1) + j;
        if (src >= 0) acc += double(w[size_t(c * K + j)]) * double(u[size_t(src * C + c)]);
      }
      ref[size_t(t * C + c)] = acc / (1.0 + std::exp(-acc));
    }
  for (std::vector<int64_t> pieces : {std::vector<int64_t>{11}, {1, 1, 1, 1, 7}, {2, 5, 4}}) {
    std::vector<float> state(size_t((K - 1) * C), 0.0f), y(size_t(n * C));
    int64_t at = 0;
    for (int64_t len : pieces) {
      causal_conv1d_silu(u.data() + at * C, C, len, C, w.data(), K, state.data(), y.data() + at * C,
                         C);
      at += len;
    }
    EXPECT_LT(max_rel(y, ref), 1e-6);
    // The state is the last K-1 inputs.
    for (int64_t r = 0; r < K - 1; ++r)
      for (int64_t c = 0; c < C; ++c)
        EXPECT_EQ(state[size_t(r * C + c)], u[size_t((n - (K - 1) + r) * C + c)]);
  }
}

TEST(Qwen35OpsTest, PartialRopeRotatesOnlyTheFirstDims) {
  const int64_t D = 12, rd = 4;
  std::vector<float> x(size_t(2 * D)), y;
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i + 1);
  y = x;
  const float c[2] = {0.5f, -1.0f}, s[2] = {0.25f, 0.0f};
  apply_rope_partial(y.data(), 2, D, rd, c, s);
  for (int64_t h = 0; h < 2; ++h) {
    const float* a = x.data() + h * D;
    const float* b = y.data() + h * D;
    for (int64_t i = 0; i < 2; ++i) {
      EXPECT_FLOAT_EQ(b[i], a[i] * c[i] - a[i + 2] * s[i]);
      EXPECT_FLOAT_EQ(b[i + 2], a[i + 2] * c[i] + a[i] * s[i]);
    }
    for (int64_t i = rd; i < D; ++i) EXPECT_EQ(b[i], a[i]);
  }
}

TEST(Qwen35OpsTest, GatedNormDecayAndBeta) {
  const float o0[5] = {0.5f, -1.0f, 2.0f, 0.0f, 3.0f}, z[5] = {1.0f, -2.0f, 0.5f, 4.0f, -0.25f};
  const float w[5] = {1.0f, 0.5f, -1.0f, 2.0f, 0.25f};
  float o[5];
  std::copy(o0, o0 + 5, o);
  gated_rms_norm(o, z, w, 5, 1e-6f);
  double ss = 0;
  for (float v : o0) ss += double(v) * v;
  const double inv = 1.0 / std::sqrt(ss / 5 + 1e-6);
  for (int i = 0; i < 5; ++i) {
    const double silu = z[i] / (1.0 + std::exp(-double(z[i])));
    EXPECT_NEAR(o[i], w[i] * o0[i] * inv * silu, 1e-6) << i;
  }
  // g = -exp(A_log) * softplus(a + dt_bias); softplus linear past 20.
  for (float a : {-30.0f, -1.0f, 0.0f, 2.5f, 19.0f, 25.0f}) {
    const double x = double(a) + 0.5;
    const double sp = x > 20 ? x : std::log1p(std::exp(x));
    EXPECT_NEAR(delta_log_decay(a, 0.3f, 0.5f), -std::exp(0.3) * sp, 1e-5 * (1 + sp)) << a;
  }
  EXPECT_NEAR(delta_beta(0.0f), 0.5f, 1e-7);
  EXPECT_NEAR(delta_beta(3.0f), 1.0 / (1.0 + std::exp(-3.0)), 1e-7);
  float x[3] = {3.0f, 4.0f, 0.0f};
  l2_normalize(x, 3, 1e-6f, 2.0f);
  EXPECT_NEAR(x[0], 2.0 * 3.0 / std::sqrt(25.0 + 1e-6), 1e-6);
  EXPECT_NEAR(x[1], 2.0 * 4.0 / std::sqrt(25.0 + 1e-6), 1e-6);
}

}  // namespace
}  // namespace yun
