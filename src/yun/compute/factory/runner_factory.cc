// create_runner: the CPU runner directly, the CUDA runner through the plugin
// libyun_cuda.so (compute/cuda_plugin/plugin_api.h), found beside the
// executable or at $YUN_CUDA_PLUGIN, loaded once on first need.
#include "yun/compute/runner_factory.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <mutex>

#include "yun/compute/cuda_plugin/plugin_api.h"

namespace yun {
namespace {

struct CudaPlugin {
  YunCudaDeviceCountFn device_count = nullptr;
  YunCudaCreateRunnerFn create = nullptr;
  std::string error;  // why it could not be loaded
};

std::string exe_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, size_t(n));
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

const CudaPlugin& cuda_plugin() {
  static CudaPlugin plugin;
  static std::once_flag once;
  std::call_once(once, [] {
#ifndef YUN_CUDA_PLUGIN_BUILT
    plugin.error = "this yun was built without the CUDA backend";
#else
    const char* env = std::getenv("YUN_CUDA_PLUGIN");
    std::string path = env && *env ? env : exe_dir() + "/" + kYunCudaPluginFile;
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = ::dlerror();
      plugin.error = "cannot load the CUDA backend (" + std::string(e ? e : path) + ")";
      return;
    }
    plugin.device_count =
        reinterpret_cast<YunCudaDeviceCountFn>(::dlsym(h, kYunCudaDeviceCountSymbol));
    plugin.create = reinterpret_cast<YunCudaCreateRunnerFn>(::dlsym(h, kYunCudaCreateRunnerSymbol));
    if (!plugin.device_count || !plugin.create) {
      plugin.device_count = nullptr;
      plugin.create = nullptr;
      plugin.error = path + " is not a yun CUDA backend";
    }
#endif
  });
  return plugin;
}

}  // namespace

bool cuda_backend_built() {
#ifdef YUN_CUDA_PLUGIN_BUILT
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
  const CudaPlugin& p = cuda_plugin();
  return p.device_count ? p.device_count() : 0;
}

// Whether the NVIDIA kernel driver is loaded: without it no CUDA device can
// exist, and the default device is decided without loading the plugin.
bool nvidia_driver_present() {
  return ::access("/proc/driver/nvidia/gpus", F_OK) == 0 || ::access("/dev/nvidia0", F_OK) == 0;
}

Result<Device> resolve_device(const std::string& requested) {
  const bool asks_cuda = requested.rfind("cuda", 0) == 0;
  // An explicit cpu never loads the CUDA backend; the default loads it only
  // where a driver is.
  const bool try_cuda =
      cuda_backend_built() && (asks_cuda || (requested.empty() && nvidia_driver_present()));
  const bool loaded = try_cuda && cuda_plugin().create;
  const int count = loaded ? cuda_device_count() : 0;
  auto d = choose_device(requested, cuda_backend_built(), count);
  if (!d.is_ok() && asks_cuda && try_cuda && !loaded) {
    return unavailable("--device " + requested + ": " + cuda_plugin().error);
  }
  return d;
}

Result<std::unique_ptr<ModelRunner>> create_runner(const std::string& model_dir,
                                                   const DeviceOptions& options) {
  if (!(options.gpu_memory_utilization > 0.0 && options.gpu_memory_utilization <= 1.0)) {
    return invalid_argument("--gpu-memory-utilization must be in (0, 1]");
  }
  YUN_ASSIGN_OR_RETURN(Device device, resolve_device(options.device));
  if (device.kind == DeviceKind::kCpu) return create_cpu_runner(model_dir, options.cpu);
  const CudaPlugin& p = cuda_plugin();
  if (!p.create) return unavailable(p.error);
  char error[1024] = {0};
  ModelRunner* r = p.create(model_dir.c_str(), device.index, options.gpu_memory_utilization,
                            options.cuda_graphs ? 1 : 0, error, sizeof error);
  if (!r) return unavailable(std::string("CUDA runner: ") + error);
  return std::unique_ptr<ModelRunner>(r);
}

}  // namespace yun
