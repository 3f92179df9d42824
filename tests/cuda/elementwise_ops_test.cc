// CUDA op tests: embedding, gathers, add_rms_norm, rope_qk (+ q/k norm),
// kv_cache_write, silu_mul, moe_route, moe_combine — each against a float64
// CPU reference on random data, odd and engine-sized shapes, guard bytes.
// Run: build/tests/yun_cuda_tests (skips without a GPU); YUN_CUDA_PERF=1 for timings.
#include <numeric>

#include "cuda/cuda_test_util.h"
#include "yun/compute/cuda/embedding.cuh"
#include "yun/compute/cuda/kv_cache.cuh"
#include "yun/compute/cuda/moe.cuh"
#include "yun/compute/cuda/rms_norm.cuh"
#include "yun/compute/cuda/rope.cuh"
#include "yun/compute/rope_freqs.h"
#include "yun/compute/cuda/silu_mul.cuh"

namespace yun::cuda_test {
namespace {

using cuda::bf16;

TEST(CudaOps, EmbeddingLookup) {
  YUN_SKIP_WITHOUT_GPU();
  for (auto [V, H, T] : std::vector<std::tuple<int, int, int>>{{11, 5, 7}, {1000, 64, 13}, {151, 896, 512}, {4096, 4096, 64}}) {
    Rng rng(uint64_t(V * 31 + H * 7 + T));
    auto table = rng.bf16_values(size_t(V) * H);
    std::vector<int32_t> ids(T);
    for (auto& id : ids) id = rng.randint(0, V - 1);
    DeviceArray<uint16_t> d_table(table.size());
    DeviceArray<int32_t> d_ids(T);
    DeviceArray<float> d_out(size_t(T) * H);
    d_table.upload(to_bf16(table));
    d_ids.upload(ids);
    d_out.poison();
    auto run = [&] { return cuda::embedding_lookup(d_table.as<bf16>(), V, H, d_ids.get(), T, d_out.get(), nullptr); };
    ASSERT_STATUS_OK(run());
    auto out = d_out.download();
    std::vector<double> ref(out.size());
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < H; ++i) ref[size_t(t) * H + i] = table[size_t(ids[t]) * H + i];
    EXPECT_TRUE(close_enough(out, ref, 1e-7, "embedding"));
    EXPECT_TRUE(d_out.guards_intact());
    maybe_perf("embedding", std::to_string(T) + "x" + std::to_string(H), double(T) * H * 6, 0, run);
  }
}

TEST(CudaOps, GatherRows) {
  YUN_SKIP_WITHOUT_GPU();
  Rng rng(5);
  const int rows = 13, W = 7, n = 11;
  auto src = rng.bf16_values(size_t(rows) * W);
  std::vector<int32_t> idx(n);
  for (auto& i : idx) i = rng.randint(0, rows - 1);
  DeviceArray<float> s32(src.size()), d32(size_t(n) * W);
  DeviceArray<uint16_t> s16(src.size()), d16(size_t(n) * W);
  DeviceArray<int32_t> d_idx(n);
  s32.upload(src);
  s16.upload(to_bf16(src));
  d_idx.upload(idx);
  d32.poison();
  d16.poison();
  ASSERT_STATUS_OK(cuda::gather_rows_f32(s32.get(), rows, W, d_idx.get(), n, d32.get(), nullptr));
  ASSERT_STATUS_OK(cuda::gather_rows_bf16(s16.as<bf16>(), rows, W, d_idx.get(), n, d16.as<bf16>(), nullptr));
  std::vector<double> ref(size_t(n) * W);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < W; ++c) ref[size_t(i) * W + c] = src[size_t(idx[i]) * W + c];
  EXPECT_TRUE(close_enough(d32.download(), ref, 0, "gather f32"));
  EXPECT_TRUE(close_enough(from_bf16(d16.download()), ref, 0, "gather bf16"));
  EXPECT_TRUE(d32.guards_intact() && d16.guards_intact());
}

