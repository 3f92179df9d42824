// Tests for the quantized matmul kernels (compute/cpu/quant_matmul.h) and the
// weight format codecs they rest on (model/weight_format.h): every kernel this
// CPU can run, for every block format, against matmul_reference (decode the
// row with row_to_float, dot in double) on random data, odd shapes, M = 1 and
// M > 1, bias on and off, 1 and 3 threads.
//
// Bounds: kF32 kernels agree to float32 summation error (1e-5 of sum|x*w|).
// kQ8_0 kernels round each 32-block of x to int8 with scale s = max|x|/127,
// so each x element moves by at most s/2: the stated bound per output is
// sum over blocks (s_b / 2) * sum_j |w_bj|, plus 1e-5 of sum|x*w|.
// Run: build/tests/yun_compute_tests --gtest_filter='Quant*'
#include "yun/compute/cpu/quant_matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "yun/base/half.h"
#include "yun/compute/cpu/matmul.h"
#include "yun/model/weight_format.h"

namespace yun {
namespace {

constexpr float kGuard = -12345.678f;

// Random blocks of `t`: random bytes, with the f16 scale fields set to small
// finite values (random bytes there would be inf/NaN).
std::vector<uint8_t> random_blocks(DType t, int64_t rows, int64_t cols, std::mt19937& rng) {
  const WeightFormat* f = weight_format(t);
  const int64_t nblk = rows * cols / f->block_elems;
  std::vector<uint8_t> out(size_t(nblk) * f->block_bytes);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> sc(0.001f, 0.05f);
  for (auto& b : out) b = uint8_t(byte(rng));
  auto put = [&](uint8_t* p, float v) {
    uint16_t h = f32_to_f16(v);
    p[0] = uint8_t(h);
    p[1] = uint8_t(h >> 8);
  };
  for (int64_t i = 0; i < nblk; ++i) {
    uint8_t* b = out.data() + size_t(i) * f->block_bytes;
    switch (t) {
      case DType::kQ8_0:
      case DType::kQ4_0:
      case DType::kQ5_0:
        put(b, sc(rng));
        break;
      case DType::kQ4_K:
      case DType::kQ5_K:
        put(b, sc(rng));
        put(b + 2, sc(rng));
        break;
      case DType::kQ6_K:
        put(b + 208, sc(rng));
        break;
      default:
        break;
    }
  }
  return out;
}

std::vector<float> decode(DType t, const std::vector<uint8_t>& data, int64_t rows, int64_t cols) {
  std::vector<float> out(size_t(rows * cols));
  weight_format(t)->row_to_float(data.data(), out.data(), rows * cols);
  return out;
}

void check(const internal::QuantKernel& k, int64_t M, int64_t N, int64_t K, bool with_bias,
           ThreadPool& pool, std::mt19937& rng) {
  SCOPED_TRACE(std::string(dtype_name(k.weight)) + " " + k.isa + " M=" + std::to_string(M) +
               " N=" + std::to_string(N) + " K=" + std::to_string(K));
  std::vector<uint8_t> wdata = random_blocks(k.weight, N, K, rng);
  WeightMatrix W;
  W.dtype = k.weight;
  W.data = wdata.data();
  W.rows = N;
  W.cols = K;
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(size_t(M * K)), bias(static_cast<size_t>(N));
  for (auto& v : x) v = u(rng);
  for (auto& v : bias) v = u(rng);
  const float* b = with_bias ? bias.data() : nullptr;
  std::vector<float> want(size_t(M * N)), got(size_t(M * N) + 7, kGuard);
  matmul_reference(x.data(), M, W, want.data(), b);
  internal::quant_matmul_with(k, x.data(), M, W, got.data(), pool, b);
  for (size_t i = size_t(M * N); i < got.size(); ++i) ASSERT_EQ(got[i], kGuard) << "overrun";
  const std::vector<float> w = decode(k.weight, wdata, N, K);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double mag = 0.0, qbound = 0.0;
      for (int64_t blk = 0; blk < K / 32; ++blk) {
        double amax = 0.0, wsum = 0.0;
        for (int j = 0; j < 32; ++j) {
          const int64_t kk = blk * 32 + j;
          amax = std::max(amax, double(std::fabs(x[size_t(m * K + kk)])));
          wsum += std::fabs(w[size_t(n * K + kk)]);
          mag += std::fabs(double(x[size_t(m * K + kk)]) * w[size_t(n * K + kk)]);
        }
        qbound += amax / 127.0 / 2.0 * wsum;
      }
      const double bound = (k.act == internal::ActFormat::kQ8_0 ? qbound : 0.0) + 1e-5 * mag + 1e-6;
      ASSERT_NEAR(got[size_t(m * N + n)], want[size_t(m * N + n)], bound) << "m=" << m << " n=" << n;
    }
  }
}

