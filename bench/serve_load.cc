// yun_bench_serve_load --url http://127.0.0.1:8000 [--model NAME] [--requests 200]
//   [--concurrency 32] [--max-tokens 128] [--prompt TEXT] [--api-key KEY]
//   [--temperature T] [--sampling JSON] [--json]
//
// Load generator for `yun serve` (or any OpenAI-compatible server), the C++
// twin of bench/serve_load.mjs: same flags, same request bodies, same report.
// C keep-alive connections send N streaming chat completions in all, back to
// back, and the run reports throughput and TTFT / inter-token latency
// percentiles. It exists because the client shares the machine with the server
// (bench/serve_overhead.sh): node costs ~9% of 2 cores, this costs far less.
//
// One thread runs one io_context; each connection is a C++20 coroutine
// (Boost.Asio awaitable), so there is no thread per connection and no lock.
// The SSE body (chunked transfer encoding) goes through Beast's chunk-body
// callback as its bytes are parsed, so every token is timed when its bytes
// arrive. TTFT counts from just before a request is written (after connecting).
// --sampling merges more request fields, e.g. '{"repetition_penalty":1}'.
// Exit status: 0 done (failed requests are counted, not fatal), 1 connection or
// protocol error, 2 bad flags.
// clang-format off
#include <utility>  // first: Boost 1.74's asio/awaitable.hpp uses std::exchange unincluded
// clang-format on
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;                  // parsed SSE events
using ordered_json = nlohmann::ordered_json;  // request bodies and the report, in JS key order

struct Options {
  std::string host = "127.0.0.1", port = "8000";
  std::string model, prompt = "Write a short story about a robot learning to paint.";
  std::string api_key;
  std::optional<double> temperature;
  ordered_json sampling = ordered_json::object();
  int requests = 200, concurrency = 32, max_tokens = 128;
  bool json_output = false;
};

[[noreturn]] void die(int code, const std::string& msg) {
  std::fprintf(stderr, "serve_load: %s\n", msg.c_str());
  std::exit(code);
}

int parse_count(const std::string& flag, const std::string& v) {
  int x = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || end != v.data() + v.size() || x < 0) die(2, flag + ": bad number " + v);
  return x;
}

// Flags as node's parseArgs takes them: `--name value` or `--name=value`.
Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1), arg = arg.substr(0, eq), has_value = true;
    }
    if (arg == "--json" && !has_value) {
      o.json_output = true;
      continue;
    }
    static const std::vector<std::string> kValueFlags = {
        "--url",    "--model",   "--requests",    "--concurrency", "--max-tokens",
        "--prompt", "--api-key", "--temperature", "--sampling"};
    if (std::find(kValueFlags.begin(), kValueFlags.end(), arg) == kValueFlags.end()) {
      die(2, "unknown option " + arg);
    }
    if (!has_value) {
      if (i + 1 >= argc) die(2, arg + ": missing value");
      value = argv[++i];
    }
    if (arg == "--url") {
      // http://HOST[:PORT][/...]: only the host and port are used.
      if (!value.starts_with("http://")) die(2, "--url: only http://HOST:PORT is supported");
      std::string rest = value.substr(7);
      rest = rest.substr(0, rest.find('/'));
      auto colon = rest.rfind(':');
      o.host = rest.substr(0, colon);
      o.port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
      if (o.host.empty() || o.port.empty()) die(2, "--url: bad URL " + value);
    } else if (arg == "--model") {
      o.model = value;
    } else if (arg == "--requests") {
      o.requests = parse_count(arg, value);
    } else if (arg == "--concurrency") {
      o.concurrency = parse_count(arg, value);
    } else if (arg == "--max-tokens") {
      o.max_tokens = parse_count(arg, value);
    } else if (arg == "--prompt") {
      o.prompt = value;
    } else if (arg == "--api-key") {
      o.api_key = value;
    } else if (arg == "--temperature") {
      char* end = nullptr;
      o.temperature = std::strtod(value.c_str(), &end);
      if (value.empty() || *end) die(2, "--temperature: bad number " + value);
    } else {  // --sampling
      o.sampling = ordered_json::parse(value, nullptr, /*allow_exceptions=*/false);
      if (!o.sampling.is_object()) die(2, "--sampling: not a JSON object: " + value);
    }
  }
  return o;
}

// One request's measurements (times in ms).
struct Result {
  bool ok = false;
  double ttft = 0, e2e = 0;
  std::vector<double> gaps;  // between consecutive content events
  int64_t tokens = 0, prompt = 0;
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Splits an SSE body into events ("\n\n"-terminated), as bytes arrive, and
// records content-event times and the final usage in a Result.
class SseReader {
 public:
  SseReader(Result& r, Clock::time_point t0) : r_(r), t0_(t0) {}

