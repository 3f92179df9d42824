#include "yun/serve/route_table.h"

#include <algorithm>

namespace yun::serve {

bool RouteTable::path_matches(const Route& r, const std::string& path) {
  if (!r.path.empty() && r.path.back() == '/' && r.path.size() > 1) {
    return path.size() > r.path.size() && path.compare(0, r.path.size(), r.path) == 0;
  }
  return r.path == path;
}

RouteTable::Match RouteTable::find(const std::string& method, const std::string& path) const {
  Match m;
  for (const Route& r : routes_) {
    if (!path_matches(r, path)) continue;
    if (r.method == method) {
      m.route = &r;
      m.allowed.clear();
      return m;
    }
    if (m.allowed.find(r.method) == std::string::npos) {
      m.allowed += (m.allowed.empty() ? "" : ", ") + r.method;
    }
  }
  return m;
}

Access RouteTable::access_for(const std::string& path) const {
  Access a = Access::kPublic;
  for (const Route& r : routes_) {
    if (path_matches(r, path)) a = std::max(a, r.access);
  }
  return a;
}

}  // namespace yun::serve
