// The Response objects and event stream of ResponsesOutput
// (serve/responses_format.h), fed the chat-shaped pieces a GenerationJob
// hands a JobOutput: item order, the event sequence and its numbering,
// deltas that concatenate to the final texts, and streamed and non-streamed
// Responses agreeing.
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

JobOutcome outcome(const std::string& finish, int64_t in = 10, int64_t cached = 2, int64_t out = 5) {
  JobOutcome o;
  o.finish_reason = finish;
  o.prompt_tokens = in;
  o.cached_prompt_tokens = cached;
  o.completion_tokens = out;
  return o;
}

// Chat stream choices, as GenerationJob writes them.
Json delta(Json d) { return Json{{"index", 0}, {"delta", std::move(d)}, {"finish_reason", nullptr}}; }
Json text(const std::string& t) { return delta({{"content", t}}); }
Json think(const std::string& t) { return delta({{"reasoning_content", t}}); }
Json call_head(int i, const std::string& id, const std::string& name) {
  return delta({{"tool_calls", Json::array({{{"index", i}, {"id", id}, {"type", "function"},
                                             {"function", {{"name", name}, {"arguments", ""}}}}})}});
}
Json call_args(int i, const std::string& a) {
  return delta({{"tool_calls", Json::array({{{"index", i}, {"function", {{"arguments", a}}}}})}});
}

// Runs a whole stream: begin, the role chunk, the choices, a last empty
// choice with the finish reason, end.
std::vector<Event> run(const std::vector<Json>& choices, const std::string& finish = "stop",
                       std::shared_ptr<const Tokenizer> tok = nullptr) {
  ResponsesOutput s(info(), std::move(tok));
  std::string sse = s.stream_begin();
  sse += s.stream_chunk(delta({{"role", "assistant"}, {"content", ""}}));
  for (const auto& c : choices) sse += s.stream_chunk(c);
  sse += s.stream_chunk(Json{{"index", 0}, {"delta", Json::object()}, {"finish_reason", finish}});
  sse += s.stream_end(outcome(finish));
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
  auto ev = run({text("Hel"), text("lo"), text(" world")});
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
                                 {"output_tokens_details", {{"reasoning_tokens", 0}}},
                                 {"total_tokens", 15}}));
}

TEST(ResponsesFormat, ReasoningItemThenMessage) {
  auto ev = run({think("because"), think(" so"), text("Hi"), text("!")});
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
  auto ev = run({text("\n"), call_head(0, "call_a", "get_weather"), call_args(0, "{\"city\": "),
                 call_args(0, "\"Paris\"}"), text("\n"), call_head(1, "call_b", "f"),
                 call_args(1, "{}")},
                "tool_calls");
  std::vector<std::string> t = types(ev);
  EXPECT_EQ(std::count(t.begin(), t.end(), "response.content_part.added"), 0) << "no message item";
  const Json& out = ev.back().data["response"]["output"];
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["type"], "function_call");
  EXPECT_EQ(out[0]["name"], "get_weather");
  EXPECT_EQ(out[0]["arguments"], "{\"city\": \"Paris\"}");
  EXPECT_EQ(out[0]["status"], "completed");
  EXPECT_EQ(out[0]["call_id"], "call_a");
  EXPECT_EQ(out[1]["call_id"], "call_b");
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
  auto ev = run({text("abc")}, "length");
  EXPECT_EQ(ev.back().type, "response.incomplete");
  const Json& r = ev.back().data["response"];
  EXPECT_EQ(r["status"], "incomplete");
  EXPECT_EQ(r["incomplete_details"], Json({{"reason", "max_output_tokens"}}));
  EXPECT_EQ(r["output"][0]["status"], "incomplete");
}

TEST(ResponsesFormat, EmptyReplyStillHasAMessage) {
  auto ev = run({});
  const Json& out = ev.back().data["response"]["output"];
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["content"][0]["text"], "");
}

TEST(ResponsesFormat, FailedHoldsTheItemsSoFar) {
  ResponsesOutput s(info(), nullptr);
  std::string sse = s.stream_begin() + s.stream_chunk(text("par"));
  sse += s.stream_error(server_error("engine failed"));
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
  // The chat.completion body of the same reply.
  Json body_in = {{"id", "chatcmpl-1"},
                  {"choices", Json::array({{{"index", 0},
                                            {"message", {{"role", "assistant"},
                                                         {"content", "Let me check."},
                                                         {"reasoning_content", "hmm"},
                                                         {"tool_calls", Json::array({{{"id", "call_x"},
                                                                                      {"type", "function"},
                                                                                      {"function", {{"name", "f"}, {"arguments", "{\"x\": 1}"}}}}})}}},
                                            {"finish_reason", "tool_calls"}}})}};
  ResponsesOutput whole(info(), nullptr);
  Json body = Json::parse(whole.body(body_in, outcome("stop", 3, 0, 9)));
  auto ev = run({think("hm"), think("m"), text("Let me"), text(" check."), call_head(0, "call_x", "f"),
                 call_args(0, "{\"x\": 1}")},
                "stop");
  const Json& streamed = ev.back().data["response"];
  EXPECT_EQ(body["object"], "response");
  EXPECT_EQ(body["status"], "completed");
  ASSERT_EQ(body["output"].size(), 3u) << body;
  ASSERT_EQ(body["output"].size(), streamed["output"].size());
  for (size_t i = 0; i < body["output"].size(); ++i) {
    Json a = body["output"][i], b = streamed["output"][i];
    a.erase("id");
    b.erase("id");
    EXPECT_EQ(a, b) << i;
  }
  EXPECT_EQ(body["output"][0]["type"], "reasoning");
  EXPECT_EQ(body["output"][1]["content"][0]["text"], "Let me check.");
  EXPECT_EQ(body["output"][2]["arguments"], "{\"x\": 1}");
  EXPECT_EQ(body["output"][2]["call_id"], "call_x");
  EXPECT_EQ(body["usage"]["total_tokens"], 12);
  EXPECT_EQ(body["id"], "resp_1");
  EXPECT_EQ(make_response_id().rfind("resp_", 0), 0u);
  EXPECT_EQ(make_response_id("fc").rfind("fc_", 0), 0u);
  // A length-cut, content-only body.
  Json cut = body_in;
  cut["choices"][0]["finish_reason"] = "length";
  cut["choices"][0]["message"] = {{"role", "assistant"}, {"content", "abc"}, {"reasoning_content", nullptr}};
  Json b2 = Json::parse(whole.body(cut, outcome("length")));
  EXPECT_EQ(b2["status"], "incomplete");
  EXPECT_EQ(b2["incomplete_details"]["reason"], "max_output_tokens");
  ASSERT_EQ(b2["output"].size(), 1u);
  EXPECT_EQ(b2["output"][0]["status"], "incomplete");
}

}  // namespace
}  // namespace yun::serve