  // Feeds body bytes that arrived at `now`.
  void feed(std::string_view data, Clock::time_point now) {
    pending_.append(data);
    size_t start = 0, end;
    while ((end = pending_.find("\n\n", start)) != std::string::npos) {
      on_event(std::string_view(pending_).substr(start, end - start), now);
      start = end + 2;
    }
    pending_.erase(0, start);
  }

 private:
  void on_event(std::string_view ev_text, Clock::time_point now) {
    if (!ev_text.starts_with("data: ") || ev_text == "data: [DONE]") return;
    json ev = json::parse(ev_text.substr(6));  // throws on a malformed event: fatal
    if (auto u = ev.find("usage"); u != ev.end() && u->is_object()) {
      r_.tokens = u->value("completion_tokens", int64_t{0});
      r_.prompt = u->value("prompt_tokens", int64_t{0});
    }
    auto ch = ev.find("choices");
    if (ch == ev.end() || !ch->is_array() || ch->empty() || !(*ch)[0].is_object()) return;
    auto delta = (*ch)[0].find("delta");
    if (delta == (*ch)[0].end() || !delta->is_object()) return;
    auto content = delta->find("content");
    if (content == delta->end() || !content->is_string() ||
        content->get_ref<const std::string&>().empty())
      return;
    if (!first_) {
      first_ = true;
      r_.ttft = ms(now - t0_);
    } else {
      r_.gaps.push_back(ms(now - last_));
    }
    last_ = now;
  }