const DType kBlockFormats[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ5_0,
                               DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

void sweep(ThreadPool& pool) {
  std::mt19937 rng(17);
  for (DType t : kBlockFormats) {
    internal::QuantKernel ks[8];
    const int nk = internal::quant_kernels(t, ks, 8);
    ASSERT_GT(nk, 0) << dtype_name(t);
    const int64_t be = weight_format(t)->block_elems;
    for (int i = 0; i < nk; ++i) {
      for (int64_t M : {1, 2, 3, 4, 5, 7, 9, 33}) {
        for (int64_t N : {1, 7, 33}) {
          for (int64_t K : {be, 3 * be, (be == 32 ? 29 : 3) * be}) {
            check(ks[i], M, N, K, (M + N) % 2 == 0, pool, rng);
            if (::testing::Test::HasFatalFailure()) return;
          }
        }
      }
    }
  }
}

TEST(QuantMatmul, EveryKernelMatchesReferenceThreeThreads) {
  ThreadPool pool(3);
  sweep(pool);
}

TEST(QuantMatmul, EveryKernelMatchesReferenceOneThread) {
  ThreadPool pool(1);
  sweep(pool);
}

TEST(QuantMatmul, ListsIntegerKernelsForQ8_0AndQ4_0) {
  internal::QuantKernel ks[8];
  const int n = internal::quant_kernels(DType::kQ8_0, ks, 8);
  ASSERT_GE(n, 2);  // at least the portable integer kernel and the dequantizing one
  EXPECT_EQ(ks[n - 1].act, internal::ActFormat::kF32);
  EXPECT_EQ(ks[n - 2].act, internal::ActFormat::kQ8_0);
  std::string all;
  for (int i = 0; i < n; ++i) all += std::string(ks[i].isa) + " ";
  RecordProperty("q8_0_kernels", all);
  EXPECT_EQ(internal::quant_kernels(DType::kI32, ks, 8), 0);
  // Q4_0 has integer kernels wherever AVX2 runs (else only the dequantizing one).
  const int n4 = internal::quant_kernels(DType::kQ4_0, ks, 8);
  ASSERT_GE(n4, 1);
  EXPECT_EQ(ks[0].act, n4 > 1 ? internal::ActFormat::kQ8_0 : internal::ActFormat::kF32);
}

TEST(QuantMatmul, ListsIntegerKernelsForQ5_0Q4_KAndQ6_K) {
  // Each has a portable integer kernel, then the dequantizing one last.
  for (DType t : {DType::kQ5_0, DType::kQ4_K, DType::kQ6_K}) {
    internal::QuantKernel ks[8];
    const int n = internal::quant_kernels(t, ks, 8);
    ASSERT_GE(n, 2) << dtype_name(t);
    EXPECT_EQ(ks[0].act, internal::ActFormat::kQ8_0) << dtype_name(t);
    EXPECT_STREQ(ks[n - 2].isa, "scalar");
    EXPECT_EQ(ks[n - 1].act, internal::ActFormat::kF32);
  }
}

// Weights as the encoders write them (not random bytes): the kernels of
// Q5_0 / Q4_K / Q6_K on rows from row_from_float, Gaussian x, against the
// reference, M = 1 (decode) and 7; the bound as in check().
TEST(QuantMatmul, KernelsOnEncodedWeights) {
  ThreadPool pool(2);
  std::mt19937 rng(23);
  std::normal_distribution<float> g(0.0f, 0.02f), gx(0.0f, 1.0f);
  for (DType t : {DType::kQ5_0, DType::kQ4_K, DType::kQ6_K}) {
    const int64_t N = 37, K = 768;
    const WeightFormat* f = weight_format(t);
    std::vector<float> wf(size_t(N * K));
    for (auto& v : wf) v = g(rng);
    std::vector<uint8_t> wd(*format_bytes(t, N * K));
    f->row_from_float(wf.data(), wd.data(), N * K);
    WeightMatrix W{t, wd.data(), N, K};
    internal::QuantKernel ks[8];
    const int nk = internal::quant_kernels(t, ks, 8);
    for (int64_t M : {1, 7}) {
      std::vector<float> x(size_t(M * K)), want(size_t(M * N)), got(size_t(M * N));
      for (auto& v : x) v = gx(rng);
      matmul_reference(x.data(), M, W, want.data());
      const std::vector<float> wdec = decode(t, wd, N, K);
      std::vector<double> bound(size_t(M * N));
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double b = 1e-6;
          for (int64_t blk = 0; blk < K / 32; ++blk) {
            double amax = 0, wsum = 0, mag = 0;
            for (int64_t j = blk * 32; j < blk * 32 + 32; ++j) {
              amax = std::max(amax, double(std::fabs(x[size_t(m * K + j)])));
              wsum += std::fabs(wdec[size_t(n * K + j)]);
              mag += std::fabs(x[size_t(m * K + j)] * wdec[size_t(n * K + j)]);
            }
            b += amax / 254 * wsum + 1e-5 * mag;
          }
          bound[size_t(m * N + n)] = b;
        }
      for (int i = 0; i < nk; ++i) {
        internal::quant_matmul_with(ks[i], x.data(), M, W, got.data(), pool, nullptr);
        for (size_t j = 0; j < got.size(); ++j)
          ASSERT_NEAR(got[j], want[j], bound[j])
              << dtype_name(t) << " " << ks[i].isa << " M=" << M << " " << j;
      }
    }
  }
}

