// RouteTable: the one list of HTTP routes of `yun serve`. Each route states
// its method, its path (exact, or a prefix ending in '/'), who may call it
// and its handler; dispatch, 404 / 405 (with Allow) and authentication all
// read this table, so a route is added in one place.
//
//   public:  anyone (health, metrics, version, the playground)
//   tenant:  an inference key when keys are configured (the OpenAI routes)
//   admin:   an admin key (reserved for the admin API)
//
// Thread-safe after construction (lookups only).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "yun/serve/http_server.h"
#include "yun/serve/principal.h"

namespace yun::serve {

enum class Access { kPublic, kTenant, kAdmin };

using RouteHandler = std::function<void(const HttpRequest&, const RequestContext&,
                                        std::shared_ptr<ResponseWriter>)>;

struct Route {
  std::string method;  // "GET", "POST", ...
  std::string path;    // exact, or a prefix when it ends in '/' (then the rest is non-empty)
  Access access = Access::kTenant;
  RouteHandler handler;
};

class RouteTable {
 public:
  void add(Route route) { routes_.push_back(std::move(route)); }

  struct Match {
    const Route* route = nullptr;  // null: no route for this method and path
    std::string allowed;           // when route is null: methods the path takes ("GET, POST")
  };
  Match find(const std::string& method, const std::string& path) const;
  // The access rule of a path: the strictest over its routes (kPublic when none).
  Access access_for(const std::string& path) const;

 private:
  static bool path_matches(const Route& r, const std::string& path);
  std::vector<Route> routes_;
};

}  // namespace yun::serve
