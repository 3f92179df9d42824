// Memory read bandwidth of this machine, for judging memory-bound kernels:
// every thread of the pool sums its share of a large buffer (default 1 GiB,
// far beyond any cache) with 256-bit loads; the median over repeats is kept.
// The buffer is advised MADV_HUGEPAGE (2 MiB pages where the kernel gives
// them), so TLB misses do not lower the limit it measures.
// Used by yun_bench_membw, yun_bench_matmul and yun_bench_decode so that each
// reports its speed as a fraction of the bandwidth measured in the same run.
#pragma once

#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "yun/base/cpu_features.h"
#include "yun/base/thread_pool.h"

namespace yun::bench {

struct MembwResult {
  double median_gbs = 0;  // 1e9 bytes per second
  double best_gbs = 0;
  double bytes = 0;
  int threads = 0;
  int repeats = 0;
};

__attribute__((target("avx2"))) inline float sum_avx2(const float* p, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  alignas(32) float t[8];
  _mm256_store_ps(t, s);
  float r = 0;
  for (float v : t) r += v;
  return r;  // n is a multiple of 32 (whole chunks)
}

inline float sum_scalar(const float* p, size_t n) {
  float r0 = 0, r1 = 0, r2 = 0, r3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) r0 += p[i], r1 += p[i + 1], r2 += p[i + 2], r3 += p[i + 3];
  return r0 + r1 + r2 + r3;
}

inline MembwResult measure_read_bandwidth(ThreadPool& pool, size_t bytes = size_t(1) << 30,
                                          int repeats = 7) {
  constexpr size_t kChunkFloats = size_t(4) << 20;  // 16 MiB per work item
  size_t n = std::max(kChunkFloats, bytes / sizeof(float) / kChunkFloats * kChunkFloats);
  float* buf = static_cast<float*>(std::aligned_alloc(size_t(2) << 20, n * sizeof(float)));
  madvise(buf, n * sizeof(float), MADV_HUGEPAGE);
  const int64_t chunks = int64_t(n / kChunkFloats);
  // First touch from the pool (pages land near the threads that read them).
  pool.parallel_for(chunks, [&](int64_t c0, int64_t c1) {
    std::memset(buf + c0 * kChunkFloats, 0, (c1 - c0) * kChunkFloats * sizeof(float));
  });
  const bool avx2 = cpu_features().avx2;
  std::vector<double> gbs;
  volatile float sink = 0;
  for (int r = 0; r < repeats + 1; ++r) {  // the first pass is a warm-up
    std::vector<float> part(chunks, 0.0f);
    auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(chunks, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const float* p = buf + c * kChunkFloats;
        part[c] = avx2 ? sum_avx2(p, kChunkFloats) : sum_scalar(p, kChunkFloats);
      }
    });
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (float v : part) sink = sink + v;
    if (r > 0) gbs.push_back(double(n) * sizeof(float) / s / 1e9);
  }
  std::free(buf);
  std::sort(gbs.begin(), gbs.end());
  MembwResult res;
  res.median_gbs = gbs[gbs.size() / 2];
  res.best_gbs = gbs.back();
  res.bytes = double(n) * sizeof(float);
  res.threads = pool.num_threads();
  res.repeats = repeats;
  return res;
}

}  // namespace yun::bench
