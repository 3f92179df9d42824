// The entry points of libyun_cuda.so (plugin_api.h) over the CUDA runner.
#include <cstdio>
#include <cstring>

#include "yun/compute/cuda/cuda_common.h"
#include "yun/compute/cuda/cuda_runner.h"
#include "yun/compute/cuda_plugin/plugin_api.h"

extern "C" __attribute__((visibility("default"))) int yun_cuda_device_count() {
  return yun::cuda_visible_device_count();
}

extern "C" __attribute__((visibility("default"))) yun::ModelRunner* yun_cuda_create_runner(
    const char* model_dir, int device, double gpu_memory_utilization, int cuda_graphs,
    char* error, size_t error_size) {
  yun::CudaRunnerOptions o;
  o.device = device;
  o.gpu_memory_utilization = gpu_memory_utilization;
  o.cuda_graphs = cuda_graphs != 0;
  o.auto_allocate_kv_cache = false;  // the engine plans and allocates
  auto r = yun::create_cuda_runner(model_dir, o);
  if (!r.is_ok()) {
    if (error && error_size > 0) std::snprintf(error, error_size, "%s", r.status().message().c_str());
    return nullptr;
  }
  return r->release();
}