TEST(QuantMatmul, DispatchingMatmulUsesBlockFormats) {
  ThreadPool pool(2);
  std::mt19937 rng(3);
  for (DType t : kBlockFormats)
  for (int64_t M : {3, 40}) {  // integer kernels; M >= 16: W decoded to float32 in chunks
    const int64_t K = weight_format(t)->block_elems * 2, N = 300;
    std::vector<uint8_t> wd = random_blocks(t, N, K, rng);
    WeightMatrix W{t, wd.data(), N, K};
    std::vector<float> x(size_t(M * K), 0.5f), want(size_t(M * N)), got(size_t(M * N));
    matmul_reference(x.data(), M, W, want.data());
    matmul(x.data(), M, W, got.data(), pool);
    // x is constant, so Q8_0 activations are exact: only summation error.
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4 + 1e-5 * std::fabs(want[i])) << dtype_name(t);
    MatmulJob jobs[2] = {{W, got.data(), nullptr}, {W, want.data(), nullptr}};
    matmul_multi(x.data(), M, jobs, 2, pool);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4 + 1e-5 * std::fabs(want[i])) << dtype_name(t);
  }
}

TEST(QuantAct, Q8_0RoundsWithinHalfAStep) {
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 3.0f);
  std::vector<float> x(96);
  for (auto& v : x) v = g(rng);
  x[40] = 0.0f;
  for (int j = 64; j < 96; ++j) x[size_t(j)] = 0.0f;  // an all-zero block
  std::vector<int8_t> q(96);
  std::vector<float> d(3);
  internal::quantize_act_q8_0(x.data(), 96, q.data(), d.data());
  EXPECT_EQ(d[2], 0.0f);
  for (int i = 0; i < 96; ++i) {
    EXPECT_LE(std::abs(int(q[size_t(i)])), 127);
    EXPECT_LE(std::fabs(q[size_t(i)] * d[size_t(i / 32)] - x[size_t(i)]), d[size_t(i / 32)] / 2 + 1e-6);
  }
}

}  // namespace
}  // namespace yun
