// The one place a ModelRunner is made: the backend and device from
// DeviceOptions, each backend's own options from the same struct.
//
//   --device cpu|cuda[:N]       default: cuda:0 when this binary has the CUDA
//                               backend and a device is present, else cpu
//   --gpu-memory-utilization F  vLLM's meaning: the share of the GPU's total
//                               memory the process may use (weights,
//                               activations and KV cache); the KV cache gets
//                               what is left (default 0.9)
//   --no-cuda-graphs            run decode steps eagerly on the GPU
//
// The runner plans its own KV cache (ModelRunner::plan_kv_cache); the engine
// allocates what it plans. Lives in its own library (yun_runners, source in
// compute/factory/) because it links the CUDA backend when there is one.
#pragma once

#include <memory>
#include <string>

#include "yun/base/status.h"
#include "yun/compute/device.h"
#include "yun/compute/model_runner.h"

namespace yun {

struct DeviceOptions {
  std::string device;                   // as choose_device's `requested`
  double gpu_memory_utilization = 0.9;  // (0, 1]
  bool cuda_graphs = true;
  CpuRunnerOptions cpu;  // for the CPU runner
};

// Whether this binary has the CUDA backend, and how many devices it sees
// (0 without the backend, a driver or a device).
bool cuda_backend_built();
int cuda_device_count();

// choose_device for this binary on this machine.
Result<Device> resolve_device(const std::string& requested);

// Loads DIR onto the chosen device. The KV cache is not allocated: call
// plan_kv_cache and allocate_kv_cache (Engine::create does).
// Errors: as resolve_device; kInvalidArgument for gpu_memory_utilization
// outside (0, 1]; the backend's create_*_runner errors.
Result<std::unique_ptr<ModelRunner>> create_runner(const std::string& model_dir,
                                                   const DeviceOptions& options);

}  // namespace yun
