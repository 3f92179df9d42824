// Helpers for the CUDA op tests (tests/cuda/*_test.cc), in the manner of
// llama.cpp's test-backend-ops: random inputs from a fixed seed, float64 CPU
// references, outputs poisoned with NaN and framed by guard bytes that must
// survive the kernel, normalized error per METHOD.md (bf16 outputs: 1e-2).
//
// Perf mode: YUN_CUDA_PERF=1 yun_cuda_tests makes every op case also time
// itself (CUDA events, 3 warm-ups, median of 20) and print a line
//   PERF <op> <shape> <us> us <GB/s> GB/s <TFLOP/s> TFLOP/s
// from the case's byte and flop counts (scripts/gpu-check.sh tabulates them).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "yun/base/half.h"
#include "yun/compute/cuda/cuda_common.h"

namespace yun::cuda_test {

#define YUN_SKIP_WITHOUT_GPU()                                 \
  do {                                                         \
    if (!::yun::cuda_device_available()) {                     \
      GTEST_SKIP() << "no CUDA device";                        \
    }                                                          \
  } while (0)

#define ASSERT_CUDA_OK(expr) ASSERT_EQ((expr), cudaSuccess)
#define ASSERT_STATUS_OK(expr)                     \
  do {                                             \
    ::yun::Status st_ = (expr);                    \
    ASSERT_TRUE(st_.is_ok()) << st_.to_string();   \
  } while (0)

inline bool perf_mode() {
  const char* v = std::getenv("YUN_CUDA_PERF");
  return v && *v && std::string(v) != "0";
}

inline float round_bf16(float x) { return bf16_to_f32(f32_to_bf16(x)); }

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  float uniform(float lo = -1.f, float hi = 1.f) {
    return std::uniform_real_distribution<float>(lo, hi)(g_);
  }
  int randint(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g_); }  // [lo, hi]
  // n values rounded to bf16 (as floats), so the reference sees the exact inputs.
  std::vector<float> bf16_values(size_t n, float lo = -1.f, float hi = 1.f) {
    std::vector<float> v(n);
    for (auto& x : v) x = round_bf16(uniform(lo, hi));
    return v;
  }
  std::mt19937_64& engine() { return g_; }

 private:
  std::mt19937_64 g_;
};

inline std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> o(v.size());
  for (size_t i = 0; i < v.size(); ++i) o[i] = f32_to_bf16(v[i]);
  return o;
}
inline std::vector<float> from_bf16(const std::vector<uint16_t>& v) {
  std::vector<float> o(v.size());
  for (size_t i = 0; i < v.size(); ++i) o[i] = bf16_to_f32(v[i]);
  return o;
}

// A device array of n elements of T with kGuard bytes of a known pattern on
// both sides. poison() fills the interior with 0xFF bytes (NaN for bf16 and
// f32; -1 for int32), so an unwritten element shows.
template <typename T>
class DeviceArray {
 public:
  static constexpr size_t kGuard = 512;
  static constexpr unsigned char kPattern = 0xA7;
  explicit DeviceArray(size_t n) : n_(n) {
    bytes_ = n_ * sizeof(T) + 2 * kGuard;
    if (cudaMalloc(&base_, bytes_) != cudaSuccess) base_ = nullptr;
    if (base_) cudaMemset(base_, kPattern, bytes_);
  }
  ~DeviceArray() {
    if (base_) cudaFree(base_);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  T* get() const { return reinterpret_cast<T*>(static_cast<char*>(base_) + kGuard); }
  template <typename D>
  D* as() const { return reinterpret_cast<D*>(get()); }
  size_t size() const { return n_; }
  bool ok() const { return base_ != nullptr; }

  void upload(const std::vector<T>& v) {
    EXPECT_EQ(v.size(), n_);
    EXPECT_EQ(cudaMemcpy(get(), v.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  void poison() { EXPECT_EQ(cudaMemset(get(), 0xFF, n_ * sizeof(T)), cudaSuccess); }
  std::vector<T> download() const {
    std::vector<T> v(n_);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(v.data(), get(), n_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return v;
  }
  // True when both guard regions still hold the pattern.
  bool guards_intact() const {
    std::vector<unsigned char> g(kGuard);
    for (int side = 0; side < 2; ++side) {
      const char* p = static_cast<const char*>(base_) + (side ? kGuard + n_ * sizeof(T) : 0);
      if (cudaMemcpy(g.data(), p, kGuard, cudaMemcpyDeviceToHost) != cudaSuccess) return false;
      for (unsigned char c : g)
        if (c != kPattern) return false;
    }
    return true;
  }

 private:
  size_t n_ = 0, bytes_ = 0;
  void* base_ = nullptr;
};

// ‖out − ref‖ / ‖ref‖ (float64), with NaN/Inf anywhere failing. Prints the
// first mismatches (|out − ref| > tol_abs + |ref|·tol_elem).
inline ::testing::AssertionResult close_enough(const std::vector<float>& out,
                                               const std::vector<double>& ref, double tol_rel,
                                               const std::string& what,
                                               double tol_elem = 0.05) {
  if (out.size() != ref.size()) return ::testing::AssertionFailure() << what << ": size mismatch";
  double num = 0, den = 0, ref_max = 0;
  for (double r : ref) ref_max = std::max(ref_max, std::fabs(r));
  std::string first;
  int bad = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i]))
      return ::testing::AssertionFailure() << what << ": non-finite output at " << i << " (unwritten?)";
    const double d = double(out[i]) - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
    if (std::fabs(d) > tol_elem * (ref_max * 0.05 + std::fabs(ref[i])) && bad < 5) {
      ++bad;
      first += " [" + std::to_string(i) + "] got " + std::to_string(out[i]) + " want " + std::to_string(ref[i]) + ";";
    }
  }
  const double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  if (rel > tol_rel)
    return ::testing::AssertionFailure() << what << ": rel err " << rel << " > " << tol_rel << first;
  return ::testing::AssertionSuccess();
}

// Times fn (device work on the default stream) when perf mode is on and prints
// a PERF line. bytes / flops: the case's minimal traffic and arithmetic.
inline void maybe_perf(const std::string& op, const std::string& shape, double bytes, double flops,
                       const std::function<Status()>& fn) {
  if (!perf_mode()) return;
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  for (int i = 0; i < 3; ++i) (void)fn();
  std::vector<float> ms;
  for (int i = 0; i < 20; ++i) {
    cudaEventRecord(a);
    Status st = fn();
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    if (!st.is_ok()) {
      ADD_FAILURE() << op << " perf run: " << st.to_string();
      break;
    }
    float t = 0;
    cudaEventElapsedTime(&t, a, b);
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  if (ms.empty()) return;
  std::sort(ms.begin(), ms.end());
  const double s = double(ms[ms.size() / 2]) * 1e-3;
  std::printf("PERF %-16s %-34s %10.2f us %9.1f GB/s %8.3f TFLOP/s\n", op.c_str(), shape.c_str(),
              s * 1e6, bytes / s * 1e-9, flops / s * 1e-12);
  std::fflush(stdout);
}

}  // namespace yun::cuda_test
