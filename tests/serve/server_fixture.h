// ServerTest: the real HTTP server + OpenAiService on FakeEngine (real
// sockets on 127.0.0.1, no model), and small blocking HTTP/SSE helpers, for
// the server_*_test.cc files.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fake_engine.h"
#include "yun/serve/http_server.h"
#include "yun/serve/metrics.h"
#include "yun/serve/openai_service.h"

namespace yun::serve::testing {

using nlohmann::json;

struct Reply {
  int status = 0;
  std::string headers;
  std::string body;
};

inline int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

inline std::string make_request(const std::string& method, const std::string& path,
                                const std::string& body, const std::string& extra, bool close) {
  return method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n" + extra +
         (close ? "Connection: close\r\n" : "") + "\r\n" + body;
}

inline std::string to_hex(size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

inline std::string dechunk(const std::string& s) {
  std::string out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t eol = s.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t n = std::stoul(s.substr(pos, eol - pos), nullptr, 16);
    if (n == 0) break;
    out += s.substr(eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  return out;
}

inline Reply parse_reply(const std::string& raw) {
  Reply r;
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  r.headers = raw.substr(0, end);
  r.status = std::stoi(raw.substr(9, 3));
  r.body = raw.substr(end + 4);
  if (r.headers.find("Transfer-Encoding: chunked") != std::string::npos) r.body = dechunk(r.body);
  return r;
}

inline Reply http(int port, const std::string& method, const std::string& path,
                  const std::string& body = "", const std::string& extra = "") {
  int fd = connect_to(port);
  if (fd < 0) return {};
  std::string req = make_request(method, path, body, extra, true);
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string raw;
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, n);
  }
  ::close(fd);
  return parse_reply(raw);
}

// SSE payloads (without "data: ").
inline std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    size_t end = body.find("\n\n", pos);
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  void start(const std::string& script, ServiceOptions opts = {},
             HttpServerOptions http_opts = {}) {
    engine_ = std::make_unique<FakeEngine>(script);
    tok_ = std::make_shared<ByteTokenizer>();
    tmpl_ = std::make_shared<SimpleTemplate>();
    if (opts.served_model_names.empty()) opts.served_model_names = {"tiny", "alias"};
    opts.version = "9.9.9";
    metrics_ = std::make_unique<Metrics>(opts.served_model_names[0]);
    service_ = std::make_unique<OpenAiService>(opts, engine_.get(), tok_, tmpl_, metrics_.get());
    http_opts.port = 0;
    http_opts.threads = 2;
    auto s = HttpServer::start(http_opts, [this](HttpRequest r, std::shared_ptr<ResponseWriter> w) {
      service_->handle(std::move(r), std::move(w));
    });
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    server_ = std::move(*s);
    port_ = server_->port();
  }
  // The last prompt the engine was given, as text.
  std::string prompt_seen() const { return tok_->decode(engine_->last_prompt(), false); }
  void TearDown() override {
    if (engine_) engine_->shutdown();
    if (server_) server_->stop();
  }

  std::unique_ptr<FakeEngine> engine_;
  std::shared_ptr<ByteTokenizer> tok_;
  std::shared_ptr<SimpleTemplate> tmpl_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<OpenAiService> service_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

}  // namespace yun::serve::testing
