// End-to-end tests of the HTTP layer + OpenAI routes against FakeEngine: real
// sockets on 127.0.0.1, no model needed (tool calls: server_tools_test.cc).
#include <cctype>
#include <mutex>
#include <thread>

#include "server_fixture.h"
#include "yun/serve/request_parse.h"

namespace yun::serve {
namespace {

using nlohmann::json;
using testing::connect_to;
using testing::http;
using testing::make_request;
using testing::parse_reply;
using testing::Reply;
using testing::ServerTest;
using testing::sse_data;

TEST_F(ServerTest, HealthVersionModels) {
  start("Hello");
  EXPECT_EQ(http(port_, "GET", "/health").status, 200);
  auto v = http(port_, "GET", "/version");
  EXPECT_EQ(json::parse(v.body)["version"], "9.9.9");
  auto m = json::parse(http(port_, "GET", "/v1/models").body);
  EXPECT_EQ(m["object"], "list");
  ASSERT_EQ(m["data"].size(), 2u);
  EXPECT_EQ(m["data"][0]["id"], "tiny");
  EXPECT_EQ(m["data"][1]["id"], "alias");
  EXPECT_EQ(http(port_, "GET", "/nope").status, 404);
  EXPECT_EQ(http(port_, "GET", "/v1/chat/completions").status, 405);
}

TEST_F(ServerTest, ChatNonStreaming) {
  start("Hello world");
  auto r = http(port_, "POST", "/v1/chat/completions",
                R"({"model":"alias","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "alias");
  EXPECT_EQ(j["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello world");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  std::string prompt = "user: hi\nassistant:";
  EXPECT_EQ(j["usage"]["prompt_tokens"], prompt.size());
  EXPECT_EQ(j["usage"]["completion_tokens"], 11);
  EXPECT_EQ(j["usage"]["total_tokens"], prompt.size() + 11);
  EXPECT_EQ(j["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
}

TEST_F(ServerTest, ChatStreamingWithUsage) {
  start("abcdef");
  auto r = http(port_, "POST", "/v1/chat/completions",
                R"({"messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":4,
                    "stream_options":{"include_usage":true}})");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.headers.find("text/event-stream"), std::string::npos);
  auto events = sse_data(r.body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  std::string finish;
  json usage;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    auto j = json::parse(events[i]);
    EXPECT_EQ(j["object"], "chat.completion.chunk");
    if (j["choices"].empty()) {
      usage = j["usage"];
      continue;
    }
    auto& d = j["choices"][0]["delta"];
    if (d.contains("content")) text += d["content"].get<std::string>();
    if (!j["choices"][0]["finish_reason"].is_null()) finish = j["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(text, "abcd");
  EXPECT_EQ(finish, "length");
  EXPECT_EQ(usage["completion_tokens"], 4);
}

TEST_F(ServerTest, CompletionsManyPromptsAndN) {
  start("xyz");
  auto r = http(port_, "POST", "/v1/completions",
                R"({"prompt":["a","bb"],"n":2,"max_tokens":2,"logprobs":1,"echo":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["object"], "text_completion");
  ASSERT_EQ(j["choices"].size(), 4u);
  EXPECT_EQ(j["choices"][0]["text"], "axy");
  EXPECT_EQ(j["choices"][3]["text"], "bbxy");
  EXPECT_EQ(j["choices"][3]["index"], 3);
  EXPECT_EQ(j["choices"][0]["logprobs"]["tokens"].size(), 2u);
  EXPECT_EQ(j["choices"][0]["logprobs"]["text_offset"][0], 1);
  EXPECT_EQ(j["usage"]["prompt_tokens"], 3);
  EXPECT_EQ(j["usage"]["completion_tokens"], 8);

  r = http(port_, "POST", "/v1/completions", R"({"prompt":[[97,98],[99]],"max_tokens":1})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["choices"].size(), 2u);
  r = http(port_, "POST", "/v1/completions", R"({"prompt":[1,999],"max_tokens":1})");
  EXPECT_EQ(r.status, 400);
}

TEST_F(ServerTest, ChatLogprobs) {
  start("hey");
  auto r =
      http(port_, "POST", "/v1/chat/completions",
           R"({"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":2})");
  ASSERT_EQ(r.status, 200);
  auto lp = json::parse(r.body)["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(lp.size(), 3u);
  EXPECT_EQ(lp[0]["token"], "h");
  EXPECT_EQ(lp[0]["bytes"][0], 'h');
  EXPECT_EQ(lp[0]["top_logprobs"].size(), 2u);
}

TEST_F(ServerTest, Errors) {
  ServiceOptions o;
  HttpServerOptions h;
  h.body_limit = 1000;
  start("x", o, h);
  auto expect = [&](const Reply& r, int status, const std::string& type) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    EXPECT_EQ(j["error"]["type"], type);
    EXPECT_TRUE(j["error"]["message"].is_string());
  };
  expect(http(port_, "POST", "/v1/chat/completions", "{bad"), 400, "invalid_request_error");
  expect(http(port_, "POST", "/v1/chat/completions",
              R"({"model":"gpt-9","messages":[{"role":"user","content":"x"}]})"),
         404, "invalid_request_error");
  expect(http(port_, "POST", "/v1/completions", R"({"prompt":"x","max_tokens":"many"})"), 400,
         "invalid_request_error");
  expect(http(port_, "POST", "/v1/completions", std::string(2000, ' ')), 413,
         "invalid_request_error");
  engine_->max_len_ = 10;
  expect(http(port_, "POST", "/v1/completions", R"({"prompt":"0123456789abc"})"), 400,
         "invalid_request_error");
  expect(http(port_, "POST", "/v1/completions", R"({"prompt":"01","max_tokens":9})"), 400,
         "invalid_request_error");
}

TEST_F(ServerTest, ApiKeys) {
  ServiceOptions o;
  o.api_keys = {"k1", "k2"};
  start("ok", o);
  std::string body = R"({"prompt":"x","max_tokens":1})";
  EXPECT_EQ(http(port_, "POST", "/v1/completions", body).status, 401);
  EXPECT_EQ(http(port_, "POST", "/v1/completions", body, "Authorization: Bearer nope\r\n").status,
            401);
  EXPECT_EQ(http(port_, "POST", "/v1/completions", body, "Authorization: Bearer k2\r\n").status,
            200);
  EXPECT_EQ(http(port_, "GET", "/v1/models").status, 401);
  EXPECT_EQ(http(port_, "GET", "/health").status, 200);
  EXPECT_EQ(http(port_, "GET", "/metrics").status, 200);
}

TEST_F(ServerTest, Overload429) {
  ServiceOptions o;
  o.max_waiting = 1;
  start("ok", o);
  engine_->paused = true;  // the first request waits for its first token
  int fd = connect_to(port_);
  std::string first =
      make_request("POST", "/v1/completions", R"({"prompt":"x","max_tokens":1})", "", true);
  ::send(fd, first.data(), first.size(), MSG_NOSIGNAL);
  for (int i = 0; i < 200 && engine_->submitted == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto r = http(port_, "POST", "/v1/completions", R"({"prompt":"x"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_NE(r.headers.find("Retry-After"), std::string::npos);
  EXPECT_EQ(json::parse(r.body)["error"]["type"], "server_overloaded");
  engine_->paused = false;
  char buf[4096];
  std::string raw;
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, n);
  ::close(fd);
  EXPECT_EQ(parse_reply(raw).status, 200);
  // The slot is back once the first request produced its token.
  EXPECT_EQ(http(port_, "POST", "/v1/completions", R"({"prompt":"x","max_tokens":1})").status, 200);
}

// --max-waiting is counted at admission: a burst arriving while nothing
// progresses gets exactly `max_waiting` admissions and 429 for the rest.
TEST_F(ServerTest, MaxWaitingHoldsUnderABurst) {
  ServiceOptions o;
  o.max_waiting = 5;
  start("ok", o);
  engine_->paused = true;
  constexpr int kBurst = 40;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0}, over{0}, other{0};
  for (int i = 0; i < kBurst; ++i) {
    clients.emplace_back([&] {
      auto r = http(port_, "POST", "/v1/completions",
                    R"({"prompt":"x","max_tokens":2,"stream":true})");
      (r.status == 200 ? ok : r.status == 429 ? over : other)++;
    });
  }
  for (int i = 0; i < 400 && over < kBurst - 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(engine_->submitted, 5);
  EXPECT_EQ(service_->num_waiting_admitted(), 5);
  engine_->paused = false;
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(over, kBurst - 5);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(service_->num_waiting_admitted(), 0);
}

// Bounded cost per request: prompts, prompts x n and total tokens.
TEST_F(ServerTest, PerRequestCaps) {
  ServiceOptions o;
  o.max_request_tokens = 1000;
  start("ok", o);
  std::string many = "[";
  for (int i = 0; i <= kMaxPrompts; ++i) many += std::string(i ? "," : "") + "\"p\"";
  many += "]";
  auto r = http(port_, "POST", "/v1/completions", R"({"max_tokens":1,"prompt":)" + many + "}");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("prompts per request"), std::string::npos) << r.body;
  r = http(port_, "POST", "/v1/completions",
           R"({"max_tokens":1,"n":128,"prompt":["a","b","c"]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["param"], "n");
  // No max_tokens: the rest of the 4096-token context per sequence, x 2.
  r = http(port_, "POST", "/v1/completions", R"({"n":2,"prompt":"x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("--max-request-tokens"), std::string::npos) << r.body;
  EXPECT_EQ(engine_->submitted, 0);
  EXPECT_EQ(http(port_, "POST", "/v1/completions", R"({"n":2,"prompt":"x","max_tokens":400})")
                .status,
            200);
}

TEST_F(ServerTest, ResponseFormatIsChecked) {
  start("ok");
  auto chat = [&](const std::string& rf) {
    return http(port_, "POST", "/v1/chat/completions",
                R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":1,"response_format":)" +
                    rf + "}");
  };
  EXPECT_EQ(chat("\"json\"").status, 400);
  EXPECT_EQ(chat(R"({"type":"bogus"})").status, 400);
  EXPECT_EQ(chat(R"({"type":"json_schema"})").status, 400);
  EXPECT_EQ(chat(R"({})").status, 400);
  EXPECT_EQ(chat(R"({"type":"text"})").status, 200);
  EXPECT_EQ(chat(R"({"type":"json_object"})").status, 200);
}

TEST_F(ServerTest, ReasoningAndTools) {
  ServiceOptions o;
  o.reasoning_parser = "qwen3";
  start("<think>plan</think>\n\nAnswer", o);
  auto r = http(port_, "POST", "/v1/chat/completions",
                R"({"messages":[{"role":"user","content":"q"}],"max_tokens":100})");
  auto msg = json::parse(r.body)["choices"][0]["message"];
  EXPECT_EQ(msg["reasoning_content"], "plan");
  EXPECT_EQ(msg["content"], "Answer");

  r = http(port_, "POST", "/v1/chat/completions",
           R"({"messages":[{"role":"user","content":"q"}],"max_tokens":100,"stream":true})");
  std::string reasoning, content;
  for (auto& e : sse_data(r.body)) {
    if (e == "[DONE]") break;
    auto d = json::parse(e)["choices"][0]["delta"];
    if (d.contains("reasoning_content")) reasoning += d["reasoning_content"].get<std::string>();
    if (d.contains("content")) content += d["content"].get<std::string>();
  }
  EXPECT_EQ(reasoning, "plan");
  EXPECT_EQ(content, "Answer");
}

TEST_F(ServerTest, KeepAlive) {
  start("ok");
  int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 3; ++i) {
    std::string req =
        make_request("POST", "/v1/completions", R"({"prompt":"x","max_tokens":2})", "", false);
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string raw;
    char buf[4096];
    // Read exactly one response: headers, then Content-Length bytes of body.
    auto complete = [&raw] {
      size_t end = raw.find("\r\n\r\n");
      if (end == std::string::npos) return false;
      std::string head = raw.substr(0, end);
      for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t cl = head.find("content-length:");
      if (cl == std::string::npos) return false;
      size_t len = std::stoul(head.substr(cl + 15));
      return raw.size() >= end + 4 + len;
    };
    while (!complete()) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      ASSERT_GT(n, 0) << "request " << i;
      raw.append(buf, n);
    }
    auto r = parse_reply(raw);
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.headers.find("keep-alive"), std::string::npos);
  }
  ::close(fd);
}

TEST_F(ServerTest, DisconnectAborts) {
  ServiceOptions o;
  o.max_request_tokens = 10000000;
  start("abc", o);
  int fd = connect_to(port_);
  std::string req = make_request(
      "POST", "/v1/chat/completions",
      R"({"messages":[{"role":"user","content":"x"}],"stream":true,"max_tokens":1000000,"ignore_eos":true})",
      "", false);
  engine_->max_len_ = 2000000;
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  char buf[1024];
  ASSERT_GT(::recv(fd, buf, sizeof buf, 0), 0);
  ::close(fd);
  for (int i = 0; i < 200 && engine_->aborted_count == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(engine_->aborted_count, 1);
  for (int i = 0; i < 200 && server_->active_requests() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server_->active_requests(), 0);
  EXPECT_EQ(engine_->stats().num_running, 0);
}

TEST_F(ServerTest, MetricsAndTokenize) {
  start("ok");
  ASSERT_EQ(http(port_, "POST", "/v1/completions", R"({"prompt":"x","max_tokens":5})").status, 200);
  auto m = http(port_, "GET", "/metrics").body;
  EXPECT_NE(m.find("vllm:num_requests_running{model_name=\"tiny\"} 0"), std::string::npos) << m;
  EXPECT_NE(m.find("vllm:request_success_total{model_name=\"tiny\",finished_reason=\"stop\"} 1"),
            std::string::npos);
  EXPECT_NE(m.find("vllm:time_to_first_token_seconds_count{model_name=\"tiny\"} 1"),
            std::string::npos);
  EXPECT_NE(m.find("vllm:e2e_request_latency_seconds_bucket"), std::string::npos);
  EXPECT_NE(m.find("vllm:generation_tokens_total"), std::string::npos);
  auto t = json::parse(http(port_, "POST", "/tokenize", R"({"prompt":"ab"})").body);
  EXPECT_EQ(t["tokens"], json::array({97, 98}));
  EXPECT_EQ(t["count"], 2);
  auto d = json::parse(http(port_, "POST", "/detokenize", R"({"tokens":[104,105]})").body);
  EXPECT_EQ(d["prompt"], "hi");
}

TEST_F(ServerTest, ManyConcurrentStreams) {
  start("0123456789");
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int i = 0; i < 50; ++i) {
    ts.emplace_back([&] {
      auto r = http(
          port_, "POST", "/v1/completions",
          R"({"prompt":"x","stream":true,"max_tokens":5,"stream_options":{"include_usage":true}})");
      auto ev = sse_data(r.body);
      if (r.status == 200 && ev.size() >= 2 && ev.back() == "[DONE]" &&
          json::parse(ev[ev.size() - 2])["usage"]["completion_tokens"] == 5) {
        ++ok;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok, 50);
}

}  // namespace
}  // namespace yun::serve

namespace yun::serve {
namespace {

// One terminal path: every generation request hands exactly one JobOutcome
// with the engine's counts to on_job_complete: finished (streamed or not,
// n > 1) and client gone alike.
TEST_F(ServerTest, EveryRequestCompletesOnceWithItsUsage) {
  std::mutex mu;
  std::vector<JobOutcome> seen;
  ServiceOptions o;
  o.max_request_tokens = 10000000;
  o.on_job_complete = [&](const JobOutcome& j) {
    std::lock_guard<std::mutex> lk(mu);
    seen.push_back(j);
  };
  start("abcdef", o);
  auto r = testing::http(port_, "POST", "/v1/completions",
                         R"({"prompt":"xy","max_tokens":3,"n":2})");
  ASSERT_EQ(r.status, 200);
  auto usage = nlohmann::json::parse(r.body)["usage"];
  r = testing::http(port_, "POST", "/v1/completions",
                    R"({"prompt":"xyz","max_tokens":4,"stream":true})");
  ASSERT_EQ(r.status, 200);
  // A client that leaves mid-stream: its request still completes, aborted.
  engine_->max_len_ = 2000000;
  int fd = testing::connect_to(port_);
  std::string req = testing::make_request(
      "POST", "/v1/completions",
      R"({"prompt":"q","stream":true,"max_tokens":1000000,"ignore_eos":true})", "", false);
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  char buf[512];
  ASSERT_GT(::recv(fd, buf, sizeof buf, 0), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::close(fd);
  for (int i = 0; i < 300; ++i) {
    {
      std::lock_guard<std::mutex> lk(mu);
      if (seen.size() >= 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard<std::mutex> lk(mu);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].kind, JobOutcome::kFinished);
  EXPECT_EQ(seen[0].prompt_tokens, usage["prompt_tokens"]);
  EXPECT_EQ(seen[0].completion_tokens, usage["completion_tokens"]);
  EXPECT_EQ(seen[0].completion_tokens, 6);
  EXPECT_EQ(seen[1].kind, JobOutcome::kFinished);
  EXPECT_EQ(seen[1].completion_tokens, 4);
  EXPECT_EQ(seen[2].kind, JobOutcome::kAborted);
  EXPECT_GT(seen[2].completion_tokens, 0);
  EXPECT_EQ(seen[2].prompt_tokens, 1);
}

}  // namespace
}  // namespace yun::serve
