// Device discovery and CUDA error conversion.
#include <cstdio>

#include "yun/base/log.h"
#include "yun/compute/cuda/cuda_common.h"

namespace yun::cuda {

Status cuda_error(cudaError_t err, const char* expr, const char* file, int line) {
  std::string msg = std::string(cudaGetErrorName(err)) + " (" + cudaGetErrorString(err) + ") at " +
                    file + ":" + std::to_string(line) + ": " + expr;
  if (err == cudaErrorMemoryAllocation) return resource_exhausted(msg);
  if (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver) return unavailable(msg);
  return internal_error(msg);
}

}  // namespace yun::cuda

namespace yun {

int cuda_visible_device_count() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky-free error state
    YUN_LOG(kDebug, std::string("cuda: no device: ") + cudaGetErrorString(err));
    return 0;
  }
  return n;
}

bool cuda_device_available() { return cuda_visible_device_count() > 0; }

Result<std::string> cuda_device_description(int device) {
  if (!cuda_device_available()) return unavailable("no CUDA device");
  cudaDeviceProp p{};
  YUN_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  char tail[96];
  std::snprintf(tail, sizeof tail, " (sm_%d%d, %d SMs, %.1f GiB)", p.major, p.minor,
                p.multiProcessorCount, double(p.totalGlobalMem) / (1 << 30));
  return std::string(p.name) + tail;
}

}  // namespace yun
