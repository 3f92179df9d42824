#include "yun/serve/http_server.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <deque>
#include <optional>
#include <thread>
#include <vector>

#include "yun/base/log.h"
#include "yun/base/thread_sched.h"
#include "yun/base/thread_name.h"
#include "yun/serve/api_error.h"

namespace yun::serve {

std::string HttpRequest::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class ServerImpl;

std::string status_line(int status) {
  auto reason = http::obsolete_reason(static_cast<http::status>(status));
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
}

std::string to_hex(size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

class Session;

class WriterImpl : public ResponseWriter {
 public:
  WriterImpl(std::shared_ptr<Session> s, uint64_t seq) : session_(std::move(s)), seq_(seq) {}
  void send(HttpResponse response) override;
  void start_stream(int status, const std::string& content_type,
                    std::vector<std::pair<std::string, std::string>> headers) override;
  void write(std::string data) override;
  void finish() override;
  void post(std::function<void()> fn) override;
  void on_close(std::function<void()> fn) override;
  bool closed() const override { return closed_.load(); }

  std::atomic<bool> closed_{false};

 private:
  std::shared_ptr<Session> session_;
  uint64_t seq_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerImpl* server);
  void start();

  // All below run on the strand.
  void do_read();
  void on_header(beast::error_code ec);
  void on_body(beast::error_code ec);
  void dispatch_request();
  void watch();
  void enqueue(std::string data);
  void do_write();
  void complete_response();
  void close();
  void arm_timer(double seconds);
  void send_error_and_close(const ApiError& e);
  std::string connection_header() const;

  void w_send(uint64_t seq, HttpResponse r);
  void w_start(uint64_t seq, int status, std::string ct,
               std::vector<std::pair<std::string, std::string>> headers);
  void w_write(uint64_t seq, std::string data);
  void w_finish(uint64_t seq);
  void w_on_close(uint64_t seq, std::function<void()> fn);

  tcp::socket socket_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  ServerImpl* server_;
  bool first_request_ = true;
  bool handling_ = false;   // a request is with the handler, response incomplete
  bool streaming_ = false;  // a chunked response has started
  bool watching_ = false;
  bool closed_ = false;
  bool keep_alive_ = true;
  bool writing_ = false;
  uint64_t seq_ = 0;
  std::deque<std::string> out_;
  std::function<void()> close_cb_;
  std::shared_ptr<WriterImpl> writer_;
};

class ServerImpl : public HttpServer {
 public:
  ServerImpl(const HttpServerOptions& o, HttpHandler h)
      : options_(o),
        handler_(std::move(h)),
        ioc_(num_threads()),
        acceptor_(net::make_strand(ioc_)),
        guard_(net::make_work_guard(ioc_)) {}
  ~ServerImpl() override { stop(); }

  int num_threads() const { return options_.threads > 0 ? options_.threads : default_http_threads(); }

  Status listen() {
    try {
      tcp::resolver resolver(ioc_);
      auto results = resolver.resolve(options_.host, std::to_string(options_.port));
      if (results.empty()) return unavailable("cannot resolve " + options_.host);
      tcp::endpoint ep = results.begin()->endpoint();
      acceptor_.open(ep.protocol());
      acceptor_.set_option(net::socket_base::reuse_address(true));
      acceptor_.bind(ep);
      acceptor_.listen(net::socket_base::max_listen_connections);
      port_ = acceptor_.local_endpoint().port();
    } catch (const std::exception& e) {
      return unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                         ": " + e.what());
    }
    do_accept();
    for (int i = 0; i < num_threads(); ++i) {
      threads_.emplace_back([this] {
        set_current_thread_name("yun-http");
        // Short bursts that decide TTFT and inter-token latency: run them
        // soon after a wake-up rather than after a compute thread's slice.
        request_short_time_slice(100);
        for (;;) {
          try {
            ioc_.run();
            return;
          } catch (const std::exception& e) {
            YUN_LOG(kError, std::string("http: handler threw: ") + e.what());
          }
        }
      });
    }
    return Status::ok();
  }

  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (!ec) {
        beast::error_code ignored;
        s.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(s), this)->start();
      }
      if (acceptor_.is_open() && ec != net::error::operation_aborted) do_accept();
    });
  }

  int port() const override { return port_; }
  void stop_accepting() override {
    draining_ = true;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
  }
  int64_t active_requests() const override { return active_.load(); }
  void stop() override {
    if (stopped_.exchange(true)) return;
    guard_.reset();
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  net::io_context ioc_;
  // On its own strand: with several I/O threads, the accept handler (which
  // re-arms the accept) and stop_accepting's close must not run at once
  // (ThreadSanitizer caught them racing on the socket state).
  tcp::acceptor acceptor_;
  net::executor_work_guard<net::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> active_{0};
};

