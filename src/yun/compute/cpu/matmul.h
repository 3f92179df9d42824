// Matrix products against checkpoint weights, the hot loop of the CPU backend.
//
//   y[m, n] = sum_k x[m, k] * W[n, k]      (y = x · Wᵀ, as torch's F.linear)
//
// x and y are float32, row-major; W is a weight matrix [N, K] in BF16, F16 or
// F32 straight from the memory-mapped checkpoint. Accumulation is float32.
// The fastest path the CPU supports is picked at run time (AVX-512, AVX2+FMA,
// scalar; YUN_CPU_LIMIT=avx2|scalar caps it); all are tested against
// matmul_reference.
//
// Precision: by default x enters the products as float32, so results agree
// with a float64 reference to ~1e-6 relative (the engine's 1e-4 agreement
// with transformers rests on this). A weight marked MatmulPrecision::kBF16
// allows x to be rounded to bf16 for its products, as llama.cpp and vLLM's CPU
// backend do: on CPUs with AVX512_BF16, for BF16 weights at M > 4 (compute
// bound), vdpbf16ps then does twice the multiply-adds per instruction. The
// error is that of rounding x (2^-9 relative per element), ~1e-3..1e-2 on
// logits. Elsewhere the flag is ignored and the float32 path runs.
#pragma once

#include <cstdint>

#include "yun/base/thread_pool.h"
#include "yun/model/dtype.h"

namespace yun {

enum class MatmulPrecision { kFloat32, kBF16 };

struct WeightMatrix {
  DType dtype = DType::kBF16;
  const void* data = nullptr;                             // [rows, cols] row-major
  int64_t rows = 0;                                       // N (output features)
  int64_t cols = 0;                                       // K (input features)
  MatmulPrecision precision = MatmulPrecision::kFloat32;  // see above
};

// y[M, N] = x[M, K] · Wᵀ (+ bias[N] when bias != nullptr). Uses `pool` to
// split the work (over N for small M, over M and N for large M).
// REQUIRES: W.cols == K; x holds M*K floats, y holds M*N floats; no aliasing.
void matmul(const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
            const float* bias = nullptr);

// One product of a matmul_multi call: y = x · Wᵀ (+ bias).
struct MatmulJob {
  WeightMatrix W;
  float* y = nullptr;
  const float* bias = nullptr;
};

// Several products of the same x (q/k/v, gate/up) in one parallel loop: at
// small M (decode) the rows of all W are split among the threads together, so
// one hand-off and one load balance serve them all instead of one each.
// REQUIRES: every W.cols == K; same contract as matmul() per job.
void matmul_multi(const float* x, int64_t M, const MatmulJob* jobs, int num_jobs, ThreadPool& pool);

// Scalar single-thread reference for tests; accumulates in double, rounds once.
void matmul_reference(const float* x, int64_t M, const WeightMatrix& W, float* y,
                      const float* bias = nullptr);

// Name of the path matmul() uses on this CPU ("avx512", "avx2", "scalar").
const char* matmul_kernel_name();

// True when this CPU runs MatmulPrecision::kBF16 products in bf16 (AVX512_BF16
// present and not capped by YUN_CPU_LIMIT).
bool matmul_bf16_supported();

}  // namespace yun
