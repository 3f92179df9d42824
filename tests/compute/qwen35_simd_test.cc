// Every SIMD path of the Gated DeltaNet ops (compute/cpu/gated_delta_kernels.h)
// against the plain float32 references (kDeltaKernelsScalar) on random data
// and odd shapes: head dims that are not multiples of 16 or 8, one token,
// both sides of chunk boundaries, strided rows as the runner lays them out,
// and the state carried over pieces (chunked prefill, then recurrent decode,
// then another chunk). Tolerances are relative to the largest reference value
// (float32 accumulation vs the references' double).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "yun/compute/cpu/causal_conv.h"
#include "yun/compute/cpu/gated_delta.h"
#include "yun/compute/cpu/gated_delta_kernels.h"

namespace yun {
namespace {

using internal::DeltaKernels;

std::vector<internal::DeltaPath> paths() {
  internal::DeltaPath p[3];
  const int n = internal::available_delta_paths(p, 3);
  return std::vector<internal::DeltaPath>(p, p + n);
}

TEST(Qwen35SimdTest, ReportsPaths) {
  const auto p = paths();
  ASSERT_FALSE(p.empty());
  EXPECT_STREQ(p.back().name, "scalar");
  for (const auto& x : p) std::printf("delta path: %s\n", x.name);
}

double max_rel(const float* got, const float* want, int64_t n) {
  double mx = 0, err = 0;
  for (int64_t i = 0; i < n; ++i) {
    mx = std::max(mx, std::fabs(double(want[i])));
    err = std::max(err, std::fabs(double(got[i]) - double(want[i])));
    if (!std::isfinite(got[i])) return 1e30;
  }
  return mx > 0 ? err / mx : err;
}

// One head's inputs laid out as the runner does: q, k, v in rows of `stride`
// floats (q at 0, k at Dk + 1, v after them), g and beta with stride 3.
struct Head {
  int64_t n, Dk, Dv, stride;
  std::vector<float> rows, g, beta, state;
};

Head random_head(int64_t n, int64_t Dk, int64_t Dv, uint64_t seed, bool with_state) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd;
  std::uniform_real_distribution<float> ud(0.0f, 1.0f);
  Head h{n, Dk, Dv, 2 * Dk + Dv + 3, {}, {}, {}, {}};
  h.rows.resize(size_t(n * h.stride));
  for (auto& e : h.rows) e = nd(rng);
  for (int64_t t = 0; t < n; ++t) {
    float* r = h.rows.data() + t * h.stride;
    internal::kDeltaKernelsScalar.l2_norm(r, Dk, 1e-6f, float(1.0 / std::sqrt(double(Dk))));
    internal::kDeltaKernelsScalar.l2_norm(r + Dk + 1, Dk, 1e-6f, 1.0f);
  }
  h.g.resize(size_t(3 * n));
  h.beta.resize(size_t(3 * n));
  for (int64_t t = 0; t < n; ++t) {
    h.g[size_t(3 * t)] = -0.5f * ud(rng);  // decays from 1 down to e^-0.5 per token
    h.beta[size_t(3 * t)] = ud(rng);
  }
  h.state.assign(size_t(Dk * Dv), 0.0f);
  if (with_state)
    for (auto& e : h.state) e = 0.5f * nd(rng);
  return h;
}

DeltaHeadArgs head_args(Head& h, std::vector<float>& out, int64_t t0, int64_t n) {
  DeltaHeadArgs a;
  a.n = n;
  a.Dk = h.Dk;
  a.Dv = h.Dv;
  a.q = h.rows.data() + t0 * h.stride;
  a.k = a.q + h.Dk + 1;
  a.qk_stride = h.stride;
  a.v = a.q + 2 * h.Dk + 2;
  a.v_stride = h.stride;
  a.o = out.data() + t0 * (h.Dv + 1);
  a.o_stride = h.Dv + 1;
  a.g = h.g.data() + 3 * t0;
  a.beta = h.beta.data() + 3 * t0;
  a.gb_stride = 3;
  a.state = h.state.data();
  return a;
}

// Runs pieces (length, recurrent?) of a head with kernels kk; returns o and leaves h.state.
std::vector<float> run_pieces(const DeltaKernels& kk, Head& h,
                              const std::vector<std::pair<int64_t, bool>>& pieces, int64_t chunk) {
  std::vector<float> o(size_t(h.n * (h.Dv + 1)), -7.0f);
  int64_t at = 0;
  for (auto [len, recurrent] : pieces) {
    const DeltaHeadArgs a = head_args(h, o, at, len);
    if (recurrent)
      kk.recurrent(a);
    else
      kk.chunked(a, chunk);
    at += len;
  }
  return o;
}

const std::vector<std::pair<int64_t, int64_t>> kHeadDims = {{16, 20}, {7, 3}, {128, 128}, {33, 70},
                                                            {48, 17}, {1, 1}, {64, 24}};

TEST(Qwen35SimdTest, RecurrentMatchesTheReference) {
  uint64_t seed = 0;
  for (const auto& p : paths()) {
    for (auto [Dk, Dv] : kHeadDims) {
      for (int64_t n : {1, 2, 9}) {
        for (bool with_state : {false, true}) {
          Head ref = random_head(n, Dk, Dv, ++seed, with_state), got = ref;
          const auto o_ref = run_pieces(internal::kDeltaKernelsScalar, ref, {{n, true}}, 64);
          const auto o_got = run_pieces(*p.fn, got, {{n, true}}, 64);
          const std::string what = std::string(p.name) + " Dk " + std::to_string(Dk) + " Dv " +
                                   std::to_string(Dv) + " n " + std::to_string(n);
          EXPECT_LT(max_rel(o_got.data(), o_ref.data(), int64_t(o_ref.size())), 2e-5) << what;
          EXPECT_LT(max_rel(got.state.data(), ref.state.data(), Dk * Dv), 2e-5) << what;
        }
      }
    }
  }
}

TEST(Qwen35SimdTest, ChunkedMatchesTheReference) {
  uint64_t seed = 100;
  for (const auto& p : paths()) {
    for (auto [Dk, Dv] : kHeadDims) {
      for (int64_t n : {1, 2, 63, 64, 65, 130}) {
        for (int64_t chunk : {int64_t(5), int64_t(64)}) {
          for (bool with_state : {false, true}) {
            Head ref = random_head(n, Dk, Dv, ++seed, with_state), got = ref;
            const auto o_ref = run_pieces(internal::kDeltaKernelsScalar, ref, {{n, false}}, chunk);
            const auto o_got = run_pieces(*p.fn, got, {{n, false}}, chunk);
            const std::string what = std::string(p.name) + " Dk " + std::to_string(Dk) + " Dv " +
                                     std::to_string(Dv) + " n " + std::to_string(n) + " chunk " +
                                     std::to_string(chunk) + " state " + std::to_string(with_state);
            EXPECT_LT(max_rel(o_got.data(), o_ref.data(), int64_t(o_ref.size())), 1e-4) << what;
            EXPECT_LT(max_rel(got.state.data(), ref.state.data(), Dk * Dv), 1e-4) << what;
          }
        }
      }
    }
  }
}

// Chunked prefill pieces (across a chunk boundary), decode steps, another
// piece: the state carried through each path equals the reference's.
TEST(Qwen35SimdTest, StateCarriesOverPrefillAndDecode) {
  const std::vector<std::pair<int64_t, bool>> pieces = {
      {70, false}, {1, true}, {1, true}, {64, false}, {3, true}, {2, false}, {1, true}};
  int64_t n = 0;
  for (auto [len, r] : pieces) n += len;
  uint64_t seed = 500;
  for (const auto& p : paths()) {
    for (auto [Dk, Dv] : kHeadDims) {
      Head ref = random_head(n, Dk, Dv, ++seed, true), got = ref;
      const auto o_ref = run_pieces(internal::kDeltaKernelsScalar, ref, pieces, 64);
      const auto o_got = run_pieces(*p.fn, got, pieces, 64);
      const std::string what =
          std::string(p.name) + " Dk " + std::to_string(Dk) + " Dv " + std::to_string(Dv);
      EXPECT_LT(max_rel(o_got.data(), o_ref.data(), int64_t(o_ref.size())), 1e-4) << what;
      EXPECT_LT(max_rel(got.state.data(), ref.state.data(), Dk * Dv), 1e-4) << what;
      // Outputs land only in their own Dv columns (the padding column is untouched).
      for (int64_t t = 0; t < n; ++t) EXPECT_EQ(o_got[size_t(t * (Dv + 1) + Dv)], -7.0f) << what;
    }
  }
}

TEST(Qwen35SimdTest, CausalConvMatchesTheReference) {
  std::mt19937_64 rng(9);
  std::normal_distribution<float> nd;
  for (const auto& p : paths()) {
    for (int64_t C : {1, 5, 16, 67, 6144 + 3}) {
      for (int64_t K : {1, 2, 4}) {
        for (std::vector<int64_t> pieces :
             {std::vector<int64_t>{1}, {9}, {1, 1, 1, 6}, {2, 5, 1, 3}}) {
          int64_t n = 0;
          for (int64_t len : pieces) n += len;
          const int64_t us = C + 2, ys = C + 1;  // strided rows
          std::vector<float> u(size_t(n * us)), w(size_t(C * K)), st(size_t((K - 1) * C));
          for (auto& e : u) e = nd(rng);
          for (auto& e : w) e = nd(rng);
          for (auto& e : st) e = nd(rng);  // a carried-over state
          std::vector<float> st_ref = st, st_got = st;
          std::vector<float> y_ref(size_t(n * ys), -3.0f), y_got = y_ref;
          int64_t at = 0;
          for (int64_t len : pieces) {
            internal::kDeltaKernelsScalar.conv(u.data() + at * us, us, len, C, w.data(), K,
                                               st_ref.data(), y_ref.data() + at * ys, ys);
            p.fn->conv(u.data() + at * us, us, len, C, w.data(), K, st_got.data(),
                       y_got.data() + at * ys, ys);
            at += len;
          }
          const std::string what = std::string(p.name) + " C " + std::to_string(C) + " K " +
                                   std::to_string(K) + " n " + std::to_string(n);
          EXPECT_LT(max_rel(y_got.data(), y_ref.data(), int64_t(y_ref.size())), 1e-6) << what;
          EXPECT_EQ(st_got, st_ref) << what;
        }
      }
    }
  }
}

TEST(Qwen35SimdTest, NormsMatchTheReference) {
  std::mt19937_64 rng(11);
  std::normal_distribution<float> nd;
  for (const auto& p : paths()) {
    for (int64_t n : {1, 3, 8, 16, 20, 33, 128, 131}) {
      for (float scale : {1.0f, 0.25f, 1e-3f}) {  // 1e-3: a head whose rms is near sqrt(eps)
        std::vector<float> x(static_cast<size_t>(n)), z = x, w = x;
        for (auto& e : x) e = scale * nd(rng);
        for (auto& e : z) e = 3.0f * nd(rng);
        for (auto& e : w) e = nd(rng);
        std::vector<float> a = x, b = x;
        internal::kDeltaKernelsScalar.l2_norm(a.data(), n, 1e-6f, 0.5f);
        p.fn->l2_norm(b.data(), n, 1e-6f, 0.5f);
        EXPECT_LT(max_rel(b.data(), a.data(), n), 2e-6) << p.name << " l2 n " << n;
        a = x;
        b = x;
        internal::kDeltaKernelsScalar.gated_norm(a.data(), z.data(), w.data(), n, 1e-6f);
        p.fn->gated_norm(b.data(), z.data(), w.data(), n, 1e-6f);
        EXPECT_LT(max_rel(b.data(), a.data(), n), 2e-6) << p.name << " gated n " << n;
      }
    }
  }
}

// The public entry points run the best path (the first listed).
TEST(Qwen35SimdTest, PublicFunctionsUseTheBestPath) {
  const DeltaKernels& best = *paths().front().fn;
  Head a = random_head(5, 33, 70, 77, true), b = a;
  std::vector<float> oa(size_t(5 * 71)), ob = oa;
  gated_delta_chunked(head_args(a, oa, 0, 5), 64);
  best.chunked(head_args(b, ob, 0, 5), 64);
  EXPECT_EQ(oa, ob);
  EXPECT_EQ(a.state, b.state);
  gated_delta_recurrent(head_args(a, oa, 0, 1));
  best.recurrent(head_args(b, ob, 0, 1));
  EXPECT_EQ(oa, ob);
  EXPECT_EQ(a.state, b.state);
}

}  // namespace
}  // namespace yun
