// yun_bench_matmul [--threads N] [--reps R] [--m M] [--bf16]: matmul() on Qwen2.5-0.5B
// shapes (bf16 weights), batch-1 decode (M=1, memory bound), batched decode of
// 32 sequences (M=32, weights still from DRAM, FMA bound) and a 512-token
// prefill (M=512, FMA bound). Prints one JSON object per line:
//   M=1:   GB/s of weight bytes streamed, and the ratio to the read bandwidth
//          measured in the same run (bench/membw.h). W is rotated over enough
//          copies (>= 256 MiB) that it streams from DRAM as in real decode,
//          not from the 32 MiB L3.
//   M=512: GFLOP/s (2*M*N*K per call) and the ratio to the FMA peak measured
//          in the same run (independent FMA chains on every thread).
//   --bf16: weights marked MatmulPrecision::kBF16 (x rounded to bf16,
//          vdpbf16ps where the CPU has AVX512_BF16); the env line then also
//          gives the vdpbf16ps peak (64 flops per instruction), and each
//          line frac_bf16_peak.
#include "yun/compute/cpu/matmul.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "membw.h"
#include "yun/base/cpu_features.h"
#include "yun/base/half.h"
#include "yun/base/thread_pool.h"

// GCC 12 false positives inside avx512fintrin.h (its undefined-vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// 2 flops * 16 lanes * 12 chains per iteration.
__attribute__((target("avx512f"))) float fma_loop_avx512(int64_t iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i));
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) float fma_loop_avx2(int64_t iters) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(float(i));
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
  alignas(32) float t[8];
  _mm256_store_ps(t, s);
  return t[0] + t[7];
}

// 64 flops per vdpbf16ps (16 lanes x 2 products x multiply-add), 12 chains.
__attribute__((target("avx512f,avx512bf16"))) float dpbf16_loop(int64_t iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i));
  const __m512bh m = (__m512bh)_mm512_set1_epi16(0x3f80), c = (__m512bh)_mm512_set1_epi16(0x3300);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm512_dpbf16_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}

double dpbf16_peak_gflops(yun::ThreadPool& pool) {
  if (!yun::matmul_bf16_supported()) return 0;
  const int64_t iters = 2'000'000;
  std::vector<double> v;
  volatile float sink = 0;
  for (int r = 0; r < 5; ++r) {
    auto t0 = Clock::now();
    pool.parallel_for(pool.num_threads(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) sink = sink + dpbf16_loop(iters);
    });
    v.push_back(double(iters) * 12 * 64 * pool.num_threads() / seconds_since(t0) / 1e9);
  }
  return *std::max_element(v.begin(), v.end());
}

// Peak f32 FMA GFLOP/s of the pool (best of 5: other load only lowers it),
// with the ISA matmul uses.
double fma_peak_gflops(yun::ThreadPool& pool) {
  const bool z = std::strcmp(yun::matmul_kernel_name(), "avx512") == 0;
  const bool y = std::strcmp(yun::matmul_kernel_name(), "avx2") == 0;
  if (!z && !y) return 0;
  const int64_t iters = 4'000'000;
  const double flops_per_thread = double(iters) * 12 * 2 * (z ? 16 : 8);
  std::vector<double> v;
  volatile float sink = 0;
  for (int r = 0; r < 5; ++r) {
    auto t0 = Clock::now();
    pool.parallel_for(pool.num_threads(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        sink = sink + (z ? fma_loop_avx512(iters) : fma_loop_avx2(iters));
    });
    v.push_back(flops_per_thread * pool.num_threads() / seconds_since(t0) / 1e9);
  }
  return *std::max_element(v.begin(), v.end());
}