TEST(CudaOps, AddRmsNorm) {
  YUN_SKIP_WITHOUT_GPU();
  for (auto [T, H] : std::vector<std::pair<int, int>>{{1, 7}, {5, 64}, {13, 896}, {64, 5120}, {512, 4096}}) {
    for (bool with_add : {false, true}) {
      Rng rng(uint64_t(T * 1000 + H + with_add));
      std::vector<float> res(size_t(T) * H);
      for (auto& x : res) x = rng.uniform(-4, 4);
      auto add = rng.bf16_values(res.size(), -2, 2);
      auto w = rng.bf16_values(size_t(H), 0.5f, 1.5f);
      const float eps = 1e-6f;
      DeviceArray<float> d_res(res.size());
      DeviceArray<uint16_t> d_add(add.size()), d_w(static_cast<size_t>(H)), d_out(res.size());
      d_res.upload(res);
      d_add.upload(to_bf16(add));
      d_w.upload(to_bf16(w));
      d_out.poison();
      ASSERT_STATUS_OK(cuda::add_rms_norm(d_res.get(), with_add ? d_add.as<bf16>() : nullptr, d_w.as<bf16>(), eps,
                                          d_out.as<bf16>(), T, H, nullptr));
      std::vector<double> ref_res(res.size()), ref_out(res.size());
      for (int t = 0; t < T; ++t) {
        double ss = 0;
        for (int i = 0; i < H; ++i) {
          const size_t k = size_t(t) * H + i;
          ref_res[k] = double(res[k]) + (with_add ? add[k] : 0.0);
          ss += ref_res[k] * ref_res[k];
        }
        const double inv = 1.0 / std::sqrt(ss / H + eps);
        for (int i = 0; i < H; ++i) ref_out[size_t(t) * H + i] = ref_res[size_t(t) * H + i] * inv * w[i];
      }
      const std::string name = "add_rms_norm " + std::to_string(T) + "x" + std::to_string(H);
      EXPECT_TRUE(close_enough(d_res.download(), ref_res, 1e-6, name + " residual"));
      EXPECT_TRUE(close_enough(from_bf16(d_out.download()), ref_out, 1e-2, name + " out"));
      EXPECT_TRUE(d_res.guards_intact() && d_out.guards_intact());
      if (with_add)
        maybe_perf("add_rms_norm", std::to_string(T) + "x" + std::to_string(H), double(T) * H * 12, double(T) * H * 5, [&] {
          return cuda::add_rms_norm(d_res.get(), d_add.as<bf16>(), d_w.as<bf16>(), eps, d_out.as<bf16>(), T, H, nullptr);
        });
    }
  }
}

ModelConfig rope_config(int head_dim, bool yarn) {
  ModelConfig c;
  c.head_dim = head_dim;
  c.rope_theta = yarn ? 1e6 : 10000.0;
  c.max_position_embeddings = 256;
  if (yarn) {
    c.rope_scaling.type = RopeScaling::Type::kYarn;
    c.rope_scaling.factor = 4;
    c.rope_scaling.original_max_position_embeddings = 64;
  }
  return c;
}

TEST(CudaOps, RopeQk) {
  YUN_SKIP_WITHOUT_GPU();
  struct Case { int T, nq, nkv, hd; bool norm, yarn; };
  for (const Case& c : std::vector<Case>{{1, 4, 1, 16, false, false}, {7, 8, 8, 64, true, false},
                                         {33, 14, 2, 128, false, true}, {5, 3, 1, 6, true, true},
                                         {256, 32, 8, 128, true, false}}) {
    Rng rng(uint64_t(c.T * 131 + c.nq * 17 + c.hd));
    const int stride = (c.nq + 2 * c.nkv) * c.hd + 3;  // odd extra columns: stride honored
    auto qkv = rng.bf16_values(size_t(c.T) * stride, -2, 2);
    std::vector<int32_t> pos(c.T);
    for (auto& p : pos) p = rng.randint(0, 4000);
    auto qn = rng.bf16_values(size_t(c.hd), 0.5f, 1.5f), kn = rng.bf16_values(size_t(c.hd), 0.5f, 1.5f);
    RopeFreqs table = compute_rope_freqs(rope_config(c.hd, c.yarn));
    DeviceArray<uint16_t> d_qkv(qkv.size()), d_qn(qn.size()), d_kn(kn.size());
    DeviceArray<int32_t> d_pos(pos.size());
    DeviceArray<float> d_inv(table.inv_freq.size());
    d_qkv.upload(to_bf16(qkv));
    d_qn.upload(to_bf16(qn));
    d_kn.upload(to_bf16(kn));
    d_pos.upload(pos);
    d_inv.upload(table.inv_freq);
    auto run = [&] {
      return cuda::rope_qk(d_qkv.as<bf16>(), c.T, stride, c.nq, c.nkv, c.hd, d_pos.get(), d_inv.get(),
                           table.attention_scale, c.norm ? d_qn.as<bf16>() : nullptr,
                           c.norm ? d_kn.as<bf16>() : nullptr, 1e-6f, nullptr);
    };
    ASSERT_STATUS_OK(run());
    std::vector<double> ref(qkv.begin(), qkv.end());
    const int half = c.hd / 2;
    for (int t = 0; t < c.T; ++t) {
      for (int h = 0; h < c.nq + c.nkv; ++h) {
        double* x = ref.data() + size_t(t) * stride + size_t(h) * c.hd;
        if (c.norm) {
          const auto& w = h < c.nq ? qn : kn;
          double ss = 0;
          for (int i = 0; i < c.hd; ++i) ss += x[i] * x[i];
          const double inv = 1.0 / std::sqrt(ss / c.hd + 1e-6);
          for (int i = 0; i < c.hd; ++i) x[i] = x[i] * inv * w[i];
        }
        for (int i = 0; i < half; ++i) {
          const double ang = double(float(pos[t]) * table.inv_freq[i]);  // float angle, as HF
          const double cs = std::cos(ang) * table.attention_scale, sn = std::sin(ang) * table.attention_scale;
          const double x1 = x[i], x2 = x[i + half];
          x[i] = x1 * cs - x2 * sn;
          x[i + half] = x2 * cs + x1 * sn;
        }
      }
    }
    EXPECT_TRUE(close_enough(from_bf16(d_qkv.download()), ref, 1e-2, "rope hd=" + std::to_string(c.hd)));
    EXPECT_TRUE(d_qkv.guards_intact());
    const double elems = double(c.T) * (c.nq + c.nkv) * c.hd;
    maybe_perf("rope_qk", std::to_string(c.T) + "x" + std::to_string(c.nq) + "+" + std::to_string(c.nkv) + "x" + std::to_string(c.hd),
               elems * 4, elems * 6, run);
  }
}

