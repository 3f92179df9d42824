// Tool calls through the real HTTP server on FakeEngine (whose output is
// scripted): non-streamed and streamed tool_calls (head delta, argument
// fragments, indexes, malformed blocks) and the prompt prefixes that enforce
// tool_choice (tool_choice.h), checked on the prompt the engine receives.
// Run: build/tests/yun_serve_tests --gtest_filter='ServerTools*'
#include <map>

#include "server_fixture.h"

namespace yun::serve {
namespace {

using nlohmann::json;
using testing::http;
using testing::sse_data;

using ServerToolsTest = testing::ServerTest;

const std::string kWeatherCall =
    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": "
    "[1, 2]}}\n</tool_call>";
const std::string kTimeCall =
    "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"Europe/Paris\"}}\n"
    "</tool_call>";
const std::string kTools =
    R"([{"type":"function","function":{"name":"get_weather","parameters":{}}},
        {"type":"function","function":{"name":"get_time","parameters":{}}}])";

std::string chat_body(const std::string& extra, bool stream) {
  return R"({"messages":[{"role":"user","content":"weather?"}],"max_tokens":300,"tools":)" +
         kTools + extra + (stream ? R"(,"stream":true})" : "}");
}

// A streamed chat reply put back together, checking the tool-call protocol
// on the way: every chunk is valid JSON with at most one tool-call entry; a
// call's first entry (only) has id, type and name with arguments "".
struct StreamedReply {
  std::string content, finish;
  std::vector<json> heads;
  std::map<int, std::string> arguments;
  std::map<int, int> fragments;
};

StreamedReply read_stream(const testing::Reply& r) {
  StreamedReply s;
  EXPECT_EQ(r.status, 200) << r.body;
  auto events = sse_data(r.body);
  EXPECT_FALSE(events.empty());
  if (events.empty()) return s;
  EXPECT_EQ(events.back(), "[DONE]");
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    auto j = json::parse(events[i], nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << events[i];
    if (j.is_discarded() || j["choices"].empty()) continue;
    auto ch = j["choices"][0];
    if (!ch["finish_reason"].is_null()) s.finish = ch["finish_reason"];
    auto& d = ch["delta"];
    if (d.contains("content")) s.content += d["content"].get<std::string>();
    if (!d.contains("tool_calls")) continue;
    EXPECT_EQ(d["tool_calls"].size(), 1u) << events[i];
    for (auto& t : d["tool_calls"]) {
      int index = t["index"];
      if (t.contains("id")) {
        EXPECT_EQ(static_cast<int>(s.heads.size()), index);
        EXPECT_EQ(t["type"], "function");
        EXPECT_EQ(t["function"]["arguments"], "");
        EXPECT_EQ(s.fragments[index], 0) << "head after a fragment";
        s.heads.push_back(t);
      } else {
        EXPECT_FALSE(t["function"].contains("name")) << events[i];
        EXPECT_LT(index, static_cast<int>(s.heads.size())) << "fragment before head";
        s.arguments[index] += t["function"]["arguments"].get<std::string>();
        ++s.fragments[index];
      }
    }
  }
  return s;
}

