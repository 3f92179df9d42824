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

// One connection. Everything below runs on the connection's strand.
//
// Reading: one read loop feeds `buffer_`; the parser takes one request at a
// time from it, so pipelined requests wait in the buffer until the response
// before them is complete, and responses leave in request order (RFC 9112
// §9.3.2). While a request is with the handler the loop keeps reading (up to
// kMaxPipelined buffered bytes) to notice a client that goes away.
//
// Framing rules, checked once a request's header is parsed, before its body
// (each failure: 400 and close, as nginx and HAProxy do):
//   - Transfer-Encoding other than exactly "chunked" (RFC 9112 §6.1: an
//     unknown coding cannot be framed, the body would be read as a request);
//   - Transfer-Encoding together with Content-Length (§6.3: a smuggling vector);
//   - more than one Content-Length field, or one that is not a number.
// "Expect: 100-continue" gets its interim response once the header passed
// these checks and the body limit; HTTP/1.0 clients never get one.
//
// HTTP/1.0: keep-alive only when the request asks for it; a streamed response
// has no chunked encoding and ends when the connection closes.
//
// Timeouts: header_timeout_s from a request's first byte (a new connection:
// from the accept) to its last byte; idle_timeout_s while a kept-alive
// connection has no request. A connection that is closed by the server (an
// error, Connection: close, draining) half-closes, then reads and discards
// for up to kLingerSeconds / kLingerBytes before closing, so the client reads
// the response instead of a reset ("lingering close", as nginx).
class Session : public std::enable_shared_from_this<Session> {
 public:
  static constexpr size_t kReadChunk = 16 * 1024;
  static constexpr size_t kMaxPipelined = 64 * 1024;
  static constexpr double kLingerSeconds = 2.0;
  static constexpr size_t kLingerBytes = 4 << 20;

  Session(tcp::socket socket, ServerImpl* server);
  void start();

  void begin_request();
  void parse_buffer();
  bool check_header();
  void on_parse_error(beast::error_code ec);
  void start_read();
  void on_read(beast::error_code ec, size_t n);
  void dispatch_request();
  void enqueue(std::string data);
  void do_write();
  void complete_response();
  void end_connection();  // close once the queued writes are out (lingering)
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

  enum class Phase { kIdle, kReading, kHandling, kEnding, kLingering };

  tcp::socket socket_;
  net::steady_timer timer_;
  uint64_t timer_gen_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  ServerImpl* server_;
  Phase phase_ = Phase::kIdle;
  bool first_request_ = true;
  bool header_checked_ = false;
  bool reading_ = false;
  bool streaming_ = false;   // a streamed response has started
  bool raw_stream_ = false;  // HTTP/1.0: the stream is sent as is, until close
  bool closed_ = false;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool writing_ = false;
  size_t lingered_ = 0;
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
        accept_timer_(acceptor_.get_executor()),
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

  // An accept that fails (EMFILE/ENFILE at the descriptor limit, ENOBUFS)
  // leaves the pending connection in the backlog, so retrying at once would
  // spin a core: back off 10 ms, doubling to 1 s, until an accept succeeds.
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (!acceptor_.is_open() || ec == net::error::operation_aborted) return;
      if (ec) {
        accept_backoff_ms_ = std::clamp(accept_backoff_ms_ * 2, 10, 1000);
        if (!accept_warned_) {
          accept_warned_ = true;
          YUN_LOG(kWarn, "http: accept failed (" + ec.message() + "); backing off");
        }
        accept_timer_.expires_after(std::chrono::milliseconds(accept_backoff_ms_));
        accept_timer_.async_wait([this](beast::error_code tec) {
          if (!tec && acceptor_.is_open()) do_accept();
        });
        return;
      }
      accept_backoff_ms_ = 5;
      accept_warned_ = false;
      beast::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(s), this)->start();
      do_accept();
    });
  }

  int port() const override { return port_; }
  void stop_accepting() override {
    draining_ = true;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      accept_timer_.cancel();
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
  net::steady_timer accept_timer_;  // on the acceptor's strand
  int accept_backoff_ms_ = 5;
  bool accept_warned_ = false;
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
  net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->begin_request(); });
}

void Session::arm_timer(double seconds) {
  const uint64_t gen = ++timer_gen_;
  timer_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  timer_.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
    if (ec || gen != self->timer_gen_ || self->closed_) return;
    if (self->phase_ != Phase::kHandling) self->close();
  });
}

