// matmul() dispatch, the scalar path and the reference (see matmul.h).
//
// The float32 SIMD paths live in matmul_avx2.cc / matmul_avx512.cc (one shared
// body, matmul_simd.inc). The bf16-activation path (matmul_avx512bf16.cc) runs
// only for weights marked MatmulPrecision::kBF16: rounding x to bf16 breaks the
// engine's default 1e-4 agreement with a float64 reference, so it is opt-in
// (`--dtype bfloat16`).
#include "yun/compute/cpu/matmul.h"

#include <cstring>
#include <vector>

#include "yun/base/cpu_features.h"
#include "yun/base/half.h"
#include "yun/compute/cpu/matmul_kernels.h"
#include "yun/compute/cpu/quant_matmul.h"
#include "yun/model/weight_format.h"

namespace yun {
namespace {

float weight_at(const WeightMatrix& W, int64_t n, int64_t k) {
  int64_t i = n * W.cols + k;
  switch (W.dtype) {
    case DType::kBF16:
      return bf16_to_f32(static_cast<const uint16_t*>(W.data)[i]);
    case DType::kF16:
      return f16_to_f32(static_cast<const uint16_t*>(W.data)[i]);
    case DType::kF32:
      return static_cast<const float*>(W.data)[i];
    default:
      return 0.0f;  // other dtypes are not weights of linear layers
  }
}

// Rows [n0, n1) of y for all M, accumulating in float32.
void scalar_rows(const float* x, int64_t M, const WeightMatrix& W, float* y, const float* bias,
                 int64_t n0, int64_t n1) {
  const int64_t K = W.cols, N = W.rows;
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t m = 0; m < M; ++m) {
      const float* xr = x + m * K;
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k) acc += xr[k] * weight_at(W, n, k);
      y[m * N + n] = acc + (bias ? bias[n] : 0.0f);
    }
  }
}

// Rows of x below which the bf16 path is not worth it: the products are
// memory bound there, and the float32 path streams W as fast.
constexpr int64_t kBf16MinM = 5;

bool use_bf16(int64_t M, const WeightMatrix& W) {
  static const bool supported = matmul_bf16_supported();
  return supported && M >= kBf16MinM && W.precision == MatmulPrecision::kBF16 &&
         W.dtype == DType::kBF16 && W.cols > 0;
}

internal::MatmulPath pick() {
  internal::MatmulPath p[3];
  internal::available_matmul_paths(p, 3);
  return p[0];
}

}  // namespace

namespace internal {

void matmul_scalar(const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
                   const float* bias) {
  pool.parallel_for(
      W.rows, [&](int64_t n0, int64_t n1) { scalar_rows(x, M, W, y, bias, n0, n1); }, 16);
}

void matmul_multi_scalar(const float* x, int64_t M, const MatmulJob* jobs, int num_jobs,
                         ThreadPool& pool) {
  for (int i = 0; i < num_jobs; ++i) matmul_scalar(x, M, jobs[i].W, jobs[i].y, pool, jobs[i].bias);
}

int available_matmul_paths(MatmulPath* out, int max_out) {
  const CpuFeatures& f = cpu_features();
  int n = 0;
  auto add = [&](const char* name, MatmulFn fn, MatmulMultiFn multi) {
    if (n < max_out) out[n++] = {name, fn, multi};
  };
  if (f.avx512f && f.avx512bw && f.avx512vl) add("avx512", matmul_avx512, matmul_multi_avx512);
  if (f.avx2 && f.fma && f.f16c) add("avx2", matmul_avx2, matmul_multi_avx2);
  add("scalar", matmul_scalar, matmul_multi_scalar);
  return n;
}

}  // namespace internal

void matmul(const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
            const float* bias) {
  static const internal::MatmulFn fn = pick().fn;
  if (M <= 0 || W.rows <= 0) return;
  if (is_block_format(W.dtype) && W.cols > 0) return internal::quant_matmul(x, M, W, y, pool, bias);
  if (use_bf16(M, W)) return internal::matmul_avx512bf16(x, M, W, y, pool, bias);
  if (W.cols <= 0) {  // empty sum
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < W.rows; ++n) y[m * W.rows + n] = bias ? bias[n] : 0.0f;
    return;
  }
  fn(x, M, W, y, pool, bias);
}

void matmul_multi(const float* x, int64_t M, const MatmulJob* jobs, int num_jobs,
                  ThreadPool& pool) {
  static const internal::MatmulMultiFn fn = pick().multi;
  bool quant = false;
  for (int i = 0; i < num_jobs; ++i) quant = quant || is_block_format(jobs[i].W.dtype);
  if (quant) {  // the quantized kernels take one product at a time
    for (int i = 0; i < num_jobs; ++i) matmul(x, M, jobs[i].W, jobs[i].y, pool, jobs[i].bias);
    return;
  }
  bool bf16 = num_jobs > 0;
  for (int i = 0; i < num_jobs; ++i) bf16 = bf16 && use_bf16(M, jobs[i].W);
  if (bf16) return internal::matmul_multi_avx512bf16(x, M, jobs, num_jobs, pool);
  fn(x, M, jobs, num_jobs, pool);  // every path handles empty N and K per job
}

// Accumulates in double (then rounds once) so that it is a sharper yardstick
// than any float32 path; still scalar and single-threaded. Each W row is
// decoded with its format's row_to_float (model/weight_format.h).
void matmul_reference(const float* x, int64_t M, const WeightMatrix& W, float* y,
                      const float* bias) {
  const int64_t K = W.cols, N = W.rows;
  const WeightFormat* f = weight_format(W.dtype);
  if (!f) return;
  const size_t row_bytes = *format_bytes(W.dtype, K);
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t n = 0; n < N; ++n) {
    f->row_to_float(static_cast<const uint8_t*>(W.data) + size_t(n) * row_bytes, row.data(), K);
    for (int64_t m = 0; m < M; ++m) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; ++k) acc += double(x[m * K + k]) * double(row[size_t(k)]);
      if (bias) acc += bias[n];
      y[m * N + n] = float(acc);
    }
  }
}

const char* matmul_kernel_name() { return pick().name; }

bool matmul_bf16_supported() {
  const CpuFeatures& f = cpu_features();
  return f.avx512f && f.avx512bw && f.avx512vl && f.avx512_bf16;
}

}  // namespace yun