TEST_F(ServerToolsTest, NonStreamedCall) {
  start(kWeatherCall);
  auto r = http(port_, "POST", "/v1/chat/completions", chat_body("", false));
  ASSERT_EQ(r.status, 200) << r.body;
  auto c = json::parse(r.body)["choices"][0];
  EXPECT_EQ(c["finish_reason"], "tool_calls");
  EXPECT_TRUE(c["message"]["content"].is_null());
  ASSERT_EQ(c["message"]["tool_calls"].size(), 1u);
  auto call = c["message"]["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(call["function"]["arguments"], R"({"city": "Paris", "days": [1, 2]})");
}

TEST_F(ServerToolsTest, StreamedFragmentsConcatenateToTheArguments) {
  start("Checking. " + kWeatherCall + "\n" + kTimeCall);
  auto whole = json::parse(http(port_, "POST", "/v1/chat/completions", chat_body("", false)).body);
  auto calls = whole["choices"][0]["message"]["tool_calls"];
  ASSERT_EQ(calls.size(), 2u) << whole;

  auto s = read_stream(http(port_, "POST", "/v1/chat/completions", chat_body("", true)));
  EXPECT_EQ(s.finish, "tool_calls");
  ASSERT_EQ(s.heads.size(), 2u);
  EXPECT_EQ(s.heads[0]["function"]["name"], "get_weather");
  EXPECT_EQ(s.heads[1]["function"]["name"], "get_time");
  EXPECT_NE(s.heads[0]["id"], s.heads[1]["id"]);
  EXPECT_EQ(s.heads[0]["id"].get<std::string>().rfind("chatcmpl-tool-", 0), 0u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(s.arguments[i], calls[i]["function"]["arguments"]) << i;
    EXPECT_GT(s.fragments[i], 3) << "arguments should arrive as the model writes them";
  }
  EXPECT_EQ(s.content, "Checking. \n");
}

// Malformed arguments after the call was committed: the call stays with the
// valid JSON prefix; non-streamed, the whole output is content.
TEST_F(ServerToolsTest, MalformedBlock) {
  const std::string bad =
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": Paris}}\n</tool_call>";
  start(bad);
  auto c = json::parse(http(port_, "POST", "/v1/chat/completions", chat_body("", false)).body);
  EXPECT_EQ(c["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(c["choices"][0]["message"]["content"], bad);
  EXPECT_FALSE(c["choices"][0]["message"].contains("tool_calls"));

  auto s = read_stream(http(port_, "POST", "/v1/chat/completions", chat_body("", true)));
  ASSERT_EQ(s.heads.size(), 1u);
  EXPECT_EQ(s.arguments[0], "{\"city\": ");
  EXPECT_EQ(s.finish, "tool_calls");
  EXPECT_EQ(s.content, "");
}

TEST_F(ServerToolsTest, MalformedBeforeCommitIsContent) {
  const std::string bad = "<tool_call>\nget_weather(city=Paris)\n</tool_call>";
  start(bad);
  auto s = read_stream(http(port_, "POST", "/v1/chat/completions", chat_body("", true)));
  EXPECT_TRUE(s.heads.empty());
  EXPECT_EQ(s.content, bad);
  EXPECT_EQ(s.finish, "stop");
}

TEST_F(ServerToolsTest, NamedChoiceForcesTheCallPrefix) {
  start("{\"city\": \"Paris\"}}\n</tool_call>");
  const std::string named =
      R"(,"tool_choice":{"type":"function","function":{"name":"get_weather"}})";
  auto r = http(port_, "POST", "/v1/chat/completions", chat_body(named, false));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(prompt_seen(),
            "user: weather?\ntools: 1\nassistant:<tool_call>\n{\"name\": \"get_weather\", "
            "\"arguments\": ");
  auto c = json::parse(r.body)["choices"][0];
  EXPECT_EQ(c["finish_reason"], "tool_calls");
  EXPECT_TRUE(c["message"]["content"].is_null());
  ASSERT_EQ(c["message"]["tool_calls"].size(), 1u);
  EXPECT_EQ(c["message"]["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(c["message"]["tool_calls"][0]["function"]["arguments"], R"({"city": "Paris"})");

  auto s = read_stream(http(port_, "POST", "/v1/chat/completions", chat_body(named, true)));
  ASSERT_EQ(s.heads.size(), 1u);
  EXPECT_EQ(s.heads[0]["function"]["name"], "get_weather");
  EXPECT_EQ(s.arguments[0], R"({"city": "Paris"})");
  EXPECT_EQ(s.finish, "tool_calls");
  EXPECT_EQ(s.content, "");
}

TEST_F(ServerToolsTest, NamedChoiceWithArgumentsThatDoNotParseIsContent) {
  start("It is sunny.");
  const std::string named = R"(,"tool_choice":{"type":"function","function":{"name":"get_time"}})";
  const std::string prefix = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": ";
  auto c = json::parse(http(port_, "POST", "/v1/chat/completions", chat_body(named, false)).body);
  EXPECT_EQ(c["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(c["choices"][0]["message"]["content"], prefix + "It is sunny.");
  auto s = read_stream(http(port_, "POST", "/v1/chat/completions", chat_body(named, true)));
  EXPECT_TRUE(s.heads.empty());
  EXPECT_EQ(s.content, prefix + "It is sunny.");
  EXPECT_EQ(s.finish, "stop");
}

TEST_F(ServerToolsTest, RequiredChoiceOpensACall) {
  start("{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>");
  auto r =
      http(port_, "POST", "/v1/chat/completions", chat_body(R"(,"tool_choice":"required")", false));
  EXPECT_EQ(prompt_seen(), "user: weather?\ntools: 2\nassistant:<tool_call>\n");
  auto c = json::parse(r.body)["choices"][0];
  EXPECT_EQ(c["finish_reason"], "tool_calls");
  ASSERT_EQ(c["message"]["tool_calls"].size(), 1u);
  EXPECT_EQ(c["message"]["tool_calls"][0]["function"]["name"], "get_time");
  EXPECT_EQ(c["message"]["tool_calls"][0]["function"]["arguments"], "{}");
  auto s = read_stream(
      http(port_, "POST", "/v1/chat/completions", chat_body(R"(,"tool_choice":"required")", true)));
  ASSERT_EQ(s.heads.size(), 1u);
  EXPECT_EQ(s.arguments[0], "{}");
}

TEST_F(ServerToolsTest, AutoAndNoneAppendNothing) {
  start(kWeatherCall);
  auto r =
      http(port_, "POST", "/v1/chat/completions", chat_body(R"(,"tool_choice":"auto")", false));
  EXPECT_EQ(prompt_seen(), "user: weather?\ntools: 2\nassistant:");
  EXPECT_EQ(json::parse(r.body)["choices"][0]["finish_reason"], "tool_calls");
  r = http(port_, "POST", "/v1/chat/completions", chat_body(R"(,"tool_choice":"none")", false));
  EXPECT_EQ(prompt_seen(), "user: weather?\nassistant:");
  auto c = json::parse(r.body)["choices"][0];
  EXPECT_EQ(c["finish_reason"], "stop");
  EXPECT_EQ(c["message"]["content"], kWeatherCall);
}

// A prompt left inside <think> is closed before the forced call.
TEST_F(ServerToolsTest, ForcedChoiceClosesAnOpenThink) {
  ServiceOptions o;
  o.reasoning_parser = "qwen3";
  start("{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>", o);
  auto r = http(port_, "POST", "/v1/chat/completions",
                chat_body(R"(,"tool_choice":"required",
                             "chat_template_kwargs":{"enable_thinking":true})",
                          false));
  EXPECT_EQ(prompt_seen(),
            "user: weather?\ntools: 2\nassistant:<think>\n</think>\n\n<tool_call>\n");
  auto m = json::parse(r.body)["choices"][0]["message"];
  EXPECT_TRUE(m["reasoning_content"].is_null());
  ASSERT_EQ(m["tool_calls"].size(), 1u);
  EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "get_time");
}

}  // namespace
}  // namespace yun::serve
