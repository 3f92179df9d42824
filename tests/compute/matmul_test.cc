// Tests for compute/cpu/matmul: every SIMD path this CPU can run (and the
// scalar one, and the dispatching matmul()) against matmul_reference on random
// data, odd shapes, bias on/off, BF16/F16/F32 weights, 1- and 4-thread pools.
// Guard floats around y catch out-of-bounds writes.
// Run: build/tests/yun_compute_tests --gtest_filter='Matmul*'
#include "yun/compute/cpu/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "yun/base/half.h"
#include "yun/base/thread_pool.h"
#include "yun/compute/cpu/matmul_kernels.h"

namespace yun {
namespace {

constexpr float kGuard = -12345.678f;
constexpr int kGuardLen = 19;

// Test data only (|f| <= 1): truncating, tiny values flush to zero. Any bit
// pattern is fine as long as the paths and the reference read it the same way.
uint16_t f32_to_f16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  int exp = int((u >> 23) & 0xff) - 127 + 15;
  if (exp <= 0) return sign;
  if (exp >= 31) return uint16_t(sign | 0x7c00);
  return uint16_t(sign | (exp << 10) | ((u & 0x7fffff) >> 13));
}

struct Weights {
  DType dtype;
  std::vector<uint16_t> h;  // bf16 / f16 storage
  std::vector<float> f;     // f32 storage
  WeightMatrix view(int64_t N, int64_t K) const {
    WeightMatrix w;
    w.dtype = dtype;
    w.rows = N;
    w.cols = K;
    w.data = dtype == DType::kF32 ? static_cast<const void*>(f.data())
                                  : static_cast<const void*>(h.data());
    return w;
  }
};

Weights random_weights(DType dt, int64_t N, int64_t K, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Weights w{dt, {}, {}};
  if (dt == DType::kF32) {
    w.f.resize(N * K);
    for (auto& v : w.f) v = u(rng);
  } else {
    w.h.resize(N * K);
    for (auto& v : w.h) v = dt == DType::kBF16 ? f32_to_bf16(u(rng)) : f32_to_f16_bits(u(rng));
  }
  return w;
}

float weight_f32(const Weights& w, int64_t i) {
  if (w.dtype == DType::kF32) return w.f[i];
  return w.dtype == DType::kBF16 ? bf16_to_f32(w.h[i]) : f16_to_f32(w.h[i]);
}

// Checks fn against the reference for one shape (fatal failure on the first miss).
void check_shape(internal::MatmulFn fn, const char* name, DType dt, int64_t M, int64_t N, int64_t K,
                 bool with_bias, ThreadPool& pool, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Weights w = random_weights(dt, N, K, rng);
  WeightMatrix wm = w.view(N, K);
  std::vector<float> x(M * K), bias(N);
  for (auto& v : x) v = u(rng);
  for (auto& v : bias) v = u(rng);
  const float* b = with_bias ? bias.data() : nullptr;

  std::vector<float> ref(M * N);
  matmul_reference(x.data(), M, wm, ref.data(), b);
  std::vector<float> out(M * N + 2 * kGuardLen, kGuard);
  float* y = out.data() + kGuardLen;
  fn(x.data(), M, wm, y, pool, b);

  for (int i = 0; i < kGuardLen; ++i) {
    ASSERT_EQ(out[i], kGuard) << name << " wrote before y";
    ASSERT_EQ(out[kGuardLen + M * N + i], kGuard) << name << " wrote past y";
  }
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double mag = with_bias ? std::fabs(bias[n]) : 0.0;
      for (int64_t k = 0; k < K; ++k)
        mag += std::fabs(double(x[m * K + k]) * weight_f32(w, n * K + k));
      double tol = 1e-6 + mag * 2e-6 * std::sqrt(double(K) + 1.0);
      ASSERT_NEAR(y[m * N + n], ref[m * N + n], tol)
          << name << " dtype=" << dtype_name(dt) << " M=" << M << " N=" << N << " K=" << K
          << " bias=" << with_bias << " threads=" << pool.num_threads() << " at m=" << m
          << " n=" << n;
    }
  }
}