Session::Session(tcp::socket socket, ServerImpl* server)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(server) {}

void Session::start() {
  net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void Session::arm_timer(double seconds) {
  timer_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec && !self->handling_) self->close();
  });
}

std::string Session::connection_header() const {
  return keep_alive_ && !server_->draining_ ? "Connection: keep-alive\r\n"
                                            : "Connection: close\r\n";
}

void Session::do_read() {
  if (closed_) return;
  if (server_->draining_) {
    close();
    return;
  }
  parser_.emplace();
  parser_->body_limit(server_->options_.body_limit);
  parser_->header_limit(64 * 1024);
  arm_timer(first_request_ || buffer_.size() > 0 ? server_->options_.header_timeout_s
                                                 : server_->options_.idle_timeout_s);
  http::async_read_header(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
}

void Session::send_error_and_close(const ApiError& e) {
  keep_alive_ = false;
  std::string body = e.to_json();
  enqueue(status_line(e.http_status) + "Content-Type: application/json\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}

void Session::on_header(beast::error_code ec) {
  if (closed_) return;
  if (ec) {
    timer_.cancel();
    if (ec == http::error::body_limit) {
      send_error_and_close(too_large("request body is larger than " +
                                     std::to_string(server_->options_.body_limit) + " bytes"));
    } else if (ec == http::error::header_limit) {
      send_error_and_close(
          ApiError{431, "request headers are too large", "invalid_request_error", "", ""});
    } else if (ec == http::error::end_of_stream || ec == net::error::eof ||
               ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      close();
    } else {
      send_error_and_close(bad_request("malformed HTTP request: " + ec.message()));
    }
    return;
  }
  first_request_ = false;
  arm_timer(server_->options_.header_timeout_s);
  auto& req = parser_->get();
  auto expect = req[http::field::expect];
  if (beast::iequals(expect, "100-continue")) enqueue("HTTP/1.1 100 Continue\r\n\r\n");
  if (parser_->is_done()) {
    on_body({});
    return;
  }
  http::async_read(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
}

void Session::on_body(beast::error_code ec) {
  if (closed_) return;
  timer_.cancel();
  if (ec == http::error::body_limit) {
    send_error_and_close(too_large("request body is larger than " +
                                   std::to_string(server_->options_.body_limit) + " bytes"));
    return;
  }
  if (ec) {
    close();
    return;
  }
  dispatch_request();
}

void Session::dispatch_request() {
  auto msg = parser_->release();
  HttpRequest req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.path = req.target.substr(0, req.target.find('?'));
  for (const auto& f : msg) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    req.headers[name] = std::string(f.value());
  }
  req.body = std::move(msg.body());
  keep_alive_ = msg.keep_alive();
  ++seq_;
  handling_ = true;
  streaming_ = false;
  ++server_->active_;
  writer_ = std::make_shared<WriterImpl>(shared_from_this(), seq_);
  watch();
  try {
    server_->handler_(std::move(req), writer_);
  } catch (const std::exception& e) {
    w_send(seq_, HttpResponse{500,
                              "application/json",
                              server_error(std::string("internal error: ") + e.what()).to_json(),
                              {}});
  }
}

// Reads while the handler works, to notice a client that goes away.
void Session::watch() {
  if (watching_ || closed_) return;
  watching_ = true;
  socket_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            self->watching_ = false;
                            if (ec) {
                              self->close();
                              return;
                            }
                            self->buffer_.commit(n);
                            if (self->handling_) {
                              if (self->buffer_.size() < 64 * 1024) self->watch();
                            } else if (!self->writing_) {
                              if (self->keep_alive_) {
                                self->do_read();
                              } else {
                                self->close();
                              }
                            }
                          });
}

void Session::enqueue(std::string data) {
  if (closed_) return;
  out_.push_back(std::move(data));
  if (!writing_) do_write();
}

void Session::do_write() {
  writing_ = true;
  // Everything queued goes out in one gathered write (one syscall): a
  // stream's chunks that piled up while the last write was in flight.
  std::vector<net::const_buffer> bufs;
  bufs.reserve(out_.size());
  for (const auto& o : out_) bufs.push_back(net::buffer(o));
  net::async_write(socket_, bufs,
                   [self = shared_from_this(), n = bufs.size()](beast::error_code ec, size_t) {
                     if (ec || self->closed_) {
                       // close() leaves out_ alone while this write is in
                       // flight (it reads the first n entries); drop it now.
                       self->writing_ = false;
                       self->out_.clear();
                       self->close();
                       return;
                     }
                     self->out_.erase(self->out_.begin(), self->out_.begin() + n);
                     if (!self->out_.empty()) {
                       self->do_write();
                       return;
                     }
                     self->writing_ = false;
                     if (self->handling_ || self->closed_) return;
                     if (!self->keep_alive_ || self->server_->draining_) {
                       self->close();
                     } else if (!self->watching_) {
                       self->do_read();
                     }
                   });
}

void Session::complete_response() {
  if (!handling_) return;
  handling_ = false;
  close_cb_ = nullptr;
  if (writer_) writer_.reset();
  --server_->active_;
  if (server_->draining_) keep_alive_ = false;
  if (!writing_ && out_.empty()) {
    if (!keep_alive_) {
      close();
    } else if (!watching_) {
      do_read();
    }
  }
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  beast::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  if (writer_) writer_->closed_ = true;
  if (handling_) {
    handling_ = false;
    --server_->active_;
    auto cb = std::move(close_cb_);
    close_cb_ = nullptr;
    writer_.reset();
    if (cb) cb();
  }
  // An async_write in flight still reads the front of out_; its handler clears
  // the queue once it runs.
  if (!writing_) out_.clear();
}

void Session::w_send(uint64_t seq, HttpResponse r) {
  if (seq != seq_ || !handling_ || streaming_ || closed_) return;
  if (server_->draining_) keep_alive_ = false;
  std::string head = status_line(r.status) + "Content-Type: " + r.content_type +
                     "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n" +
                     connection_header();
  for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
  head += "\r\n";
  enqueue(std::move(head) + r.body);
  complete_response();
}

void Session::w_start(uint64_t seq, int status, std::string ct,
                      std::vector<std::pair<std::string, std::string>> headers) {
  if (seq != seq_ || !handling_ || streaming_ || closed_) return;
  streaming_ = true;
  std::string head = status_line(status) + "Content-Type: " + ct +
                     "\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n" +
                     connection_header();
  for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
  head += "\r\n";
  enqueue(std::move(head));
}

void Session::w_write(uint64_t seq, std::string data) {
  if (seq != seq_ || !handling_ || !streaming_ || closed_ || data.empty()) return;
  enqueue(to_hex(data.size()) + "\r\n" + data + "\r\n");
}

void Session::w_finish(uint64_t seq) {
  if (seq != seq_ || !handling_ || !streaming_ || closed_) return;
  enqueue("0\r\n\r\n");
  complete_response();
}

void Session::w_on_close(uint64_t seq, std::function<void()> fn) {
  if (seq != seq_) return;
  if (closed_) {
    fn();
    return;
  }
  if (handling_) close_cb_ = std::move(fn);
}

void WriterImpl::send(HttpResponse r) {
  net::post(
      session_->socket_.get_executor(),
      [s = session_, seq = seq_, r = std::move(r)]() mutable { s->w_send(seq, std::move(r)); });
}

void WriterImpl::start_stream(int status, const std::string& ct,
                              std::vector<std::pair<std::string, std::string>> headers) {
  net::post(session_->socket_.get_executor(),
            [s = session_, seq = seq_, status, ct, h = std::move(headers)]() mutable {
              s->w_start(seq, status, ct, std::move(h));
            });
}

void WriterImpl::write(std::string data) {
  net::post(
      session_->socket_.get_executor(),
      [s = session_, seq = seq_, d = std::move(data)]() mutable { s->w_write(seq, std::move(d)); });
}

void WriterImpl::finish() {
  net::post(session_->socket_.get_executor(), [s = session_, seq = seq_] { s->w_finish(seq); });
}

void WriterImpl::post(std::function<void()> fn) {
  net::post(session_->socket_.get_executor(), std::move(fn));
}

void WriterImpl::on_close(std::function<void()> fn) {
  net::post(session_->socket_.get_executor(),
            [s = session_, seq = seq_, fn = std::move(fn)]() mutable {
              s->w_on_close(seq, std::move(fn));
            });
}

}  // namespace

int default_http_threads() {
  int hw = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(hw / 8, 1, 4);
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options,
                                                      HttpHandler handler) {
  auto server = std::make_unique<ServerImpl>(options, std::move(handler));
  YUN_RETURN_IF_ERROR(server->listen());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace yun::serve
