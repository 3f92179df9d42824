// CUDA op test: cuBLASLt linear (bf16 x bf16 -> bf16 / f32, f32 accumulation,
// optional bias) against a float64 reference, at odd and engine shapes.
#include "cuda/cuda_test_util.h"
#include "yun/compute/cuda/matmul.h"

namespace yun::cuda_test {
namespace {

using cuda::bf16;

TEST(CudaOps, MatmulLinear) {
  YUN_SKIP_WITHOUT_GPU();
  cuda::Matmul mm;
  ASSERT_STATUS_OK(mm.init());
  struct Case { int M, K, N; bool bias, f32; };
  for (const Case& c : std::vector<Case>{{1, 64, 13, false, false}, {5, 72, 256, true, false},
                                         {13, 896, 1000, false, true}, {64, 1024, 4096, true, false},
                                         {300, 512, 1024, false, false}, {7, 64, 1024, false, true}}) {
    Rng rng(uint64_t(c.M * 31 + c.K * 7 + c.N));
    auto x = rng.bf16_values(size_t(c.M) * c.K), w = rng.bf16_values(size_t(c.N) * c.K), b = rng.bf16_values(size_t(c.N));
    DeviceArray<uint16_t> d_x(x.size()), d_w(w.size()), d_b(b.size()), d_y16(size_t(c.M) * c.N);
    DeviceArray<float> d_y32(size_t(c.M) * c.N);
    d_x.upload(to_bf16(x));
    d_w.upload(to_bf16(w));
    d_b.upload(to_bf16(b));
    d_y16.poison();
    d_y32.poison();
    void* y = c.f32 ? static_cast<void*>(d_y32.get()) : static_cast<void*>(d_y16.get());
    auto run = [&] {
      return mm.linear(d_x.as<bf16>(), c.M, c.K, d_w.as<bf16>(), c.N, c.bias ? d_b.as<bf16>() : nullptr, y,
                       c.f32 ? cuda::OutType::kF32 : cuda::OutType::kBF16, nullptr);
    };
    ASSERT_STATUS_OK(run());
    std::vector<double> ref(size_t(c.M) * c.N);
    for (int m = 0; m < c.M; ++m)
      for (int n = 0; n < c.N; ++n) {
        double s = c.bias ? b[n] : 0.0;
        for (int k = 0; k < c.K; ++k) s += double(x[size_t(m) * c.K + k]) * w[size_t(n) * c.K + k];
        ref[size_t(m) * c.N + n] = s;
      }
    const std::string name = "matmul " + std::to_string(c.M) + "x" + std::to_string(c.K) + "x" + std::to_string(c.N);
    if (c.f32) {
      EXPECT_TRUE(close_enough(d_y32.download(), ref, 1e-3, name));
      EXPECT_TRUE(d_y32.guards_intact());
    } else {
      EXPECT_TRUE(close_enough(from_bf16(d_y16.download()), ref, 1e-2, name));
      EXPECT_TRUE(d_y16.guards_intact());
    }
    maybe_perf("matmul", std::to_string(c.M) + "x" + std::to_string(c.K) + "x" + std::to_string(c.N),
               (double(c.M) * c.K + double(c.N) * c.K) * 2 + double(c.M) * c.N * (c.f32 ? 4 : 2),
               2.0 * c.M * c.N * c.K, run);
  }
}

TEST(CudaOps, MatmulPerfLarge) {
  YUN_SKIP_WITHOUT_GPU();
  if (!perf_mode()) GTEST_SKIP() << "perf only (YUN_CUDA_PERF=1)";
  cuda::Matmul mm;
  ASSERT_STATUS_OK(mm.init());
  // Qwen3-8B shapes: decode (M=1..64) and prefill (M=4096) through qkv / gate_up.
  for (auto [M, K, N] : std::vector<std::tuple<int, int, int>>{{1, 4096, 6144}, {64, 4096, 24576}, {4096, 4096, 6144}, {4096, 4096, 24576}}) {
    Rng rng(uint64_t(M + K + N));
    DeviceArray<uint16_t> d_x(size_t(M) * K), d_w(size_t(N) * K), d_y(size_t(M) * N);
    d_x.upload(to_bf16(rng.bf16_values(size_t(M) * K)));
    d_w.upload(to_bf16(rng.bf16_values(size_t(N) * K)));
    maybe_perf("matmul", std::to_string(M) + "x" + std::to_string(K) + "x" + std::to_string(N),
               (double(M) * K + double(N) * K + double(M) * N) * 2, 2.0 * M * N * K, [&] {
                 return mm.linear(d_x.as<bf16>(), M, K, d_w.as<bf16>(), N, nullptr, d_y.get(), cuda::OutType::kBF16, nullptr);
               });
  }
}

}  // namespace
}  // namespace yun::cuda_test