std::vector<internal::MatmulPath> paths() {
  internal::MatmulPath p[8];
  int n = internal::available_matmul_paths(p, 8);
  std::vector<internal::MatmulPath> v(p, p + n);
  v.push_back({"dispatch",
               [](const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
                  const float* bias) { matmul(x, M, W, y, pool, bias); },
               [](const float* x, int64_t M, const MatmulJob* jobs, int num_jobs,
                  ThreadPool& pool) { matmul_multi(x, M, jobs, num_jobs, pool); }});
  return v;
}

void sweep(ThreadPool& pool, bool full) {
  const int64_t Ms[] = {1, 2, 3, 5, 7, 8, 13, 16, 33, 64, 100};
  const int64_t Ns[] = {1, 5, 7, 11, 13, 16, 31, 64, 130};
  const int64_t Ks[] = {1, 3, 7, 8, 15, 16, 31, 64, 100, 257};
  const DType dts[] = {DType::kBF16, DType::kF16, DType::kF32};
  std::mt19937 rng(1234);
  for (const auto& path : paths()) {
    if (std::string(path.name) == "scalar" && !full) continue;
    for (DType dt : dts)
      for (int64_t M : Ms)
        for (int64_t N : Ns)
          for (int64_t K : Ks) {
            // The full cross product for BF16; a diagonal-ish subset for the rest.
            if (dt != DType::kBF16 && (M * 7 + N * 3 + K) % 5 != 0) continue;
            bool bias = ((M + N + K) & 1) != 0;
            check_shape(path.fn, path.name, dt, M, N, K, bias, pool, rng);
            if (::testing::Test::HasFatalFailure()) return;
          }
  }
}

TEST(MatmulTest, ReportsKernel) {
  std::string name = matmul_kernel_name();
  EXPECT_TRUE(name == "avx512" || name == "avx2" || name == "scalar") << name;
  internal::MatmulPath p[8];
  int n = internal::available_matmul_paths(p, 8);
  ASSERT_GE(n, 1);
  EXPECT_EQ(name, p[0].name);
}

TEST(MatmulTest, AllPathsMatchReferenceFourThreads) {
  ThreadPool pool(4);
  sweep(pool, true);
}

TEST(MatmulTest, AllPathsMatchReferenceOneThread) {
  ThreadPool pool(1);
  sweep(pool, false);
}

