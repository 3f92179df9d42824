// Response objects and their event stream (serve/responses_format.h): item
// order, the event sequence and its numbering, deltas that concatenate to
// the final texts, and streamed and non-streamed Responses agreeing.
#include "yun/serve/responses_format.h"

#include <gtest/gtest.h>

#include <vector>

namespace yun::serve {
namespace {

using Json = nlohmann::ordered_json;

struct Event {
  std::string type;
  Json data;
};

// Parses "event: T\ndata: J\n\n" frames; checks the event line matches the
// data's type.
std::vector<Event> parse_events(const std::string& sse) {
  std::vector<Event> out;
  size_t pos = 0;
  while (pos < sse.size()) {
    size_t end = sse.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos) << sse.substr(pos);
    if (end == std::string::npos) break;
    std::string frame = sse.substr(pos, end - pos);
    pos = end + 2;
    EXPECT_EQ(frame.rfind("event: ", 0), 0u) << frame;
    size_t nl = frame.find('\n');
    std::string type = frame.substr(7, nl - 7);
    EXPECT_EQ(frame.substr(nl + 1, 6), "data: ") << frame;
    Json j = Json::parse(frame.substr(nl + 7), nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << frame;
    EXPECT_EQ(j["type"], type);
    out.push_back({type, j});
  }
  return out;
}

ResponsesInfo info() {
  return ResponsesInfo{"resp_1", 1700000000, "tiny",
                       Json{{"instructions", nullptr}, {"store", false}, {"tools", Json::array()}}};
}

// Runs a whole stream: begin, the pieces, end.
std::vector<Event> run(const std::vector<std::string>& pieces, ReplyParsing how,
                       FinishReason finish = FinishReason::kStop) {
  ResponsesStream s(info(), how);
  std::string sse = s.begin();
  for (const auto& p : pieces) sse += s.push(p);
  ResponsesUsage u{10, 2, 5, 1};
  sse += s.end(finish, u);
  auto events = parse_events(sse);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].data["sequence_number"], i);
  return events;
}

std::vector<std::string> types(const std::vector<Event>& ev) {
  std::vector<std::string> t;
  for (const auto& e : ev) t.push_back(e.type);
  return t;
}

std::string concat(const std::vector<Event>& ev, const std::string& type) {
  std::string s;
  for (const auto& e : ev) {
    if (e.type == type) s += e.data["delta"].get<std::string>();
  }
  return s;
}

TEST(ResponsesFormat, TextEventSequence) {
  auto ev = run({"Hel", "lo", " world"}, {});
  EXPECT_EQ(types(ev), (std::vector<std::string>{
                           "response.created", "response.in_progress", "response.output_item.added",
                           "response.content_part.added", "response.output_text.delta",
                           "response.output_text.delta", "response.output_text.delta",
                           "response.output_text.done", "response.content_part.done",
                           "response.output_item.done", "response.completed"}));
  EXPECT_EQ(ev[0].data["response"]["id"], "resp_1");
  EXPECT_EQ(ev[0].data["response"]["object"], "response");
  EXPECT_EQ(ev[0].data["response"]["status"], "in_progress");
  EXPECT_EQ(ev[0].data["response"]["output"], Json::array());
  EXPECT_EQ(concat(ev, "response.output_text.delta"), "Hello world");
  EXPECT_EQ(ev[7].data["text"], "Hello world");
  const Json& item = ev[2].data["item"];
  EXPECT_EQ(item["type"], "message");
  EXPECT_EQ(item["role"], "assistant");
  for (size_t i = 3; i <= 9; ++i) {
    if (ev[i].data.contains("item_id")) EXPECT_EQ(ev[i].data["item_id"], item["id"]);
    EXPECT_EQ(ev[i].data["output_index"], 0);
  }
  const Json& done = ev.back().data["response"];
  EXPECT_EQ(done["status"], "completed");
  EXPECT_TRUE(done["incomplete_details"].is_null());
  EXPECT_EQ(done["model"], "tiny");
  EXPECT_EQ(done["store"], false);  // the echo
  ASSERT_EQ(done["output"].size(), 1u);
  EXPECT_EQ(done["output"][0]["content"][0],
            Json({{"type", "output_text"}, {"text", "Hello world"}, {"annotations", Json::array()},
                  {"logprobs", Json::array()}}));
  EXPECT_EQ(done["usage"], Json({{"input_tokens", 10},
                                 {"input_tokens_details", {{"cached_tokens", 2}}},
                                 {"output_tokens", 5},
                                 {"output_tokens_details", {{"reasoning_tokens", 1}}},
                                 {"total_tokens", 15}}));
}

TEST(ResponsesFormat, ReasoningItemThenMessage) {
  ReplyParsing how;
  how.reasoning = true;
  auto ev = run({"<thi", "nk>because", " so</think>\n\n", "Hi", "!"}, how);
  EXPECT_EQ(types(ev), (std::vector<std::string>{
                           "response.created", "response.in_progress", "response.output_item.added",
                           "response.reasoning_summary_part.added",
                           "response.reasoning_summary_text.delta",
                           "response.reasoning_summary_text.delta",
                           "response.reasoning_summary_text.done",
                           "response.reasoning_summary_part.done", "response.output_item.done",
                           "response.output_item.added", "response.content_part.added",
                           "response.output_text.delta", "response.output_text.delta",
                           "response.output_text.done", "response.content_part.done",
                           "response.output_item.done", "response.completed"}));
  EXPECT_EQ(concat(ev, "response.reasoning_summary_text.delta"), "because so");
  EXPECT_EQ(concat(ev, "response.output_text.delta"), "Hi!");
  EXPECT_EQ(ev[9].data["output_index"], 1);
  const Json& out = ev.back().data["response"]["output"];
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["type"], "reasoning");
  EXPECT_EQ(out[0]["summary"], Json::array({{{"type", "summary_text"}, {"text", "because so"}}}));
  EXPECT_EQ(out[1]["content"][0]["text"], "Hi!");
}

