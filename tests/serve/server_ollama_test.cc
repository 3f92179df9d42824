// Ollama's /api/ routes through the real HTTP server and OpenAiService on
// FakeEngine (scripted output): NDJSON framing, tool calls sent whole when
// the scripted reply holds <tool_call> blocks (streamed and not), the prompt
// the engine receives (generate renders the template unless raw; think),
// Ollama error objects for route-level errors (401 with --api-key, 404,
// 405), and the load-only answer.
// Run: build/tests/yun_serve_tests --gtest_filter='ServerOllama*'
#include "server_fixture.h"

namespace yun::serve {
namespace {

using nlohmann::json;
using testing::http;

using ServerOllamaTest = testing::ServerTest;

const std::string kCall =
    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
const std::string kTools =
    R"([{"type":"function","function":{"name":"get_weather","parameters":{}}}])";

std::vector<json> ndjson(const std::string& body) {
  std::vector<json> out;
  size_t start = 0;
  while (start < body.size()) {
    size_t nl = body.find('\n', start);
    EXPECT_NE(nl, std::string::npos) << body;
    if (nl == std::string::npos) break;
    auto j = json::parse(body.substr(start, nl - start), nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << body.substr(start, nl - start);
    out.push_back(j);
    start = nl + 1;
  }
  return out;
}

TEST_F(ServerOllamaTest, ChatStreamsNdjsonWithAWholeToolCall) {
  start("Sure. " + kCall);
  auto r =
      http(port_, "POST", "/api/chat",
           R"({"model":"tiny:latest","messages":[{"role":"user","content":"weather?"}],"tools":)" +
               kTools + R"(,"options":{"num_predict":300}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers.find("application/x-ndjson"), std::string::npos) << r.headers;
  auto lines = ndjson(r.body);
  ASSERT_GE(lines.size(), 2u);
  std::string content;
  json calls = json::array();
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["done"], false);
    EXPECT_EQ(lines[i]["model"], "tiny:latest");
    content += lines[i]["message"]["content"].get<std::string>();
    if (lines[i]["message"].contains("tool_calls")) {
      for (auto& c : lines[i]["message"]["tool_calls"]) calls.push_back(c);
    }
  }
  EXPECT_EQ(content, "Sure. ");
  ASSERT_EQ(calls.size(), 1u) << r.body;
  EXPECT_EQ(calls[0]["function"]["name"], "get_weather");
  EXPECT_EQ(calls[0]["function"]["arguments"], (json{{"city", "Paris"}}));
  const json& done = lines.back();
  EXPECT_EQ(done["done"], true);
  EXPECT_EQ(done["done_reason"], "stop");
  EXPECT_EQ(done["eval_count"], static_cast<int>(("Sure. " + kCall).size()));
  EXPECT_GT(done["prompt_eval_count"].get<int>(), 0);
}

TEST_F(ServerOllamaTest, ChatNotStreamedWithToolCall) {
  start(kCall);
  auto r = http(
      port_, "POST", "/api/chat",
      R"({"model":"tiny","stream":false,"messages":[{"role":"user","content":"weather?"}],"tools":)" +
          kTools + R"(,"options":{"num_predict":300}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["done"], true);
  EXPECT_EQ(j["done_reason"], "stop");
  EXPECT_EQ(j["message"]["content"], "");
  ASSERT_EQ(j["message"]["tool_calls"].size(), 1u);
  EXPECT_EQ(j["message"]["tool_calls"][0]["function"]["arguments"]["city"], "Paris");
}

TEST_F(ServerOllamaTest, GeneratePromptAndThink) {
  start("abc");
  auto r = http(
      port_, "POST", "/api/generate",
      R"({"model":"tiny","prompt":"hi","system":"sys","think":true,"stream":false,"options":{"num_predict":2}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(prompt_seen(), "system: sys\nuser: hi\nassistant:<think>\n");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["response"], "ab");
  EXPECT_EQ(j["done_reason"], "length");
  EXPECT_EQ(j["eval_count"], 2);
  r = http(port_, "POST", "/api/generate",
           R"({"model":"tiny","prompt":"raw text","raw":true,"stream":false})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(prompt_seen(), "raw text");
  EXPECT_EQ(json::parse(r.body)["response"], "abc");
}

TEST_F(ServerOllamaTest, LoadOnlyAnswersWithoutGenerating) {
  start("abc");
  auto r = http(port_, "POST", "/api/chat", R"({"model":"tiny","messages":[],"keep_alive":0})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["done"], true);
  EXPECT_EQ(j["done_reason"], "unload");
  EXPECT_EQ(engine_->submitted.load(), 0);
}

TEST_F(ServerOllamaTest, RouteErrorsAreOllamaErrorObjects) {
  ServiceOptions opts;
  opts.api_keys = {"k1"};
  start("abc", opts);
  auto expect_error = [](const testing::Reply& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    ASSERT_TRUE(j["error"].is_string()) << r.body;
    EXPECT_FALSE(j["error"].get<std::string>().empty());
  };
  expect_error(http(port_, "POST", "/api/chat",
                    R"({"model":"tiny","messages":[{"role":"user","content":"x"}]})"),
               401);
  expect_error(http(port_, "GET", "/api/tags"), 401);
  const std::string key = "Authorization: Bearer k1\r\n";
  expect_error(http(port_, "GET", "/api/chat", "", key), 405);
  expect_error(http(port_, "GET", "/api/nope", "", key), 404);
  expect_error(http(port_, "POST", "/api/chat",
                    R"({"model":"other","messages":[{"role":"user","content":"x"}]})", key),
               404);
  // /v1 keeps OpenAI's shape.
  auto v1 = http(port_, "GET", "/v1/models");
  EXPECT_EQ(v1.status, 401);
  EXPECT_TRUE(json::parse(v1.body)["error"].is_object());
  auto ok = http(port_, "GET", "/api/version");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(json::parse(ok.body)["version"], "9.9.9");
  auto tags = http(port_, "GET", "/api/tags", "", key);
  ASSERT_EQ(tags.status, 200) << tags.body;
  auto names = json::parse(tags.body)["models"];
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0]["name"], "tiny");
  EXPECT_EQ(names[1]["name"], "alias");
}

}  // namespace
}  // namespace yun::serve