  Result& r_;
  Clock::time_point t0_, last_;
  bool first_ = false;
  std::string pending_;  // bytes of an unfinished event
};

// State shared by all connections (one thread: no lock).
struct Load {
  Options opt;
  tcp::endpoint endpoint;
  ordered_json body;  // request body; messages[0].content is set per request
  int next = 0;       // index of the next request to send
  std::vector<Result> results;
};

template <class Body>
void set_common_headers(http::request<Body>& req, const Options& o) {
  req.set(http::field::host, o.host + ":" + o.port);
  if (!o.api_key.empty()) req.set(http::field::authorization, "Bearer " + o.api_key);
}

// --model, or GET /v1/models and take data[0].id (blocking; before the run).
std::string find_model(const Load& load) {
  if (!load.opt.model.empty()) return load.opt.model;
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(load.endpoint);
  http::request<http::empty_body> req{http::verb::get, "/v1/models", 11};
  set_common_headers(req, load.opt);
  http::write(sock, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  return json::parse(res.body()).at("data").at(0).at("id").get<std::string>();
}

// One keep-alive connection: sends requests back to back until N are sent.
net::awaitable<void> connection(Load& load) {
  const Options& o = load.opt;
  tcp::socket sock(co_await net::this_coro::executor);
  beast::flat_buffer buf;
  while (load.next < o.requests) {
    const int i = load.next++;  // claimed before any co_await, so no two connections share it
    if (!sock.is_open()) {
      co_await sock.async_connect(load.endpoint, net::use_awaitable);
      sock.set_option(tcp::no_delay(true));
      buf.clear();
    }
    load.body["messages"][0]["content"] = o.prompt + " (#" + std::to_string(i) + ")";
    http::request<http::string_body> req{http::verb::post, "/v1/chat/completions", 11};
    set_common_headers(req, o);
    req.set(http::field::content_type, "application/json");
    req.body() = load.body.dump();
    req.prepare_payload();

    Result r;
    const Clock::time_point t0 = Clock::now();
    SseReader sse(r, t0);
    bool status_ok = false;
    // Chunked bodies (SSE) arrive here piece by piece; a non-200 body is dropped.
    auto on_chunk = [&](uint64_t, beast::string_view data, beast::error_code&) {
      if (status_ok) sse.feed(std::string_view(data.data(), data.size()), Clock::now());
      return data.size();
    };
    http::response_parser<http::string_body> parser;  // the string gets only unchunked bodies
    // No limit (boost::none would reject any Content-Length body in Boost 1.74).
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    parser.on_chunk_body(on_chunk);
    co_await http::async_write(sock, req, net::use_awaitable);
    co_await http::async_read_header(sock, buf, parser, net::use_awaitable);
    status_ok = parser.get().result_int() == 200;
    parser.eager(true);  // parse everything each read brings, not one chunk per call
    while (!parser.is_done()) co_await http::async_read_some(sock, buf, parser, net::use_awaitable);
    const Clock::time_point end = Clock::now();
    if (status_ok) {
      sse.feed(parser.get().body(), end);  // a 200 sent without chunking
      r.ok = true;
      if (r.ttft == 0) r.ttft = ms(end - t0);  // no content event: as node does
      r.e2e = ms(end - t0);
    }
    load.results.push_back(std::move(r));
    if (!parser.get().keep_alive()) sock.close();
  }
}

// The value at percentile p: sorted, index min(n-1, floor(p/100*n)); NaN if empty.
double pct(std::vector<double> xs, double p) {
  if (xs.empty()) return NAN;
  std::sort(xs.begin(), xs.end());
  return xs[std::min(xs.size() - 1, static_cast<size_t>(std::floor(p / 100 * xs.size())))];
}

double round_to(double x, double scale) { return std::round(x * scale) / scale; }

// A number as JS prints it (shortest round trip), for the human-readable report.
std::string js_number(double x) {
  char b[64];
  return std::string(b, std::to_chars(b, b + sizeof b, x).ptr);
}

// toFixed(1), or '-' for NaN.
std::string fixed1(double x) {
  if (!std::isfinite(x)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.1f", x);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  Load load;
  load.opt = parse_args(argc, argv);
  const Options& o = load.opt;
  std::string model;
  try {
    net::io_context resolve_ctx;
    load.endpoint = *tcp::resolver(resolve_ctx).resolve(o.host, o.port).begin();
    model = find_model(load);
  } catch (const std::exception& e) {
    die(1, "GET /v1/models failed: " + std::string(e.what()));
  }

  // Same fields, same order as serve_load.mjs.
  ordered_json& b = load.body;
  b["model"] = model;
  b["messages"] = ordered_json::array({{{"role", "user"}, {"content", ""}}});
  b["max_tokens"] = o.max_tokens;
  b["ignore_eos"] = true;
  b["stream"] = true;
  if (o.temperature) b["temperature"] = *o.temperature;
  b["stream_options"] = {{"include_usage", true}};
  for (auto& [k, v] : o.sampling.items()) b[k] = v;

  net::io_context ioc(1);
  const Clock::time_point t0 = Clock::now();
  for (int c = 0; c < o.concurrency; ++c) {
    net::co_spawn(ioc, connection(load), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        die(1, "request failed: " + std::string(x.what()));
      }
    });
  }
  try {
    ioc.run();
  } catch (const std::exception& e) {  // e.g. a malformed SSE event
    die(1, "request failed: " + std::string(e.what()));
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();

  int ok = 0;
  int64_t tokens = 0;
  std::vector<double> ttft, itl;
  for (const Result& r : load.results) {
    if (!r.ok) continue;
    ++ok;
    tokens += r.tokens;
    ttft.push_back(r.ttft);
    itl.insert(itl.end(), r.gaps.begin(), r.gaps.end());
  }
  ordered_json report;
  report["model"] = model;
  report["requests"] = o.requests;
  report["ok"] = ok;
  report["failed"] = static_cast<int>(load.results.size()) - ok;
  report["concurrency"] = o.concurrency;
  report["seconds"] = round_to(secs, 1000);
  report["output_tokens"] = tokens;
  report["output_tok_per_s"] = round_to(tokens / secs, 10);
  report["req_per_s"] = round_to(ok / secs, 100);
  report["ttft_ms"] = {{"p50", pct(ttft, 50)}, {"p90", pct(ttft, 90)}, {"p99", pct(ttft, 99)}};
  report["itl_ms"] = {{"p50", pct(itl, 50)}, {"p90", pct(itl, 90)}, {"p99", pct(itl, 99)}};
  // CPU time this client used (user + system), to tell its share of a
  // machine it shares with the server.
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
  report["client_cpu_s"] = round_to(sec(ru.ru_utime) + sec(ru.ru_stime), 1000);
  if (o.json_output) {
    std::printf("%s\n", report.dump().c_str());  // NaN percentiles print as null, as in JS
    return 0;
  }
  auto line = [&](const char* name, const char* key) {
    const ordered_json& p = report[key];
    std::printf("%s ms p50 %s p90 %s p99 %s\n", name, fixed1(p["p50"].get<double>()).c_str(),
                fixed1(p["p90"].get<double>()).c_str(), fixed1(p["p99"].get<double>()).c_str());
  };
  std::printf("%d/%d ok in %s s, concurrency %d\n", ok, o.requests,
              js_number(report["seconds"].get<double>()).c_str(), o.concurrency);
  std::printf("output: %lld tokens, %s tok/s, %s req/s\n", static_cast<long long>(tokens),
              js_number(report["output_tok_per_s"].get<double>()).c_str(),
              js_number(report["req_per_s"].get<double>()).c_str());
  line("TTFT", "ttft_ms");
  line("ITL ", "itl_ms");
  return 0;
}