std::string Session::connection_header() const {
  return keep_alive_ && !server_->draining_ ? "Connection: keep-alive\r\n"
                                            : "Connection: close\r\n";
}

// Waits for the next request on this connection (bytes may already be in
// the buffer: a pipelined request).
void Session::begin_request() {
  if (closed_) return;
  if (server_->draining_) {
    end_connection();
    return;
  }
  phase_ = Phase::kIdle;
  header_checked_ = false;
  streaming_ = raw_stream_ = false;
  parser_.emplace();
  parser_->body_limit(server_->options_.body_limit);
  parser_->header_limit(64 * 1024);
  const auto& o = server_->options_;
  arm_timer(first_request_ ? std::min(o.header_timeout_s, o.idle_timeout_s) : o.idle_timeout_s);
  first_request_ = false;
  parse_buffer();
}

void Session::parse_buffer() {
  while (!closed_ && (phase_ == Phase::kIdle || phase_ == Phase::kReading)) {
    if (buffer_.size() == 0) {
      start_read();
      return;
    }
    if (phase_ == Phase::kIdle) {
      phase_ = Phase::kReading;
      arm_timer(server_->options_.header_timeout_s);
    }
    beast::error_code ec;
    size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) {
      start_read();
      return;
    }
    if (ec) {
      on_parse_error(ec);
      return;
    }
    if (parser_->is_header_done() && !header_checked_) {
      header_checked_ = true;
      if (!check_header()) return;
    }
    if (parser_->is_done()) {
      dispatch_request();
      return;
    }
  }
}

namespace {

std::string lower_trim(std::string_view v) {
  size_t a = v.find_first_not_of(" \t"), b = v.find_last_not_of(" \t");
  std::string s = a == std::string_view::npos ? "" : std::string(v.substr(a, b - a + 1));
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bool Session::check_header() {
  const auto& req = parser_->get();
  int te_fields = 0, cl_fields = 0;
  std::string te;
  for (const auto& f : req) {
    if (f.name() == http::field::transfer_encoding) {
      ++te_fields;
      te = lower_trim(std::string_view(f.value().data(), f.value().size()));
    } else if (f.name() == http::field::content_length) {
      ++cl_fields;
      std::string_view v(f.value().data(), f.value().size());
      if (v.empty() || v.find_first_not_of("0123456789") != std::string_view::npos) cl_fields = 99;
    }
  }
  if (te_fields > 0 && (te_fields > 1 || te != "chunked" || req.version() < 11)) {
    send_error_and_close(
        ApiError{400, "unsupported Transfer-Encoding (only a single 'chunked' is accepted)",
                 "invalid_request_error", "", ""});
    return false;
  }
  if (te_fields > 0 && cl_fields > 0) {
    send_error_and_close(bad_request("Content-Length together with Transfer-Encoding"));
    return false;
  }
  if (cl_fields > 1) {
    send_error_and_close(bad_request("duplicate or malformed Content-Length"));
    return false;
  }
  if (!parser_->is_done() && req.version() >= 11 &&
      beast::iequals(req[http::field::expect], "100-continue")) {
    enqueue("HTTP/1.1 100 Continue\r\n\r\n");
  }
  return true;
}

void Session::on_parse_error(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    send_error_and_close(too_large("request body is larger than " +
                                   std::to_string(server_->options_.body_limit) + " bytes"));
  } else if (ec == http::error::header_limit) {
    send_error_and_close(
        ApiError{431, "request headers are too large", "invalid_request_error", "", ""});
  } else {
    send_error_and_close(bad_request("malformed HTTP request: " + ec.message()));
  }
}

void Session::start_read() {
  if (reading_ || closed_) return;
  if (phase_ == Phase::kHandling && buffer_.size() >= kMaxPipelined) return;  // backpressure
  if (phase_ == Phase::kEnding) return;
  reading_ = true;
  socket_.async_read_some(buffer_.prepare(kReadChunk),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            self->on_read(ec, n);
                          });
}

void Session::on_read(beast::error_code ec, size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    // Our response is still being written: let end_connection finish it.
    if (phase_ == Phase::kEnding && ec == net::error::eof) return;
    // The client closed or reset: a request being handled is abandoned.
    close();
    return;
  }
  buffer_.commit(n);
  switch (phase_) {
    case Phase::kIdle:
    case Phase::kReading:
      parse_buffer();
      break;
    case Phase::kHandling:
      start_read();
      break;
    case Phase::kEnding:
      break;
    case Phase::kLingering:
      lingered_ += buffer_.size();
      buffer_.consume(buffer_.size());
      if (lingered_ > kLingerBytes) {
        close();
      } else {
        start_read();
      }
      break;
  }
}

