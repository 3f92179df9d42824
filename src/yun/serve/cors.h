// CORS for browser apps calling yun directly (--allowed-origins): which
// origins may, the preflight answer, and the headers every response to an
// allowed origin carries. Off by default (no origin allowed: browsers then
// refuse cross-origin calls, as with vLLM's default).
//
//   --allowed-origins '*'                      any origin (no credentials)
//   --allowed-origins https://app.example.com  exact origins, repeatable / comma-separated
//
// A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an
// allowed origin gets 204 with Allow-Methods = the methods the route table
// has for that path, Allow-Headers = what was asked (Authorization,
// Content-Type, …), Max-Age 600; from any other origin, or for a path with
// no route, 403 / 404 without CORS headers. Actual responses to an allowed
// origin carry Access-Control-Allow-Origin (the origin itself, or '*'),
// Vary: Origin, and expose the x-ratelimit-* and Retry-After headers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "yun/serve/http_server.h"

namespace yun::serve {

class CorsPolicy {
 public:
  CorsPolicy() = default;
  explicit CorsPolicy(std::vector<std::string> origins);  // "*" or exact origins

  bool enabled() const { return any_ || !origins_.empty(); }
  // The Access-Control-Allow-Origin value for `origin`, "" when not allowed.
  std::string allow_origin(const std::string& origin) const;
  // The headers an actual response to an allowed origin adds.
  std::vector<std::pair<std::string, std::string>> response_headers(const std::string& origin) const;
  // A preflight's 204 for a path whose routes take `methods` ("GET, POST").
  HttpResponse preflight(const HttpRequest& req, const std::string& methods) const;

 private:
  bool any_ = false;
  std::vector<std::string> origins_;
};

// A ResponseWriter that adds `headers` to whatever `inner` sends.
std::shared_ptr<ResponseWriter> with_headers(std::shared_ptr<ResponseWriter> inner,
                                             std::vector<std::pair<std::string, std::string>> headers);

}  // namespace yun::serve