TEST(ResponsesFormat, ToolCallsAreFunctionCallItems) {
  ReplyParsing how;
  how.tools = true;
  auto ev = run({"\n<tool_call>\n{\"name\": \"get_weather\", \"argu", "ments\": {\"city\": ",
                 "\"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n"
                 "</tool_call>"},
                how);
  std::vector<std::string> t = types(ev);
  EXPECT_EQ(std::count(t.begin(), t.end(), "response.content_part.added"), 0) << "no message item";
  const Json& out = ev.back().data["response"]["output"];
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["type"], "function_call");
  EXPECT_EQ(out[0]["name"], "get_weather");
  EXPECT_EQ(out[0]["arguments"], "{\"city\": \"Paris\"}");
  EXPECT_EQ(out[0]["status"], "completed");
  EXPECT_EQ(out[0]["call_id"].get<std::string>().empty(), false);
  EXPECT_EQ(out[1]["name"], "f");
  EXPECT_EQ(out[1]["arguments"], "{}");
  // Per item: added (arguments ""), deltas, done with the whole arguments.
  std::string args;
  for (const auto& e : ev) {
    if (e.type == "response.output_item.added") {
      EXPECT_EQ(e.data["item"]["arguments"], "");
      EXPECT_EQ(e.data["item"]["status"], "in_progress");
      args.clear();
    }
    if (e.type == "response.function_call_arguments.delta") args += e.data["delta"].get<std::string>();
    if (e.type == "response.function_call_arguments.done") {
      EXPECT_EQ(e.data["arguments"], args);
      EXPECT_EQ(e.data["arguments"], out[e.data["output_index"].get<int>()]["arguments"]);
    }
  }
}

TEST(ResponsesFormat, LengthIsIncomplete) {
  auto ev = run({"abc"}, {}, FinishReason::kLength);
  EXPECT_EQ(ev.back().type, "response.incomplete");
  const Json& r = ev.back().data["response"];
  EXPECT_EQ(r["status"], "incomplete");
  EXPECT_EQ(r["incomplete_details"], Json({{"reason", "max_output_tokens"}}));
  EXPECT_EQ(r["output"][0]["status"], "incomplete");
}

TEST(ResponsesFormat, EmptyReplyStillHasAMessage) {
  auto ev = run({}, {});
  const Json& out = ev.back().data["response"]["output"];
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["content"][0]["text"], "");
}

TEST(ResponsesFormat, FailedHoldsTheItemsSoFar) {
  ResponsesStream s(info(), {});
  std::string sse = s.begin() + s.push("par");
  sse += s.fail(server_error("engine failed"));
  auto ev = parse_events(sse);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().type, "response.failed");
  const Json& r = ev.back().data["response"];
  EXPECT_EQ(r["status"], "failed");
  EXPECT_EQ(r["error"]["message"], "engine failed");
  EXPECT_TRUE(r["error"]["code"].is_string());
  EXPECT_EQ(r["output"][0]["content"][0]["text"], "par");
}

TEST(ResponsesFormat, BodyMatchesTheStream) {
  ReplyParsing how;
  how.reasoning = true;
  how.tools = true;
  std::string text = "<think>hmm</think>\n\nLet me check.<tool_call>\n{\"name\": \"f\", \"arguments\": "
                     "{\"x\": 1}}\n</tool_call>";
  ResponsesUsage u{3, 0, 9, 2};
  Json body = responses_body(info(), split_reply(text, how), FinishReason::kStop, u);
  auto ev = run({text.substr(0, 9), text.substr(9, 20), text.substr(29)}, how);
  const Json& streamed = ev.back().data["response"];
  EXPECT_EQ(body["object"], "response");
  EXPECT_EQ(body["status"], "completed");
  ASSERT_EQ(body["output"].size(), streamed["output"].size());
  for (size_t i = 0; i < body["output"].size(); ++i) {
    Json a = body["output"][i], b = streamed["output"][i];
    a.erase("id");
    b.erase("id");
    if (a["type"] == "function_call") {
      a.erase("call_id");
      b.erase("call_id");
    }
    EXPECT_EQ(a, b) << i;
  }
  EXPECT_EQ(body["output"][0]["type"], "reasoning");
  EXPECT_EQ(body["output"][1]["content"][0]["text"], "Let me check.");
  EXPECT_EQ(body["output"][2]["arguments"], "{\"x\": 1}");
  EXPECT_EQ(body["usage"]["total_tokens"], 12);
  EXPECT_EQ(body["id"].get<std::string>().rfind("resp_", 0), 0u);
  EXPECT_EQ(make_response_id().rfind("resp_", 0), 0u);
  EXPECT_EQ(make_response_id("fc").rfind("fc_", 0), 0u);
}

}  // namespace
}  // namespace yun::serve