struct Shape {
  const char* name;
  int64_t n, k;
};

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, reps = 9;
  int64_t only_m = 0;  // --m M: just that M
  bool bf16 = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--bf16")) {
      bf16 = true;
      continue;
    }
    if (i + 1 >= argc) break;
    if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reps"))
      reps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--m"))
      only_m = std::atoll(argv[i + 1]);
    ++i;
  }
  yun::ThreadPool pool(threads);
  auto bw = yun::bench::measure_read_bandwidth(pool, size_t(1) << 30, 5);
  double peak = only_m == 1 ? 0.0 : fma_peak_gflops(pool);
  double bf16_peak = bf16 && only_m != 1 ? dpbf16_peak_gflops(pool) : 0.0;
  std::printf(
      "{\"bench\":\"matmul_env\",\"kernel\":\"%s\",\"bf16\":%s,\"threads\":%d,"
      "\"membw_gbs\":%.2f,\"fma_peak_gflops\":%.1f,\"bf16_peak_gflops\":%.1f,\"cpu\":\"%s\"}\n",
      yun::matmul_kernel_name(), bf16 ? "true" : "false", pool.num_threads(), bw.median_gbs, peak,
      bf16_peak, yun::cpu_features().to_string().c_str());

  const Shape shapes[] = {{"q/o 896x896", 896, 896},
                          {"k/v 128x896", 128, 896},
                          {"gate/up 4864x896", 4864, 896},
                          {"down 896x4864", 896, 4864},
                          {"lm_head 151936x896", 151936, 896}};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const Shape& s : shapes) {
    const size_t w_elems = size_t(s.n * s.k), w_bytes = w_elems * 2;
    const size_t copies = std::max<size_t>(1, (size_t(256) << 20) / w_bytes + 1);
    std::vector<std::vector<uint16_t>> ws(copies, std::vector<uint16_t>(w_elems));
    for (auto& w : ws)
      for (auto& v : w) v = yun::f32_to_bf16(u(rng) * 0.05f);
    const int64_t Ms[] = {1, 32, 512};
    for (int64_t M : only_m ? std::vector<int64_t>{only_m} : std::vector<int64_t>(Ms, Ms + 3)) {
      std::vector<float> x(M * s.k), y(M * s.n);
      for (auto& v : x) v = u(rng);
      auto wm = [&](size_t c) {
        return yun::WeightMatrix{
            yun::DType::kBF16, ws[c].data(), s.n, s.k,
            bf16 ? yun::MatmulPrecision::kBF16 : yun::MatmulPrecision::kFloat32};
      };
      // Decode sizes: each call on the next copy (cold W, as in a real step);
      // prefill: one copy, a call is long anyway.
      const bool cold = M <= 64;
      const size_t use = cold ? copies : 1;
      const int calls = M == 1 ? int(std::max<size_t>(use, 32)) : int(use);
      for (size_t c = 0; c < use; ++c) yun::matmul(x.data(), M, wm(c), y.data(), pool);  // warm
      std::vector<double> per_call;
      const int r_count = M > 1 && s.n > 100000 ? 3 : reps;
      for (int r = 0; r < r_count; ++r) {
        auto t0 = Clock::now();
        for (int i = 0; i < calls; ++i) yun::matmul(x.data(), M, wm(i % use), y.data(), pool);
        per_call.push_back(seconds_since(t0) / calls);
      }
      std::sort(per_call.begin(), per_call.end());
      double t = per_call[per_call.size() / 2], t_best = per_call[0];
      double gbs = double(w_bytes) / t / 1e9;
      double gflops = 2.0 * M * s.n * s.k / t / 1e9;
      std::printf(
          "{\"bench\":\"matmul\",\"shape\":\"%s\",\"M\":%lld,\"N\":%lld,\"K\":%lld,"
          "\"us\":%.1f,\"best_us\":%.1f,\"weight_gbs\":%.2f,\"best_weight_gbs\":%.2f,\"frac_"
          "membw\":%.3f,\"gflops\":%.1f,"
          "\"frac_fma_peak\":%.3f,\"frac_bf16_peak\":%.3f}\n",
          s.name, (long long)M, (long long)s.n, (long long)s.k, t * 1e6, t_best * 1e6, gbs,
          w_bytes / t_best / 1e9, gbs / bw.median_gbs, gflops, peak > 0 ? gflops / peak : 0.0,
          bf16_peak > 0 ? gflops / bf16_peak : 0.0);
      std::fflush(stdout);
    }
  }
  return 0;
}
