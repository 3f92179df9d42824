// HTTP/1.1 framing of the real server (RFC 9110/9112) against FakeEngine:
// pipelining, Transfer-Encoding and Content-Length rules (request
// smuggling), HTTP/1.0 clients, Expect: 100-continue, the header and
// keep-alive timeouts, and lingering close. Each case checks the status, the
// error object, whether the connection closed, and that the server still
// answers afterwards.
//   build/tests/yun_serve_tests --gtest_filter='HttpFraming*'
#include <poll.h>

#include <chrono>

#include "server_fixture.h"

namespace yun::serve {
namespace {

using nlohmann::json;
using testing::connect_to;
using testing::http;
using testing::make_request;
using testing::parse_reply;
using testing::ServerTest;

using Clock = std::chrono::steady_clock;

// Reads until the peer closes or `timeout_s` passes. `closed` tells which.
std::string read_all(int fd, double timeout_s, bool* closed) {
  std::string raw;
  char buf[8192];
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int>(timeout_s * 1000));
  *closed = false;
  for (;;) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0) return raw;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) return raw;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      *closed = true;
      return raw;
    }
    raw.append(buf, n);
  }
}

void send_all(int fd, const std::string& s) { ::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

class HttpFramingTest : public ServerTest {
 protected:
  void expect_healthy() { EXPECT_EQ(http(port_, "GET", "/health").status, 200); }
  // Sends `raw`, reads for up to 2 s; returns what came back.
  std::string exchange(const std::string& raw, bool* closed, double wait_s = 2.0) {
    int fd = connect_to(port_);
    EXPECT_GE(fd, 0);
    send_all(fd, raw);
    std::string out = read_all(fd, wait_s, closed);
    ::close(fd);
    return out;
  }
};

TEST_F(HttpFramingTest, PipelinedRequestsAnsweredInOrder) {
  start("abc");
  std::string raw = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n" +
                    make_request("POST", "/v1/completions", R"({"prompt":"x","max_tokens":2})", "",
                                 false) +
                    "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  bool closed = false;
  std::string out = exchange(raw, &closed, 5);
  EXPECT_TRUE(closed);
  EXPECT_EQ(count(out, "HTTP/1.1 200"), 4) << out;
  size_t a = out.find("9.9.9"), b = out.find("\"list\""), c = out.find("text_completion");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST_F(HttpFramingTest, PipelinedStreamsStayInOrder) {
  start("abcdefgh");
  std::string s1 = make_request("POST", "/v1/completions",
                                R"({"prompt":"x","max_tokens":8,"stream":true})", "", false);
  std::string raw = s1 + s1 + "GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  bool closed = false;
  std::string out = exchange(raw, &closed, 5);
  EXPECT_TRUE(closed);
  EXPECT_EQ(count(out, "HTTP/1.1 200"), 3) << out;
  EXPECT_EQ(count(out, "data: [DONE]"), 2);
  EXPECT_GT(out.find("9.9.9"), out.rfind("data: [DONE]"));
}

TEST_F(HttpFramingTest, UnknownTransferEncodingIsRejectedAndCloses) {
  start("abc");
  // The body is itself a request: a server that ignores the coding would
  // answer it as a second request (request smuggling).
  std::string inner = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string raw = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" +
                    inner;
  bool closed = false;
  std::string out = exchange(raw, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(count(out, "HTTP/1.1 "), 1) << out;
  auto r = parse_reply(out);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["type"], "invalid_request_error");
  EXPECT_EQ(out.find("9.9.9"), std::string::npos);
  expect_healthy();
}

TEST_F(HttpFramingTest, ChunkedWithContentLengthIsRejected) {
  start("abc");
  std::string raw =
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /version HTTP/1.1\r\nHost: x\r\n\r\n";
  bool closed = false;
  std::string out = exchange(raw, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(count(out, "HTTP/1.1 "), 1) << out;
  EXPECT_EQ(parse_reply(out).status, 400);
  EXPECT_EQ(out.find("9.9.9"), std::string::npos);
  expect_healthy();
}

TEST_F(HttpFramingTest, DuplicateOrConflictingContentLengthIsRejected) {
  start("abc");
  for (std::string cl : {"Content-Length: 2\r\nContent-Length: 2\r\n",
                         "Content-Length: 2\r\nContent-Length: 30\r\n", "Content-Length: 2, 2\r\n",
                         "Content-Length: -1\r\n", "Content-Length: 0x10\r\n"}) {
    std::string raw = "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + cl + "\r\n{}";
    bool closed = false;
    std::string out = exchange(raw, &closed);
    EXPECT_TRUE(closed) << cl;
    EXPECT_EQ(count(out, "HTTP/1.1 "), 1) << cl << out;
    EXPECT_EQ(parse_reply(out).status, 400) << cl;
  }
  expect_healthy();
}

TEST_F(HttpFramingTest, ChunkedRequestBodyIsAccepted) {
  start("hello");
  std::string body = R"({"prompt":"x","max_tokens":3})";
  std::string raw = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    "Connection: close\r\n\r\n" +
                    std::string("5\r\n") + body.substr(0, 5) + "\r\n" + testing::to_hex(body.size() - 5) +
                    "\r\n" + body.substr(5) + "\r\n0\r\n\r\n";
  bool closed = false;
  auto r = parse_reply(exchange(raw, &closed));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["choices"][0]["text"], "hel");
}

TEST_F(HttpFramingTest, Http10StreamHasNoChunkedEncodingAndEndsAtClose) {
  start("abcd");
  std::string body = R"({"prompt":"x","max_tokens":4,"stream":true})";
  std::string raw = "POST /v1/completions HTTP/1.0\r\nContent-Type: application/json\r\n"
                    "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  bool closed = false;
  std::string out = exchange(raw, &closed, 5);
  EXPECT_TRUE(closed);
  EXPECT_EQ(out.find("Transfer-Encoding"), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
  EXPECT_NE(out.find("\r\n\r\ndata: "), std::string::npos) << "raw SSE, no chunk sizes";
  EXPECT_NE(out.find("data: [DONE]\n\n"), std::string::npos);
}

TEST_F(HttpFramingTest, Http10KeepAliveOnlyWhenAsked) {
  start("abcd");
  bool closed = false;
  std::string out = exchange("GET /version HTTP/1.0\r\n\r\n", &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
  int fd = connect_to(port_);
  send_all(fd, "GET /version HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  out = read_all(fd, 0.5, &closed);
  EXPECT_FALSE(closed);
  EXPECT_NE(out.find("Connection: keep-alive"), std::string::npos) << out;
  send_all(fd, "GET /version HTTP/1.0\r\n\r\n");
  out = read_all(fd, 2, &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(out.find("9.9.9"), std::string::npos);
  ::close(fd);
}

TEST_F(HttpFramingTest, ExpectContinue) {
  start("hey");
  int fd = connect_to(port_);
  std::string body = R"({"prompt":"x","max_tokens":2})";
  send_all(fd, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               "Content-Length: " +
                   std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n");
  bool closed = false;
  std::string out = read_all(fd, 0.5, &closed);
  EXPECT_EQ(out, "HTTP/1.1 100 Continue\r\n\r\n");
  send_all(fd, body);
  out = read_all(fd, 3, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(parse_reply(out).status, 200) << out;
  ::close(fd);
}

TEST_F(HttpFramingTest, ExpectContinueOverTheLimitGets413WithoutContinue) {
  HttpServerOptions h;
  h.body_limit = 1000;
  start("hey", {}, h);
  int fd = connect_to(port_);
  send_all(fd, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               "Content-Length: 50000000\r\n\r\n");
  bool closed = false;
  std::string out = read_all(fd, 3, &closed);
  EXPECT_EQ(out.find("100 Continue"), std::string::npos);
  auto r = parse_reply(out);
  EXPECT_EQ(r.status, 413) << out;
  EXPECT_TRUE(closed);
  ::close(fd);
  expect_healthy();
}

TEST_F(HttpFramingTest, EarlyErrorIsReadableWhileTheClientStillSends) {
  // Lingering close: the client keeps writing a body the server refused; it
  // must still read the 413 instead of a connection reset.
  HttpServerOptions h;
  h.body_limit = 1000;
  start("hey", {}, h);
  int fd = connect_to(port_);
  send_all(fd, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
  std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 16; ++i) send_all(fd, chunk);
  bool closed = false;
  std::string out = read_all(fd, 4, &closed);
  EXPECT_EQ(parse_reply(out).status, 413) << out.substr(0, 200);
  ::close(fd);
}

TEST_F(HttpFramingTest, KeepAliveTimeoutClosesIdleConnections) {
  HttpServerOptions h;
  h.idle_timeout_s = 0.5;
  start("abc", {}, h);
  int fd = connect_to(port_);
  send_all(fd, "GET /version HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  auto t0 = Clock::now();
  std::string out = read_all(fd, 5, &closed);
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_NE(out.find("9.9.9"), std::string::npos);
  EXPECT_TRUE(closed);
  EXPECT_LT(s, 3.0);
  EXPECT_GT(s, 0.3);
  ::close(fd);
  // A connection that never sends a request times out too.
  fd = connect_to(port_);
  out = read_all(fd, 5, &closed);
  EXPECT_TRUE(closed);
  ::close(fd);
}

TEST_F(HttpFramingTest, HeaderTimeoutClosesSlowRequests) {
  HttpServerOptions h;
  h.header_timeout_s = 0.5;
  start("abc", {}, h);
  int fd = connect_to(port_);
  send_all(fd, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{");
  bool closed = false;
  auto t0 = Clock::now();
  read_all(fd, 5, &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 3.0);
  ::close(fd);
  expect_healthy();
}

TEST_F(HttpFramingTest, MalformedRequestLineGets400AndCloses) {
  start("abc");
  for (std::string raw : std::vector<std::string>{"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", std::string("\0\0\0\r\n\r\n", 7),
                          "GET /version HTTP/1.1\r\nBad Header\r\n\r\n"}) {
    bool closed = false;
    std::string out = exchange(raw, &closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(parse_reply(out).status, 400) << out;
  }
  expect_healthy();
}

}  // namespace
}  // namespace yun::serve