TEST(CudaOps, RopeFreqsDefaultMatchesFormula) {
  // Host-only: no GPU needed.
  RopeFreqs t = compute_rope_freqs(rope_config(64, false));
  ASSERT_EQ(t.inv_freq.size(), 32u);
  EXPECT_FLOAT_EQ(t.inv_freq[0], 1.f);
  EXPECT_NEAR(t.inv_freq[31], 1.0 / std::pow(10000.0, 62.0 / 64), 1e-9);
  EXPECT_EQ(t.attention_scale, 1.f);
  RopeFreqs y = compute_rope_freqs(rope_config(16, true));
  EXPECT_NEAR(y.attention_scale, 0.1 * std::log(4.0) + 1.0, 1e-6);
  EXPECT_FLOAT_EQ(y.inv_freq[0], 1.f);  // high frequencies extrapolate
}

TEST(CudaOps, KvCacheWrite) {
  YUN_SKIP_WITHOUT_GPU();
  for (auto [T, nkv, hd, slots_n] : std::vector<std::tuple<int, int, int, int>>{{1, 1, 16, 7}, {13, 2, 5, 40}, {64, 8, 128, 1024}}) {
    Rng rng(uint64_t(T + nkv * 10 + hd));
    const int q = 4 * hd, kv = nkv * hd, stride = q + 2 * kv;
    auto qkv = rng.bf16_values(size_t(T) * stride);
    auto kc = rng.bf16_values(size_t(slots_n) * kv), vc = rng.bf16_values(size_t(slots_n) * kv);
    std::vector<int32_t> perm(slots_n);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng.engine());
    std::vector<int32_t> slots(T);
    for (int t = 0; t < T; ++t) slots[t] = (t % 5 == 4) ? -1 : perm[t % slots_n];
    if (T > slots_n) slots.assign(T, -1), slots[0] = 0;
    DeviceArray<uint16_t> d_qkv(qkv.size()), d_k(kc.size()), d_v(vc.size());
    DeviceArray<int32_t> d_slots(T);
    d_qkv.upload(to_bf16(qkv));
    d_k.upload(to_bf16(kc));
    d_v.upload(to_bf16(vc));
    d_slots.upload(slots);
    auto run = [&] {
      return cuda::kv_cache_write(d_qkv.as<bf16>(), T, stride, q, q + kv, kv, d_slots.get(), d_k.as<bf16>(),
                                  d_v.as<bf16>(), slots_n, nullptr);
    };
    ASSERT_STATUS_OK(run());
    std::vector<double> rk(kc.begin(), kc.end()), rv(vc.begin(), vc.end());
    for (int t = 0; t < T; ++t) {
      if (slots[t] < 0) continue;
      for (int i = 0; i < kv; ++i) {
        rk[size_t(slots[t]) * kv + i] = qkv[size_t(t) * stride + q + i];
        rv[size_t(slots[t]) * kv + i] = qkv[size_t(t) * stride + q + kv + i];
      }
    }
    EXPECT_TRUE(close_enough(from_bf16(d_k.download()), rk, 0, "kv write k"));
    EXPECT_TRUE(close_enough(from_bf16(d_v.download()), rv, 0, "kv write v"));
    EXPECT_TRUE(d_k.guards_intact() && d_v.guards_intact());
    maybe_perf("kv_cache_write", std::to_string(T) + "x" + std::to_string(kv), double(T) * kv * 8, 0, run);
  }
}

