// HttpServer: an asynchronous HTTP/1.1 server (Boost.Beast/Asio underneath;
// this header keeps Boost out of its users).
//
// A fixed pool of io threads serves every connection; each connection runs
// on its own strand. Keep-alive, request header/idle timeouts, a body size
// limit (413) and chunked streaming responses (for SSE) are handled here.
// The handler is called once per request on the connection's strand and
// answers through a ResponseWriter, now or later, from any thread. While a
// request is being handled the server watches the socket, so a client that
// disconnects is reported through ResponseWriter::on_close at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "yun/base/status.h"

namespace yun::serve {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // as sent, "/v1/models?x=1"
  std::string path;                            // target without the query
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  // Header value or "" (name in lower case).
  std::string header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Answers one request. Every method is thread-safe; after the response is
// complete (send() or finish()) further calls are ignored.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // A complete response.
  virtual void send(HttpResponse response) = 0;
  // Starts a chunked response (e.g. text/event-stream); then write() pieces
  // and finish() once.
  virtual void start_stream(int status, const std::string& content_type,
                            std::vector<std::pair<std::string, std::string>> headers = {}) = 0;
  virtual void write(std::string data) = 0;
  virtual void finish() = 0;
  // Runs `fn` on the connection's strand, after anything posted before.
  virtual void post(std::function<void()> fn) = 0;
  // `fn` runs once (on the strand) if the client goes away before the
  // response is complete; at once if it already has.
  virtual void on_close(std::function<void()> fn) = 0;
  virtual bool closed() const = 0;
};

using HttpHandler = std::function<void(HttpRequest, std::shared_ptr<ResponseWriter>)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (see HttpServer::port)
  // io threads; 0: default_http_threads(). One thread needs no wake-ups
  // between io threads: on a small machine every extra one competes with
  // the engine's compute threads for the same cores.
  int threads = 0;
  size_t body_limit = 32 << 20;  // bytes; larger bodies get 413
  double header_timeout_s = 30;  // to read a request's headers and body
  double idle_timeout_s = 60;    // keep-alive connection with no request
};

// One io thread per 8 hardware threads, 1 to 4.
int default_http_threads();

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Binds and starts serving on the io threads. Errors: kUnavailable when
  // the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options,
                                                   HttpHandler handler);
  virtual int port() const = 0;
  // Closes the listening socket; later responses carry "Connection: close".
  virtual void stop_accepting() = 0;
  // Requests handed to the handler whose response is not complete.
  virtual int64_t active_requests() const = 0;
  // Stops the io threads (closing every connection) and joins them.
  virtual void stop() = 0;
};

}  // namespace yun::serve
