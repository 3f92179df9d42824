// Tests of Ollama's response shapes (serve/ollama_format.h): OpenAI-shaped
// choices from a generation job -> Ollama NDJSON lines and bodies (fields,
// done line, counts and durations in ns, tool calls sent whole), and the
// writer that rewrites OpenAI error objects into Ollama's. No model needed.
// Run: build/tests/yun_serve_tests --gtest_filter='OllamaFormat*'
#include "yun/serve/ollama_format.h"

#include <gtest/gtest.h>

#include <regex>

namespace yun::serve {
namespace {

std::vector<OJson> lines(const std::string& ndjson) {
  std::vector<OJson> out;
  size_t start = 0;
  while (start < ndjson.size()) {
    size_t nl = ndjson.find('\n', start);
    EXPECT_NE(nl, std::string::npos) << "every line ends in \\n: " << ndjson;
    if (nl == std::string::npos) break;
    out.push_back(OJson::parse(ndjson.substr(start, nl - start)));
    start = nl + 1;
  }
  return out;
}

RequestEvent event(double first, double now) {
  RequestEvent ev;
  ev.first_token_time = first;
  ev.time_since_submit = now;
  return ev;
}

JobOutcome outcome(int64_t prompt, int64_t completion) {
  JobOutcome o;
  o.prompt_tokens = prompt;
  o.completion_tokens = completion;
  o.finish_reason = "stop";
  return o;
}

TEST(OllamaFormat, Timestamp) {
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000) +
                                                 std::chrono::nanoseconds(123456789));
  EXPECT_EQ(ollama_timestamp(t), "2023-11-14T22:13:20.123456789Z");
  EXPECT_TRUE(std::regex_match(ollama_timestamp(std::chrono::system_clock::now()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)")));
}

TEST(OllamaFormat, ChatStream) {
  OllamaOutput out(OllamaOutput::Kind::kChat, "m:latest");
  EXPECT_EQ(out.stream_content_type(), "application/x-ndjson");
  out.on_event(event(-1, 0.01));
  // The role-only first chunk says nothing in Ollama's stream.
  EXPECT_EQ(out.stream_chunk(OJson{{"index", 0},
                                   {"delta", {{"role", "assistant"}, {"content", ""}}},
                                   {"finish_reason", nullptr}}),
            "");
  out.on_event(event(0.25, 0.25));
  std::string text =
      out.stream_chunk(OJson{{"index", 0},
                             {"delta", {{"reasoning_content", "hmm"}, {"content", "Hel"}}},
                             {"finish_reason", nullptr}});
  out.on_event(event(0.25, 1.0));
  text += out.stream_chunk(
      OJson{{"index", 0}, {"delta", {{"content", "lo"}}}, {"finish_reason", "length"}});
  text += out.stream_end(outcome(12, 5));
  auto ls = lines(text);
  ASSERT_EQ(ls.size(), 3u) << text;
  EXPECT_EQ(ls[0]["model"], "m:latest");
  EXPECT_TRUE(ls[0]["created_at"].is_string());
  EXPECT_EQ(ls[0]["message"]["role"], "assistant");
  EXPECT_EQ(ls[0]["message"]["content"], "Hel");
  EXPECT_EQ(ls[0]["message"]["thinking"], "hmm");
  EXPECT_EQ(ls[0]["done"], false);
  EXPECT_EQ(ls[1]["message"]["content"], "lo");
  EXPECT_FALSE(ls[1]["message"].contains("thinking"));
  const OJson& done = ls[2];
  EXPECT_EQ(done["done"], true);
  EXPECT_EQ(done["done_reason"], "length");
  EXPECT_EQ(done["message"]["content"], "");
  EXPECT_EQ(done["prompt_eval_count"], 12);
  EXPECT_EQ(done["eval_count"], 5);
  EXPECT_EQ(done["total_duration"], 1'000'000'000);
  EXPECT_EQ(done["prompt_eval_duration"], 250'000'000);
  EXPECT_EQ(done["eval_duration"], 750'000'000);
  EXPECT_EQ(done["load_duration"], 0);
}

TEST(OllamaFormat, StreamedToolCallsAreSentWhole) {
  OllamaOutput out(OllamaOutput::Kind::kChat, "m");
  std::string text;
  text +=
      out.stream_chunk(OJson{{"index", 0},
                             {"delta",
                              {{"tool_calls",
                                {{{"index", 0},
                                  {"id", "call_1"},
                                  {"type", "function"},
                                  {"function", {{"name", "get_weather"}, {"arguments", ""}}}}}}}},
                             {"finish_reason", nullptr}});
  text += out.stream_chunk(OJson{
      {"index", 0},
      {"delta", {{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "{\"city\":"}}}}}}}},
      {"finish_reason", nullptr}});
  EXPECT_EQ(text, "") << "no fragments";
  text += out.stream_chunk(OJson{
      {"index", 0},
      {"delta", {{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "\"Paris\"}"}}}}}}}},
      {"finish_reason", "tool_calls"}});
  text += out.stream_end(outcome(3, 9));
  auto ls = lines(text);
  ASSERT_EQ(ls.size(), 2u) << text;
  const OJson& call = ls[0]["message"]["tool_calls"][0];
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(call["function"]["arguments"], (OJson{{"city", "Paris"}}));
  EXPECT_EQ(ls[1]["done_reason"], "stop");
}

