#include "yun/engine/request_meta.h"

#include <cmath>
#include <string>

namespace yun {

Status RequestMeta::validate() const {
  if (!std::isfinite(weight) || !(weight > 0)) {
    return invalid_argument("meta.weight must be finite and > 0, got " + std::to_string(weight));
  }
  return Status::ok();
}

}  // namespace yun
