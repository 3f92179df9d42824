// The one map from a Status to a process exit code, for every yun command:
// 0 success, 2 bad input or usage (a missing or corrupt model file, a bad
// flag, a KV cache too small for one block), 1 any other runtime failure.
#pragma once

#include "yun/base/status.h"

namespace yun {

inline int exit_code_for(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kUnimplemented:
    case StatusCode::kOutOfRange:
    case StatusCode::kResourceExhausted:
      return 2;
    default:
      return 1;
  }
}

}  // namespace yun
