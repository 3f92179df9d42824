#include "yun/compute/device.h"

#include <cctype>

namespace yun {

std::string Device::name() const {
  return kind == DeviceKind::kCpu ? "cpu" : "cuda:" + std::to_string(index);
}

Result<Device> choose_device(const std::string& requested, bool cuda_built, int cuda_device_count) {
  Device d;
  if (requested.empty() || requested == "auto") {
    if (cuda_built && cuda_device_count > 0) d.kind = DeviceKind::kCuda;
    return d;
  }
  if (requested == "cpu") return d;
  if (requested.rfind("cuda", 0) != 0) {
    return invalid_argument("--device must be cpu, cuda or cuda:N, not '" + requested + "'");
  }
  d.kind = DeviceKind::kCuda;
  if (requested.size() > 4) {
    const std::string n = requested.substr(5);
    bool digits = requested[4] == ':' && !n.empty() && n.size() <= 4;
    for (char c : n) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (!digits) {
      return invalid_argument("--device must be cpu, cuda or cuda:N, not '" + requested + "'");
    }
    d.index = std::stoi(n);
  }
  if (!cuda_built) {
    return unavailable("--device " + requested +
                       ": this yun was built without the CUDA backend (use --device cpu)");
  }
  if (cuda_device_count <= 0) {
    return unavailable("--device " + requested + ": no CUDA device found (use --device cpu)");
  }
  if (d.index >= cuda_device_count) {
    return unavailable("--device " + requested + ": only " + std::to_string(cuda_device_count) +
                       " CUDA device(s) present");
  }
  return d;
}

}  // namespace yun
