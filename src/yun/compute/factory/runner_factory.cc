// create_runner: compiled into yun_runners, which links yun_cuda (and gets
// YUN_HAVE_CUDA from it) when the CUDA backend is built.
#include "yun/compute/runner_factory.h"

#ifdef YUN_HAVE_CUDA
#include "yun/compute/cuda/cuda_common.h"
#include "yun/compute/cuda/cuda_runner.h"
#endif

namespace yun {

bool cuda_backend_built() {
#ifdef YUN_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef YUN_HAVE_CUDA
  return cuda_visible_device_count();
#else
  return 0;
#endif
}

Result<Device> resolve_device(const std::string& requested) {
  const bool built = cuda_backend_built();
  // Asking the driver costs a context-free call; skip it for an explicit cpu.
  const int count = built && requested != "cpu" ? cuda_device_count() : 0;
  return choose_device(requested, built, count);
}

Result<std::unique_ptr<ModelRunner>> create_runner(const std::string& model_dir,
                                                   const DeviceOptions& options) {
  if (!(options.gpu_memory_utilization > 0.0 && options.gpu_memory_utilization <= 1.0)) {
    return invalid_argument("--gpu-memory-utilization must be in (0, 1]");
  }
  YUN_ASSIGN_OR_RETURN(Device device, resolve_device(options.device));
  if (device.kind == DeviceKind::kCpu) return create_cpu_runner(model_dir, options.cpu);
#ifdef YUN_HAVE_CUDA
  CudaRunnerOptions o;
  o.device = device.index;
  o.gpu_memory_utilization = options.gpu_memory_utilization;
  o.cuda_graphs = options.cuda_graphs;
  o.auto_allocate_kv_cache = false;  // the engine plans and allocates
  return create_cuda_runner(model_dir, o);
#else
  return unavailable("this yun was built without the CUDA backend");
#endif
}

}  // namespace yun
