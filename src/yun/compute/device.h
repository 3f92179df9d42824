// Device selection: which backend and which GPU a runner goes on, from the
// `--device` spelling. Pure (the caller says what this binary and machine
// have), so the rule is tested on any machine; compute/runner_factory.h
// asks the real machine.
#pragma once

#include <string>

#include "yun/base/status.h"

namespace yun {

enum class DeviceKind { kCpu, kCuda };

struct Device {
  DeviceKind kind = DeviceKind::kCpu;
  int index = 0;  // the GPU, for kCuda

  std::string name() const;  // "cpu" or "cuda:N"
};

// `requested`: "cpu", "cuda", "cuda:N", or "" / "auto" (cuda:0 when this
// binary has the CUDA backend and a device is present, else cpu).
// Errors: kInvalidArgument for another spelling; kUnavailable for cuda when
// the backend is not built, no device is present, or N >= cuda_device_count
// (one line each, for the CLI).
Result<Device> choose_device(const std::string& requested, bool cuda_built, int cuda_device_count);

}  // namespace yun