TEST(CudaOps, SiluMul) {
  YUN_SKIP_WITHOUT_GPU();
  for (auto [T, I] : std::vector<std::pair<int, int>>{{1, 5}, {7, 128}, {64, 1000}, {512, 18944}}) {
    Rng rng(uint64_t(T * 7 + I));
    auto gu = rng.bf16_values(size_t(T) * 2 * I, -6, 6);
    DeviceArray<uint16_t> d_gu(gu.size()), d_out(size_t(T) * I);
    d_gu.upload(to_bf16(gu));
    d_out.poison();
    auto run = [&] { return cuda::silu_mul(d_gu.as<bf16>(), d_out.as<bf16>(), T, I, nullptr); };
    ASSERT_STATUS_OK(run());
    std::vector<double> ref(size_t(T) * I);
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < I; ++i) {
        const double g = gu[size_t(t) * 2 * I + i], u = gu[size_t(t) * 2 * I + I + i];
        ref[size_t(t) * I + i] = g / (1 + std::exp(-g)) * u;
      }
    EXPECT_TRUE(close_enough(from_bf16(d_out.download()), ref, 1e-2, "silu_mul"));
    EXPECT_TRUE(d_out.guards_intact());
    maybe_perf("silu_mul", std::to_string(T) + "x" + std::to_string(I), double(T) * I * 6, double(T) * I * 4, run);
  }
}

TEST(CudaOps, MoeRoute) {
  YUN_SKIP_WITHOUT_GPU();
  for (auto [T, E, k] : std::vector<std::tuple<int, int, int>>{{1, 8, 2}, {13, 60, 4}, {64, 128, 8}, {7, 5, 1}}) {
    for (bool renorm : {false, true}) {
      Rng rng(uint64_t(T * 3 + E * 5 + k + renorm));
      std::vector<float> logits(size_t(T) * E);
      for (auto& x : logits) x = rng.uniform(-4, 4);
      DeviceArray<float> d_logits(logits.size()), d_w(size_t(T) * k);
      DeviceArray<int32_t> d_ids(size_t(T) * k);
      d_logits.upload(logits);
      d_w.poison();
      d_ids.poison();
      ASSERT_STATUS_OK(cuda::moe_route(d_logits.get(), T, E, k, renorm, d_ids.get(), d_w.get(), nullptr));
      auto ids = d_ids.download();
      auto w = d_w.download();
      for (int t = 0; t < T; ++t) {
        std::vector<double> p(E);
        double mx = -1e30, sum = 0;
        for (int e = 0; e < E; ++e) mx = std::max(mx, double(logits[size_t(t) * E + e]));
        for (int e = 0; e < E; ++e) sum += (p[e] = std::exp(logits[size_t(t) * E + e] - mx));
        std::vector<int> order(E);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
        double chosen = 0;
        for (int j = 0; j < k; ++j) chosen += p[order[j]] / sum;
        for (int j = 0; j < k; ++j) {
          EXPECT_EQ(ids[size_t(t) * k + j], order[j]) << "t=" << t << " j=" << j;
          const double want = p[order[j]] / sum / (renorm ? chosen : 1.0);
          EXPECT_NEAR(w[size_t(t) * k + j], want, 1e-5 + 1e-5 * want);
        }
      }
      EXPECT_TRUE(d_ids.guards_intact() && d_w.guards_intact());
    }
  }
}

TEST(CudaOps, MoeCombine) {
  YUN_SKIP_WITHOUT_GPU();
  for (auto [T, k, H] : std::vector<std::tuple<int, int, int>>{{1, 2, 7}, {13, 4, 64}, {64, 8, 2048}}) {
    Rng rng(uint64_t(T + k * 100 + H));
    const int P = T * k;
    auto eo = rng.bf16_values(size_t(P) * H);
    std::vector<int32_t> rows(P);
    std::iota(rows.begin(), rows.end(), 0);
    std::shuffle(rows.begin(), rows.end(), rng.engine());
    std::vector<float> w(P), res(size_t(T) * H);
    for (auto& x : w) x = rng.uniform(0, 1);
    for (auto& x : res) x = rng.uniform(-1, 1);
    DeviceArray<uint16_t> d_eo(eo.size());
    DeviceArray<int32_t> d_rows(P);
    DeviceArray<float> d_w(P), d_res(res.size());
    d_eo.upload(to_bf16(eo));
    d_rows.upload(rows);
    d_w.upload(w);
    d_res.upload(res);
    ASSERT_STATUS_OK(cuda::moe_combine(d_eo.as<bf16>(), P, d_rows.get(), d_w.get(), T, k, H, d_res.get(), nullptr));
    std::vector<double> ref(res.begin(), res.end());
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < k; ++j)
        for (int i = 0; i < H; ++i)
          ref[size_t(t) * H + i] += double(w[size_t(t) * k + j]) * eo[size_t(rows[size_t(t) * k + j]) * H + i];
    EXPECT_TRUE(close_enough(d_res.download(), ref, 1e-6, "moe_combine"));
    EXPECT_TRUE(d_res.guards_intact());
  }
}

}  // namespace
}  // namespace yun::cuda_test
