// The CUDA backend as a plugin: libyun_cuda.so, built beside the `yun`
// executable when nvcc is found, holds the CUDA runner and links the CUDA
// libraries (cudart, cuBLAS, cuBLASLt); the executable loads it with dlopen
// only when a GPU may be used. So a CPU-only machine needs no CUDA libraries
// installed, and a CPU run pays neither their start-up time nor their memory
// (about 0.4 s and 200 MB when they were linked into the executable).
//
// The two entry points, looked up by name (extern "C", default visibility;
// every other symbol of the plugin is hidden):
#pragma once

#include <cstddef>

namespace yun {
class ModelRunner;
}

extern "C" {
// CUDA devices visible to this process (0 without a driver or a device).
using YunCudaDeviceCountFn = int (*)();
// A new CUDA runner for `model_dir` on `device`, its KV cache not yet
// allocated; null with a one-line reason in `error` (NUL-terminated, at most
// `error_size` bytes) on failure. The caller owns the runner (delete it
// through ModelRunner's virtual destructor).
using YunCudaCreateRunnerFn = yun::ModelRunner* (*)(const char* model_dir, int device,
                                                    double gpu_memory_utilization,
                                                    int cuda_graphs, char* error,
                                                    size_t error_size);
}

inline constexpr const char* kYunCudaPluginFile = "libyun_cuda.so";
inline constexpr const char* kYunCudaDeviceCountSymbol = "yun_cuda_device_count";
inline constexpr const char* kYunCudaCreateRunnerSymbol = "yun_cuda_create_runner";
