// Shared helpers of the CUDA backend: error checking that returns Status, the
// bf16 type, and device discovery. Plain C++: included by .cc and .cu files.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "yun/base/status.h"

namespace yun::cuda {

using bf16 = __nv_bfloat16;

// kInternal (or kResourceExhausted for out-of-memory) naming the failed call.
Status cuda_error(cudaError_t err, const char* expr, const char* file, int line);

// Ceil division for grid sizes.
inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace yun::cuda

namespace yun {
// True when a CUDA driver and at least one device can be used. Never aborts:
// false (with a debug log) on machines without a driver or GPU.
bool cuda_device_available();
// Devices the runtime sees (0 without a driver or GPU; never aborts).
int cuda_visible_device_count();
// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)" or an error.
Result<std::string> cuda_device_description(int device = 0);
}  // namespace yun

// Evaluates a cudaError_t expression; returns a Status from the enclosing
// function when it is not cudaSuccess.
#define YUN_CUDA_CHECK(expr)                                                    \
  do {                                                                          \
    cudaError_t yun_cuda_err_ = (expr);                                         \
    if (yun_cuda_err_ != cudaSuccess)                                           \
      return ::yun::cuda::cuda_error(yun_cuda_err_, #expr, __FILE__, __LINE__); \
  } while (0)
#ifndef CUDA_CHECK
#define CUDA_CHECK(expr) YUN_CUDA_CHECK(expr)
#endif
// After a <<<...>>> launch: launch-configuration errors surface here.
#define YUN_CUDA_CHECK_LAUNCH() YUN_CUDA_CHECK(cudaGetLastError())

// Shape/argument check at a kernel boundary: kInvalidArgument naming the op.
#define YUN_CUDA_REQUIRE(cond, op)                                                      \
  do {                                                                                  \
    if (!(cond)) return ::yun::invalid_argument(std::string(op) + ": requires " #cond); \
  } while (0)
