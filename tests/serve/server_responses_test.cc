// POST /v1/responses through the real HTTP server on FakeEngine (scripted
// output, byte tokens): the Response object, the event stream, tool calls
// and their round trip, reasoning items, usage, metrics and the 400s.
// Run: build/tests/yun_serve_tests --gtest_filter='ServerResponses*'
#include "server_fixture.h"

namespace yun::serve {
namespace {

using nlohmann::json;
using testing::http;

using ServerResponsesTest = testing::ServerTest;

// "event: T\ndata: J" frames of a /v1/responses stream, as JSON.
std::vector<json> events(const testing::Reply& r) {
  std::vector<json> out;
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers.find("text/event-stream"), std::string::npos);
  for (const auto& d : testing::sse_data(r.body)) {
    auto j = json::parse(d, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << d;
    if (!j.is_discarded()) out.push_back(j);
  }
  return out;
}

TEST_F(ServerResponsesTest, NonStreamed) {
  start("Hello there");
  auto r = http(port_, "POST", "/v1/responses", R"({"input":"hi","instructions":"sys"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = json::parse(r.body);
  EXPECT_EQ(b["id"].get<std::string>().rfind("resp_", 0), 0u);
  EXPECT_EQ(b["object"], "response");
  EXPECT_EQ(b["status"], "completed");
  EXPECT_EQ(b["model"], "tiny");
  EXPECT_EQ(b["instructions"], "sys");
  ASSERT_EQ(b["output"].size(), 1u);
  EXPECT_EQ(b["output"][0]["type"], "message");
  EXPECT_EQ(b["output"][0]["content"][0]["text"], "Hello there");
  EXPECT_EQ(prompt_seen(), "system: sys\nuser: hi\nassistant:");
  EXPECT_EQ(b["usage"]["input_tokens"], prompt_seen().size());
  EXPECT_EQ(b["usage"]["output_tokens"], 11);
  EXPECT_EQ(b["usage"]["total_tokens"], prompt_seen().size() + 11);
  // Counted as generation requests, as chat is.
  auto m = http(port_, "GET", "/metrics").body;
  EXPECT_NE(m.find("vllm:request_success_total{"), std::string::npos);
}

TEST_F(ServerResponsesTest, MaxOutputTokensIsIncomplete) {
  start("abcdefghijklmnop");
  auto b = json::parse(http(port_, "POST", "/v1/responses", R"({"input":"hi","max_output_tokens":4})").body);
  EXPECT_EQ(b["status"], "incomplete");
  EXPECT_EQ(b["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(b["output"][0]["content"][0]["text"], "abcd");
  EXPECT_EQ(b["usage"]["output_tokens"], 4);
}

TEST_F(ServerResponsesTest, StreamedEventsAndDeltas) {
  start("Streamed words here");
  auto ev = events(http(port_, "POST", "/v1/responses", R"({"input":"hi","stream":true})"));
  ASSERT_GE(ev.size(), 8u);
  EXPECT_EQ(ev[0]["type"], "response.created");
  EXPECT_EQ(ev[1]["type"], "response.in_progress");
  EXPECT_EQ(ev[2]["type"], "response.output_item.added");
  EXPECT_EQ(ev[3]["type"], "response.content_part.added");
  EXPECT_EQ(ev.back()["type"], "response.completed");
  std::string text;
  for (size_t i = 0; i < ev.size(); ++i) {
    EXPECT_EQ(ev[i]["sequence_number"], i);
    if (ev[i]["type"] == "response.output_text.delta") text += ev[i]["delta"].get<std::string>();
  }
  EXPECT_EQ(text, "Streamed words here");
  const json& done = ev.back()["response"];
  EXPECT_EQ(done["output"][0]["content"][0]["text"], text);
  EXPECT_EQ(done["usage"]["output_tokens"], 19);
  EXPECT_EQ(done["id"], ev[0]["response"]["id"]);
}

TEST_F(ServerResponsesTest, ReasoningItem) {
  ServiceOptions o;
  o.reasoning_parser = "qwen3";
  start("because</think>\n\nAnswer", o);
  auto b = json::parse(http(port_, "POST", "/v1/responses",
                            R"({"input":"q","reasoning":{"effort":"high"}})").body);
  EXPECT_EQ(prompt_seen(), "user: q\nassistant:<think>\n");  // effort high: thinking on
  ASSERT_EQ(b["output"].size(), 2u) << b;
  EXPECT_EQ(b["output"][0]["type"], "reasoning");
  EXPECT_EQ(b["output"][0]["summary"][0]["text"], "because");
  EXPECT_EQ(b["output"][1]["content"][0]["text"], "Answer");
  EXPECT_EQ(b["usage"]["output_tokens_details"]["reasoning_tokens"], 7);  // one token per byte

  auto ev = events(http(port_, "POST", "/v1/responses",
                        R"({"input":"q","reasoning":{"effort":"high"},"stream":true})"));
  std::string summary;
  for (const auto& e : ev) {
    if (e["type"] == "response.reasoning_summary_text.delta") summary += e["delta"].get<std::string>();
  }
  EXPECT_EQ(summary, "because");
  EXPECT_EQ(ev.back()["response"]["output"][0]["type"], "reasoning");

  http(port_, "POST", "/v1/responses", R"({"input":"q","reasoning":{"effort":"minimal"}})");
  EXPECT_EQ(prompt_seen(), "user: q\nassistant:");
}

const std::string kCall =
    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
const std::string kTools = R"([{"type":"function","name":"get_weather","parameters":{}}])";

TEST_F(ServerResponsesTest, FunctionCallRoundTrip) {
  start(kCall);
  auto b = json::parse(http(port_, "POST", "/v1/responses",
                            R"({"input":"weather?","tools":)" + kTools + "}").body);
  ASSERT_EQ(b["output"].size(), 1u) << b;
  json call = b["output"][0];
  EXPECT_EQ(call["type"], "function_call");
  EXPECT_EQ(call["name"], "get_weather");
  EXPECT_EQ(call["arguments"], R"({"city": "Paris"})");
  EXPECT_EQ(call["status"], "completed");

  auto ev = events(http(port_, "POST", "/v1/responses",
                        R"({"input":"weather?","stream":true,"tools":)" + kTools + "}"));
  std::string args;
  for (const auto& e : ev) {
    if (e["type"] == "response.function_call_arguments.delta") args += e["delta"].get<std::string>();
  }
  EXPECT_EQ(args, R"({"city": "Paris"})");
  EXPECT_EQ(ev.back()["response"]["output"][0]["type"], "function_call");

  json input = json::array({{{"role", "user"}, {"content", "weather?"}},
                            {{"type", "function_call"},
                             {"call_id", call["call_id"]},
                             {"name", "get_weather"},
                             {"arguments", call["arguments"]}},
                            {{"type", "function_call_output"},
                             {"call_id", call["call_id"]},
                             {"output", "sunny"}}});
  json body = {{"input", input}, {"tools", json::parse(kTools)}};
  auto r = http(port_, "POST", "/v1/responses", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(prompt_seen(), "user: weather?\nassistant: \ntool: sunny\ntools: 1\nassistant:");
}

TEST_F(ServerResponsesTest, BadRequests) {
  start("x");
  struct Case {
    std::string body;
    int status;
    const char* param;
  } cases[] = {
      {R"({"input":"hi","previous_response_id":"resp_1"})", 400, "previous_response_id"},
      {R"({"input":[{"type":"input_image"}]})", 400, "input[0].type"},
      {R"({"model":"nope","input":"hi"})", 404, "model"},
      {R"({"input":"hi","max_output_tokens":100000})", 400, "max_output_tokens"},
      {R"({"nothing":1})", 400, "input"},
  };
  for (const auto& c : cases) {
    auto r = http(port_, "POST", "/v1/responses", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["error"]["param"], c.param) << r.body;
  }
}

}  // namespace
}  // namespace yun::serve
