// Principal: who a request comes from, as authentication found it, carried
// in the per-request RequestContext. The engine never sees it; serve passes
// on only an opaque tenant id.
#pragma once

#include <string>

namespace yun::serve {

struct Principal {
  std::string tenant = "default";  // the tenant the key belongs to
  std::string key_id;              // which key ("" when the server has no keys)
  bool admin = false;              // an admin-scoped key
};

struct RequestContext {
  Principal principal;
};

}  // namespace yun::serve
