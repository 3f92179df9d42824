// Dense matmuls through cuBLASLt: bf16 operands, float32 accumulation.
//
//   y[M, N] = x[M, K] · W[N, K]ᵀ (+ bias[N])      (torch's F.linear)
//
// All row-major on the device. y is bf16 or float32 (logits, router).
#pragma once

#include <cublasLt.h>

#include <cstdint>
#include <map>
#include <tuple>

#include "yun/compute/cuda/cuda_common.h"

namespace yun::cuda {

enum class OutType { kBF16, kF32 };

class Matmul {
 public:
  Matmul() = default;
  ~Matmul();
  Matmul(const Matmul&) = delete;
  Matmul& operator=(const Matmul&) = delete;

  // Creates the handle and a workspace of `workspace_bytes` on the current device.
  Status init(size_t workspace_bytes = size_t(32) << 20);

  // y = x·Wᵀ (+ bias). M == 0 is a no-op. bias (bf16 [N]) only with kBF16 output.
  // Flops: 2*M*N*K; bytes: (M*K + N*K)*2 + M*N*(2|4).
  // REQUIRES: init() succeeded; K, N > 0; pointers 16-byte aligned for best speed.
  // Safe to call during CUDA graph capture once the same shape ran before
  // (the algorithm choice is cached per shape).
  Status linear(const bf16* x, int64_t M, int64_t K, const bf16* W, int64_t N, const bf16* bias,
                void* y, OutType out_type, cudaStream_t stream);

 private:
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  // (M, K, N, out type, bias, pointer alignment in bytes)
  using Key = std::tuple<int64_t, int64_t, int64_t, int, bool, uint32_t>;
  Result<const Plan*> plan(int64_t M, int64_t K, int64_t N, OutType out, bool bias, uint32_t align);

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  std::map<Key, Plan> plans_;
};

}  // namespace yun::cuda
