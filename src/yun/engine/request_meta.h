// RequestMeta: who a request is for, as the engine sees it. The serve layer
// fills it from the authenticated principal; the engine never knows keys,
// limits or quotas, only these opaque values:
//   tenant      the fair-share unit (scheduler.h); 0 is the default tenant;
//   weight      the tenant's fair-share weight (> 0, finite): with tenants
//               present its share of the KV pool and of the batch is
//               weight / (sum of the weights of the tenants present);
//   priority    higher is admitted first among waiting tenants (admission
//               order only; it never preempts);
//   cache_salt  seeds the prefix cache's hash chain (block_pool.h): requests
//               with different salts never share cached KV blocks, requests
//               with the same salt do; 0 is the unsalted cache of before.
// Thread: a plain value.
#pragma once

#include <cstdint>

#include "yun/base/status.h"

namespace yun {

struct RequestMeta {
  uint64_t tenant = 0;
  double weight = 1.0;
  int32_t priority = 0;
  uint64_t cache_salt = 0;

  // Errors: kInvalidArgument when weight is not finite or not > 0.
  Status validate() const;
};

}  // namespace yun