TEST(OllamaFormat, ChatBody) {
  OllamaOutput out(OllamaOutput::Kind::kChat, "m");
  out.on_event(event(0.5, 2.0));
  OJson openai = {{"choices",
                   {{{"index", 0},
                     {"message",
                      {{"role", "assistant"},
                       {"content", nullptr},
                       {"reasoning_content", "think"},
                       {"tool_calls",
                        {{{"id", "call_x"},
                          {"type", "function"},
                          {"function", {{"name", "f"}, {"arguments", "{\"a\":1}"}}}}}}}},
                     {"finish_reason", "tool_calls"}}}}};
  OJson b = OJson::parse(out.body(openai, outcome(4, 6)));
  EXPECT_EQ(b["model"], "m");
  EXPECT_EQ(b["done"], true);
  EXPECT_EQ(b["done_reason"], "stop");
  EXPECT_EQ(b["message"]["content"], "");
  EXPECT_EQ(b["message"]["thinking"], "think");
  EXPECT_EQ(b["message"]["tool_calls"][0]["function"]["arguments"]["a"], 1);
  EXPECT_EQ(b["eval_count"], 6);
  EXPECT_EQ(b["prompt_eval_count"], 4);
  EXPECT_EQ(b["eval_duration"], 1'500'000'000);
}

TEST(OllamaFormat, GenerateShapes) {
  OllamaOutput out(OllamaOutput::Kind::kGenerate, "m");
  // A chat delta (generate through the template) and a completions choice (raw).
  std::string text = out.stream_chunk(
      OJson{{"index", 0}, {"delta", {{"content", "a"}}}, {"finish_reason", nullptr}});
  text += out.stream_chunk(OJson{{"index", 0}, {"text", "b"}, {"finish_reason", "stop"}});
  text += out.stream_end(outcome(1, 2));
  auto ls = lines(text);
  ASSERT_EQ(ls.size(), 3u);
  EXPECT_EQ(ls[0]["response"], "a");
  EXPECT_FALSE(ls[0].contains("message"));
  EXPECT_EQ(ls[1]["response"], "b");
  EXPECT_EQ(ls[2]["response"], "");
  EXPECT_EQ(ls[2]["done"], true);
  OllamaOutput raw(OllamaOutput::Kind::kGenerate, "m");
  OJson b = OJson::parse(raw.body(
      OJson{{"choices", {{{"text", "xyz"}, {"finish_reason", "length"}}}}}, outcome(1, 3)));
  EXPECT_EQ(b["response"], "xyz");
  EXPECT_EQ(b["done_reason"], "length");
}

TEST(OllamaFormat, Errors) {
  EXPECT_EQ(ollama_error_json("bad \"x\""), R"({"error":"bad \"x\""})");
  OllamaOutput out(OllamaOutput::Kind::kChat, "m");
  EXPECT_EQ(out.stream_error(server_error("boom")), "{\"error\":\"boom\"}\n");
  EXPECT_EQ(ollama_done_reason("tool_calls"), "stop");
  EXPECT_EQ(ollama_done_reason("length"), "length");
}

class Recorder : public ResponseWriter {
 public:
  void send(HttpResponse r) override { sent.push_back(std::move(r)); }
  void start_stream(int, const std::string&,
                    std::vector<std::pair<std::string, std::string>>) override {}
  void write(std::string d) override { written += d; }
  void finish() override {}
  void post(std::function<void()> fn) override { fn(); }
  void on_close(std::function<void()>) override {}
  bool closed() const override { return false; }
  std::vector<HttpResponse> sent;
  std::string written;
};

TEST(OllamaFormat, ErrorWriterRewritesOpenAiErrors) {
  auto rec = std::make_shared<Recorder>();
  auto w = ollama_errors(rec);
  w->send(HttpResponse{
      401, "application/json", unauthorized("no key").to_json(), {{"WWW-Authenticate", "Bearer"}}});
  w->send(HttpResponse{200, "application/json", R"({"error":{"message":"kept"}})", {}});
  w->send(HttpResponse{404, "text/plain", "not json", {}});
  w->write("{\"a\":1}\n");
  ASSERT_EQ(rec->sent.size(), 3u);
  EXPECT_EQ(rec->sent[0].status, 401);
  EXPECT_EQ(rec->sent[0].body, R"({"error":"no key"})");
  EXPECT_EQ(rec->sent[0].headers.size(), 1u);
  EXPECT_EQ(rec->sent[1].body, R"({"error":{"message":"kept"}})");  // a success is left alone
  EXPECT_EQ(rec->sent[2].body, "not json");
  EXPECT_EQ(rec->written, "{\"a\":1}\n");
}

TEST(OllamaFormat, ToolCallArgumentsBecomeObjects) {
  OJson calls = ollama_tool_calls(OJson::parse(
      R"([{"id":"c","type":"function","function":{"name":"f","arguments":"not json"}},
          {"function":{"name":"g","arguments":{"k":"v"}}}, 5])"));
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["function"]["arguments"], OJson::object());
  EXPECT_EQ(calls[0]["id"], "c");
  EXPECT_EQ(calls[1]["function"]["arguments"]["k"], "v");
  EXPECT_EQ(calls[1]["function"]["index"], 1);
}

}  // namespace
}  // namespace yun::serve
