#include "yun/serve/cors.h"

#include <algorithm>

namespace yun::serve {
namespace {

class HeaderWriter : public ResponseWriter {
 public:
  HeaderWriter(std::shared_ptr<ResponseWriter> inner,
               std::vector<std::pair<std::string, std::string>> headers)
      : inner_(std::move(inner)), headers_(std::move(headers)) {}
  void send(HttpResponse r) override {
    r.headers.insert(r.headers.end(), headers_.begin(), headers_.end());
    inner_->send(std::move(r));
  }
  void start_stream(int status, const std::string& content_type,
                    std::vector<std::pair<std::string, std::string>> headers) override {
    headers.insert(headers.end(), headers_.begin(), headers_.end());
    inner_->start_stream(status, content_type, std::move(headers));
  }
  void write(std::string data) override { inner_->write(std::move(data)); }
  void finish() override { inner_->finish(); }
  void post(std::function<void()> fn) override { inner_->post(std::move(fn)); }
  void on_close(std::function<void()> fn) override { inner_->on_close(std::move(fn)); }
  bool closed() const override { return inner_->closed(); }

 private:
  std::shared_ptr<ResponseWriter> inner_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

// Header tokens only: a requested header list is echoed, so nothing else passes.
bool is_header_list(const std::string& s) {
  return s.size() <= 1024 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '_' || c == ',' || c == ' ';
         });
}

}  // namespace

CorsPolicy::CorsPolicy(std::vector<std::string> origins) {
  for (auto& o : origins) {
    size_t start = 0;
    while (start <= o.size()) {
      size_t comma = std::min(o.find(',', start), o.size());
      std::string one = o.substr(start, comma - start);
      while (!one.empty() && one.back() == ' ') one.pop_back();
      while (!one.empty() && one.front() == ' ') one.erase(0, 1);
      if (one == "*") any_ = true;
      else if (!one.empty()) origins_.push_back(one);
      start = comma + 1;
    }
  }
}

std::string CorsPolicy::allow_origin(const std::string& origin) const {
  if (origin.empty()) return "";
  if (std::find(origins_.begin(), origins_.end(), origin) != origins_.end()) return origin;
  return any_ ? "*" : "";
}

std::vector<std::pair<std::string, std::string>> CorsPolicy::response_headers(
    const std::string& origin) const {
  std::string allow = allow_origin(origin);
  if (allow.empty()) return {};
  return {{"Access-Control-Allow-Origin", allow},
          {"Vary", "Origin"},
          {"Access-Control-Expose-Headers",
           "x-ratelimit-limit-requests, x-ratelimit-remaining-requests, "
           "x-ratelimit-reset-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, "
           "x-ratelimit-reset-tokens, Retry-After"}};
}

HttpResponse CorsPolicy::preflight(const HttpRequest& req, const std::string& methods) const {
  HttpResponse r{204, "text/plain", "", response_headers(req.header("origin"))};
  r.headers.push_back({"Access-Control-Allow-Methods", methods + ", OPTIONS"});
  std::string asked = req.header("access-control-request-headers");
  r.headers.push_back({"Access-Control-Allow-Headers",
                       is_header_list(asked) && !asked.empty() ? asked
                                                               : "Authorization, Content-Type"});
  r.headers.push_back({"Access-Control-Max-Age", "600"});
  return r;
}

std::shared_ptr<ResponseWriter> with_headers(
    std::shared_ptr<ResponseWriter> inner, std::vector<std::pair<std::string, std::string>> headers) {
  if (headers.empty()) return inner;
  return std::make_shared<HeaderWriter>(std::move(inner), std::move(headers));
}

}  // namespace yun::serve
