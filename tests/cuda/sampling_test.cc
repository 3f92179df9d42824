// Device sampling (compute/cuda/sampling.cuh) against CpuSampler on the same
// logits and the same RNG draws: greedy (ties, -inf rows, Qwen's 151,936-id
// vocabulary), top-k with temperature, top-p and min-p. Exact token equality
// is expected (same float/double arithmetic, same u); a row whose cumulative
// weight sits within 1e-12 of the target could differ, and the test reports
// the first mismatches. Perf mode times a decode-sized batch of each.
// Skips without a GPU. Run: build/tests/yun_cuda_tests --gtest_filter='CudaSampling*'
#include "yun/compute/cuda/sampling.cuh"

#include <limits>

#include "cuda/cuda_test_util.h"
#include "yun/compute/cpu/sampler.h"

namespace yun::cuda_test {
namespace {

struct RowCase {
  double temperature;
  int32_t top_k;
  double top_p, min_p;
};

void check_rows(int64_t rows, int64_t vocab, const std::vector<RowCase>& cases, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> logits(static_cast<size_t>(rows * vocab));
  for (auto& x : logits) x = rng.uniform(-8.f, 8.f);
  // A tie at the top of row 0 and a row of -inf but one (when there are rows).
  if (rows > 1) {
    logits[5] = logits[9] = 100.f;
    for (int64_t i = 0; i < vocab; ++i) logits[size_t(vocab + i)] = -INFINITY;
    logits[size_t(vocab + vocab / 2)] = 0.f;
  }
  std::vector<cuda::DeviceSampleRow> dev(static_cast<size_t>(rows));
  std::vector<int32_t> want(static_cast<size_t>(rows));
  CpuSampler cpu;
  for (int64_t r = 0; r < rows; ++r) {
    const RowCase& c = cases[size_t(r) % cases.size()];
    SamplingOptions o;
    o.temperature = c.temperature;
    o.top_k = c.top_k;
    o.top_p = c.top_p;
    o.min_p = c.min_p;
    std::mt19937_64 a(seed * 1000 + uint64_t(r)), b = a;
    want[size_t(r)] = cpu.sample(std::span<const float>(logits.data() + r * vocab, size_t(vocab)),
                                 o, {}, 0, {}, a)
                          .token;
    cuda::DeviceSampleRow& d = dev[size_t(r)];
    d.logit_row = int32_t(r);
    d.greedy = o.greedy() ? 1 : 0;
    if (!d.greedy) {
      d.top_k = c.top_k;
      d.inv_temperature = float(1.0 / c.temperature);
      d.top_p = c.top_p;
      d.min_p = c.min_p;
      d.u = std::generate_canonical<double, std::numeric_limits<double>::digits>(b);
    }
  }
  DeviceArray<float> d_logits(logits.size());
  DeviceArray<cuda::DeviceSampleRow> d_rows(dev.size());
  DeviceArray<int32_t> d_out(static_cast<size_t>(rows));
  d_logits.upload(logits);
  d_rows.upload(dev);
  d_out.poison();
  auto run = [&] {
    return cuda::sample_rows(d_logits.get(), rows, vocab, d_rows.get(), rows, d_out.get(), nullptr);
  };
  ASSERT_STATUS_OK(run());
  const std::vector<int32_t> got = d_out.download();
  int mismatches = 0;
  for (int64_t r = 0; r < rows; ++r) {
    if (got[size_t(r)] != want[size_t(r)] && ++mismatches <= 5)
      ADD_FAILURE() << "row " << r << " vocab " << vocab << ": device " << got[size_t(r)] << " cpu "
                    << want[size_t(r)];
  }
  EXPECT_TRUE(d_out.guards_intact() && d_logits.guards_intact());
  maybe_perf("sample_rows", std::to_string(rows) + "x" + std::to_string(vocab),
             double(rows) * vocab * 4, double(rows) * vocab, run);
}

TEST(CudaSampling, GreedyMatchesCpu) {
  YUN_SKIP_WITHOUT_GPU();
  for (int64_t vocab : {1, 7, 513, 151936}) check_rows(vocab > 1 ? 8 : 1, vocab, {{0, 1, 1, 0}}, 1);
  // argmax_rows: the same rule without parameters.
  Rng rng(2);
  const int64_t rows = 64, vocab = 151936;
  std::vector<float> logits(static_cast<size_t>(rows * vocab));
  for (auto& x : logits) x = rng.uniform(-4.f, 4.f);
  DeviceArray<float> d_logits(logits.size());
  DeviceArray<int32_t> d_out(static_cast<size_t>(rows));
  d_logits.upload(logits);
  auto run = [&] { return cuda::argmax_rows(d_logits.get(), rows, vocab, d_out.get(), nullptr); };
  ASSERT_STATUS_OK(run());
  const auto got = d_out.download();
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = logits.data() + r * vocab;
    EXPECT_EQ(got[size_t(r)], int32_t(std::max_element(row, row + vocab) - row)) << "row " << r;
  }
  maybe_perf("argmax_rows", "64x151936", double(rows) * vocab * 4, double(rows) * vocab, run);
}

TEST(CudaSampling, TopKTopPMinPMatchCpu) {
  YUN_SKIP_WITHOUT_GPU();
  const std::vector<RowCase> cases = {{1.0, 1, 1, 0},     {0.7, 20, 1, 0},    {1.0, 64, 0.9, 0},
                                      {0.6, 20, 0.95, 0}, {1.3, 50, 1, 0.05}, {0.8, 40, 0.8, 0.1}};
  check_rows(48, 151936, cases, 3);
  check_rows(12, 37, cases, 4);  // vocab smaller than some top_k
}

TEST(CudaSampling, BadRowsAreFlagged) {
  YUN_SKIP_WITHOUT_GPU();
  DeviceArray<float> d_logits(16);
  d_logits.upload(std::vector<float>(16, 0.f));
  std::vector<cuda::DeviceSampleRow> rows(2);
  rows[0].logit_row = 5;  // only 2 logit rows
  rows[1].greedy = 0;
  rows[1].top_k = cuda::kMaxDeviceTopK + 1;
  DeviceArray<cuda::DeviceSampleRow> d_rows(2);
  DeviceArray<int32_t> d_out(2);
  d_rows.upload(rows);
  ASSERT_STATUS_OK(cuda::sample_rows(d_logits.get(), 2, 8, d_rows.get(), 2, d_out.get(), nullptr));
  EXPECT_EQ(d_out.download(), (std::vector<int32_t>{-1, -1}));
}

}  // namespace
}  // namespace yun::cuda_test
