// HttpClient: the few HTTP requests `yun pull` makes, over libcurl (one easy
// handle per request, so one client may be used from several threads).
//
// Every request sends `Authorization: Bearer TOKEN` when a token is set;
// libcurl drops it when a redirect leaves the first host (a CDN never sees
// it). Errors are values: a transport failure (refused, reset, cut short,
// timed out) is kUnavailable with libcurl's words; an HTTP status, whatever
// it is, is a successful HttpResponse for the caller to judge. Built without
// libcurl (YUN_HAVE_CURL unset), every request is kUnimplemented.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>

#include "yun/base/status.h"

namespace yun::hub {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // of the first response, names lower-cased
  std::string body;                            // get() only
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpClient {
 public:
  explicit HttpClient(std::string token = "") : token_(std::move(token)) {}
  static bool available();  // built with libcurl

  // HEAD without following redirects (the hub's metadata is on the first reply).
  Result<HttpResponse> head(const std::string& url) const;
  // GET, following redirects, the body in memory.
  Result<HttpResponse> get(const std::string& url) const;
  // GET following redirects, appending the body to `out` from byte `offset`
  // (sent as `Range: bytes=OFFSET-` when > 0). A 200 reply to a range request
  // truncates `out` first; a reply >= 300 writes nothing. `on_bytes(n)` is
  // called as bytes are written (n may be negative after a truncation); when
  // it returns false the transfer stops with kAborted.
  Result<HttpResponse> download(const std::string& url, std::FILE* out, int64_t offset,
                                const std::function<bool(int64_t)>& on_bytes) const;

 private:
  std::string token_;
};

}  // namespace yun::hub