TEST(MatmulTest, BiasBothWaysAndLargeShapes) {
  ThreadPool pool(4);
  std::mt19937 rng(99);
  for (const auto& path : paths()) {
    if (std::string(path.name) == "scalar") continue;
    for (bool bias : {false, true}) {
      check_shape(path.fn, path.name, DType::kBF16, 1, 300, 896, bias, pool, rng);
      check_shape(path.fn, path.name, DType::kBF16, 4, 67, 1000, bias, pool, rng);
      check_shape(path.fn, path.name, DType::kBF16, 37, 97, 600, bias, pool, rng);
      check_shape(path.fn, path.name, DType::kF16, 29, 70, 513, bias, pool, rng);
      check_shape(path.fn, path.name, DType::kF32, 9, 33, 777, bias, pool, rng);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// matmul_multi runs the same per-row kernels as one matmul per job, so its
// outputs must be bit-identical to the single-job path (itself checked
// against the reference above), with nothing written outside any y.
TEST(MatmulTest, MultiEqualsOneJobAtATime) {
  ThreadPool pool(4);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  struct Spec {
    DType dt;
    int64_t N;
    bool bias;
  };
  const Spec specs[] = {{DType::kBF16, 53, true},
                        {DType::kF16, 16, false},
                        {DType::kF32, 5, true},
                        {DType::kBF16, 200, false}};
  for (const auto& path : paths()) {
    for (int64_t M : {1, 2, 3, 4, 5, 8, 9, 17, 40}) {
      for (int64_t K : {7, 64, 257, 896}) {
        std::vector<float> x(M * K);
        for (auto& v : x) v = u(rng);
        std::vector<Weights> ws;
        std::vector<std::vector<float>> biases, outs, singles;
        std::vector<MatmulJob> jobs;
        for (const Spec& sp : specs) {
          ws.push_back(random_weights(sp.dt, sp.N, K, rng));
          biases.emplace_back(sp.N);
          for (auto& v : biases.back()) v = u(rng);
          outs.emplace_back(M * sp.N + 2 * kGuardLen, kGuard);
          singles.emplace_back(M * sp.N);
        }
        for (size_t i = 0; i < ws.size(); ++i) {
          jobs.push_back({ws[i].view(specs[i].N, K), outs[i].data() + kGuardLen,
                          specs[i].bias ? biases[i].data() : nullptr});
          path.fn(x.data(), M, jobs[i].W, singles[i].data(), pool, jobs[i].bias);
        }
        path.multi(x.data(), M, jobs.data(), int(jobs.size()), pool);
        for (size_t i = 0; i < ws.size(); ++i) {
          const int64_t n = M * specs[i].N;
          for (int g = 0; g < kGuardLen; ++g) {
            ASSERT_EQ(outs[i][g], kGuard) << path.name << " job " << i << " wrote before y";
            ASSERT_EQ(outs[i][kGuardLen + n + g], kGuard) << path.name << " job " << i;
          }
          ASSERT_EQ(0, std::memcmp(outs[i].data() + kGuardLen, singles[i].data(), n * 4))
              << path.name << " job " << i << " M=" << M << " K=" << K;
        }
      }
    }
  }
}

TEST(MatmulTest, EmptyKGivesBias) {
  ThreadPool pool(2);
  std::vector<uint16_t> w(1);
  WeightMatrix wm{DType::kBF16, w.data(), 3, 0};
  std::vector<float> bias = {1.0f, 2.0f, 3.0f}, y(6, 0.0f);
  matmul(nullptr, 2, wm, y.data(), pool, bias.data());
  EXPECT_EQ(y, (std::vector<float>{1, 2, 3, 1, 2, 3}));
  // The same through every path's matmul_multi (matmul_multi has no guard of
  // its own: each path handles an empty K).
  for (const auto& path : paths()) {
    std::vector<float> y0(6, 0.0f);
    const MatmulJob job{wm, y0.data(), bias.data()};
    path.multi(nullptr, 2, &job, 1, pool);
    EXPECT_EQ(y0, (std::vector<float>{1, 2, 3, 1, 2, 3})) << path.name;
  }
}

// ---------------------------------------------------------------- bf16 activations

// x with every element rounded to bf16 (RNE), as the bf16 path rounds it.
std::vector<float> round_to_bf16(const std::vector<float>& x) {
  std::vector<float> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = bf16_to_f32(f32_to_bf16(x[i]));
  return r;
}

// The bf16 path against the float64 reference on bf16-rounded x: only the
// summation order differs, so the float32 paths' tolerance holds.
void check_bf16_shape(int64_t M, int64_t N, int64_t K, bool with_bias, ThreadPool& pool,
                      std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Weights w = random_weights(DType::kBF16, N, K, rng);
  WeightMatrix wm = w.view(N, K);
  std::vector<float> x(M * K), bias(N);
  for (auto& v : x) v = u(rng);
  for (auto& v : bias) v = u(rng);
  const float* b = with_bias ? bias.data() : nullptr;
  const std::vector<float> xr = round_to_bf16(x);
  std::vector<float> ref(M * N);
  matmul_reference(xr.data(), M, wm, ref.data(), b);
  std::vector<float> out(M * N + 2 * kGuardLen, kGuard);
  float* y = out.data() + kGuardLen;
  internal::matmul_avx512bf16(x.data(), M, wm, y, pool, b);
  for (int i = 0; i < kGuardLen; ++i) {
    ASSERT_EQ(out[i], kGuard) << "wrote before y";
    ASSERT_EQ(out[kGuardLen + M * N + i], kGuard) << "wrote past y";
  }
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double mag = with_bias ? std::fabs(bias[n]) : 0.0;
      for (int64_t k = 0; k < K; ++k)
        mag += std::fabs(double(xr[m * K + k]) * weight_f32(w, n * K + k));
      double tol = 1e-6 + mag * 2e-6 * std::sqrt(double(K) + 1.0);
      ASSERT_NEAR(y[m * N + n], ref[m * N + n], tol)
          << "bf16 path M=" << M << " N=" << N << " K=" << K << " bias=" << with_bias
          << " threads=" << pool.num_threads() << " at m=" << m << " n=" << n;
    }
  }
}

TEST(MatmulBf16Test, MatchesReferenceOnRoundedX) {
  if (!matmul_bf16_supported()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  std::mt19937 rng(4321);
  for (int threads : {1, 4}) {
    ThreadPool pool(threads);
    for (int64_t M : {1, 2, 3, 5, 7, 13, 33, 64, 100})
      for (int64_t N : {1, 5, 8, 9, 13, 31, 130})
        for (int64_t K : {1, 3, 7, 31, 32, 33, 64, 100, 257}) {
          check_bf16_shape(M, N, K, ((M + N + K) & 1) != 0, pool, rng);
          if (::testing::Test::HasFatalFailure()) return;
        }
    // K beyond one 2048-element pass (partial sums added into y), odd K.
    check_bf16_shape(7, 40, 2048 + 33, true, pool, rng);
    check_bf16_shape(64, 17, 4864, false, pool, rng);
    check_bf16_shape(515, 300, 896, true, pool, rng);
  }
}

// matmul_multi converts x once for all jobs; each job's y is bit-identical to
// its own call.
TEST(MatmulBf16Test, MultiEqualsOneJobAtATime) {
  if (!matmul_bf16_supported()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  ThreadPool pool(4);
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t M : {5, 12, 40}) {
    const int64_t K = 257;
    std::vector<float> x(M * K);
    for (auto& v : x) v = u(rng);
    const int64_t Ns[] = {53, 8, 200};
    std::vector<Weights> ws;
    std::vector<std::vector<float>> outs, singles;
    std::vector<float> bias(200);
    for (auto& v : bias) v = u(rng);
    std::vector<MatmulJob> jobs;
    for (int64_t N : Ns) {
      ws.push_back(random_weights(DType::kBF16, N, K, rng));
      outs.emplace_back(M * N);
      singles.emplace_back(M * N);
    }
    for (size_t i = 0; i < ws.size(); ++i) {
      jobs.push_back({ws[i].view(Ns[i], K), outs[i].data(), i == 1 ? bias.data() : nullptr});
      internal::matmul_avx512bf16(x.data(), M, jobs[i].W, singles[i].data(), pool, jobs[i].bias);
    }
    internal::matmul_multi_avx512bf16(x.data(), M, jobs.data(), int(jobs.size()), pool);
    for (size_t i = 0; i < ws.size(); ++i)
      EXPECT_EQ(outs[i], singles[i]) << "job " << i << " M=" << M;
  }
}

// matmul()/matmul_multi() take the bf16 path only for kBF16-marked BF16
// weights at M >= 5; otherwise the result is the float32 path's, bit for bit.
TEST(MatmulBf16Test, DispatchRules) {
  ThreadPool pool(2);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int64_t N = 37, K = 300;
  Weights wb = random_weights(DType::kBF16, N, K, rng);
  Weights wf = random_weights(DType::kF32, N, K, rng);
  for (int64_t M : {1, 4, 5, 40}) {
    std::vector<float> x(M * K);
    for (auto& v : x) v = u(rng);
    for (const Weights* w : {&wb, &wf}) {
      WeightMatrix exact = w->view(N, K), marked = exact;
      marked.precision = MatmulPrecision::kBF16;
      std::vector<float> y_exact(M * N), y_marked(M * N), y_bf16(M * N), y_multi(M * N);
      matmul(x.data(), M, exact, y_exact.data(), pool);
      matmul(x.data(), M, marked, y_marked.data(), pool);
      const MatmulJob job{marked, y_multi.data(), nullptr};
      matmul_multi(x.data(), M, &job, 1, pool);
      EXPECT_EQ(y_multi, y_marked) << "M=" << M;
      const bool bf16 = matmul_bf16_supported() && M >= 5 && w->dtype == DType::kBF16;
      if (bf16) {
        internal::matmul_avx512bf16(x.data(), M, marked, y_bf16.data(), pool, nullptr);
        EXPECT_EQ(y_marked, y_bf16) << "M=" << M;
        EXPECT_NE(y_marked, y_exact) << "M=" << M << ": bf16 rounding should show";
      } else {
        EXPECT_EQ(y_marked, y_exact) << "M=" << M << " dtype=" << dtype_name(w->dtype);
      }
    }
  }
}

}  // namespace
}  // namespace yun
