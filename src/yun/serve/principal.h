// Principal: who a request comes from, as authentication found it, carried
// in the per-request RequestContext. The engine never sees it; serve passes
// on only an opaque tenant id.
#pragma once

#include <optional>
#include <string>

#include "yun/tenancy/directory.h"

namespace yun::serve {

struct Principal {
  std::string tenant = "default";  // the tenant the key belongs to (its id with tenancy)
  std::string key_id;              // which key ("" when the server has no keys)
  bool admin = false;              // an admin-scoped key
  // With tenancy (--state-dir / --db): the key and its tenant, limits included.
  std::optional<tenancy::Identity> identity;
};

struct RequestContext {
  Principal principal;
};

}  // namespace yun::serve