void Session::send_error_and_close(const ApiError& e) {
  keep_alive_ = false;
  std::string body = e.to_json();
  enqueue(status_line(e.http_status) + "Content-Type: application/json\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  parser_.reset();
  end_connection();
}

void Session::dispatch_request() {
  timer_gen_++;
  timer_.cancel();
  auto msg = parser_->release();
  parser_.reset();
  HttpRequest req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.path = req.target.substr(0, req.target.find('?'));
  for (const auto& f : msg) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    auto [it, fresh] = req.headers.emplace(name, std::string(f.value()));
    if (!fresh) it->second += ", " + std::string(f.value());  // RFC 9110 §5.3
  }
  req.body = std::move(msg.body());
  keep_alive_ = msg.keep_alive();
  http10_ = msg.version() < 11;
  ++seq_;
  phase_ = Phase::kHandling;
  streaming_ = false;
  ++server_->active_;
  writer_ = std::make_shared<WriterImpl>(shared_from_this(), seq_);
  start_read();  // notice a client that goes away
  try {
    server_->handler_(std::move(req), writer_);
  } catch (const std::exception& e) {
    w_send(seq_, HttpResponse{500,
                              "application/json",
                              server_error(std::string("internal error: ") + e.what()).to_json(),
                              {}});
  }
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
                     if (self->phase_ == Phase::kEnding) self->end_connection();
                   });
}

void Session::complete_response() {
  if (phase_ != Phase::kHandling) return;
  close_cb_ = nullptr;
  if (writer_) writer_.reset();
  --server_->active_;
  phase_ = Phase::kEnding;
  if (!keep_alive_ || server_->draining_ || raw_stream_) {
    end_connection();
  } else {
    begin_request();  // a pipelined request may already be waiting
  }
}

void Session::end_connection() {
  if (closed_) return;
  if (phase_ != Phase::kLingering) phase_ = Phase::kEnding;
  if (writing_ || !out_.empty()) return;  // do_write calls back when done
  // Everything is written: half-close, then discard what the client still
  // sends for a bounded time, so it reads our response before any reset.
  phase_ = Phase::kLingering;
  beast::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    close();
    return;
  }
  buffer_.consume(buffer_.size());
  arm_timer(kLingerSeconds);
  start_read();
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  timer_gen_++;
  timer_.cancel();
  beast::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  if (writer_) writer_->closed_ = true;
  if (phase_ == Phase::kHandling) {
    --server_->active_;
    auto cb = std::move(close_cb_);
    close_cb_ = nullptr;
    writer_.reset();
    phase_ = Phase::kEnding;
    if (cb) cb();
  }
  // An async_write in flight still reads the front of out_; its handler clears
  // the queue once it runs.
  if (!writing_) out_.clear();
}

void Session::w_send(uint64_t seq, HttpResponse r) {
  if (seq != seq_ || phase_ != Phase::kHandling || streaming_ || closed_) return;
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
  if (seq != seq_ || phase_ != Phase::kHandling || streaming_ || closed_) return;
  streaming_ = true;
  std::string head = status_line(status) + "Content-Type: " + ct + "\r\nCache-Control: no-cache\r\n";
  if (http10_) {
    // No chunked coding in HTTP/1.0 (RFC 9112 §6.1): the body ends at close.
    raw_stream_ = true;
    keep_alive_ = false;
    head += "Connection: close\r\n";
  } else {
    head += "Transfer-Encoding: chunked\r\n" + connection_header();
  }
  for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
  head += "\r\n";
  enqueue(std::move(head));
}

void Session::w_write(uint64_t seq, std::string data) {
  if (seq != seq_ || phase_ != Phase::kHandling || !streaming_ || closed_ || data.empty()) return;
  if (raw_stream_) {
    enqueue(std::move(data));
  } else {
    enqueue(to_hex(data.size()) + "\r\n" + data + "\r\n");
  }
}

void Session::w_finish(uint64_t seq) {
  if (seq != seq_ || phase_ != Phase::kHandling || !streaming_ || closed_) return;
  if (!raw_stream_) enqueue("0\r\n\r\n");
  complete_response();
}

void Session::w_on_close(uint64_t seq, std::function<void()> fn) {
  if (seq != seq_) return;
  if (closed_) {
    fn();
    return;
  }
  if (phase_ == Phase::kHandling) close_cb_ = std::move(fn);
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
