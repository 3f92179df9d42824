// Tests of the tool-call parsers on canned model output: parse_tool_calls()
// on whole outputs, and StreamingToolParser streamed in every split (head
// delta first, argument fragments that concatenate to the non-streamed
// arguments, numbering, malformed blocks, forced reply prefixes).
// Run: build/tests/yun_serve_tests --gtest_filter='*ToolParser*'
#include "yun/serve/tool_parser.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "yun/serve/tool_stream_parser.h"

namespace yun::serve {
namespace {

TEST(ToolParser, ParsesCalls) {
  auto r = parse_tool_calls(
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
      "\"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n"
      "</tool_call>");
  EXPECT_EQ(r.content, "Let me check.");
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[0].name, "get_weather");
  EXPECT_EQ(r.calls[0].arguments, "{\"city\": \"Paris\"}");  // as the model wrote it
  EXPECT_EQ(r.calls[1].name, "now");
  EXPECT_EQ(r.calls[1].arguments, "{}");
  EXPECT_EQ(r.calls[0].id.rfind("chatcmpl-tool-", 0), 0u);
  EXPECT_NE(r.calls[0].id, r.calls[1].id);
}

TEST(ToolParser, OtherLayouts) {
  auto r = parse_tool_calls(R"(<tool_call>{"arguments": {"a":  1}, "name": "f"}</tool_call>)");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].arguments, R"({"a":1})");  // not the usual layout: compact dump
  r = parse_tool_calls(R"(<tool_call>{"name": "f", "arguments": "{\"a\": 1}"}</tool_call>)");
  EXPECT_EQ(r.calls[0].arguments, R"({"a": 1})");
  r = parse_tool_calls(R"(<tool_call>{"name": "f"}</tool_call>)");
  EXPECT_EQ(r.calls[0].arguments, "{}");
  r = parse_tool_calls(R"(<tool_call>{"name": "f", "parameters": {"x": [1]}}</tool_call>)");
  EXPECT_EQ(r.calls[0].arguments, R"({"x": [1]})");
}

TEST(ToolParser, MalformedIsContent) {
  std::string text = "<tool_call>\n{\"name\": \"f\", \"arguments\": {oops}\n</tool_call>";
  auto r = parse_tool_calls(text);
  EXPECT_TRUE(r.calls.empty());
  EXPECT_EQ(r.content, text);
  r = parse_tool_calls("<tool_call>{\"arguments\": {}}</tool_call>");
  EXPECT_TRUE(r.calls.empty());
}

TEST(ToolParser, NoCalls) {
  auto r = parse_tool_calls("plain answer");
  EXPECT_TRUE(r.calls.empty());
  EXPECT_EQ(r.content, "plain answer");
}

TEST(ToolParser, MatchesHead) {
  using M = ToolCallHead::Match;
  std::string body = "\n{\"name\": \"get_\\\"w\", \"arguments\": {\"a\": 1}}";
  size_t value = body.find("{\"a\"");
  for (size_t n = 0; n <= body.size(); ++n) {
    auto h = match_tool_call_head(std::string_view(body).substr(0, n));
    EXPECT_EQ(h.match, n <= value ? M::kNeedMore : M::kYes) << n;
    if (h.match == M::kYes) {
      EXPECT_EQ(h.name, "get_\"w");
      EXPECT_EQ(h.value_pos, value);
    }
  }
  EXPECT_EQ(match_tool_call_head("{\"arguments\": {}, \"name\": \"f\"}").match, M::kNo);
  EXPECT_EQ(match_tool_call_head("{\"name\": \"f\"}").match, M::kNo);
  EXPECT_EQ(match_tool_call_head("{\"name\": \"f\", \"param").match, M::kNeedMore);
  EXPECT_EQ(match_tool_call_head("{\"name\": \"f\", \"parameters\": []").match, M::kYes);
  EXPECT_EQ(match_tool_call_head("not json").match, M::kNo);
}

// What a stream of deltas adds up to, checking the delta protocol: per call
// one head (id + name, no arguments) before any fragment, indexes in order.
struct Streamed {
  std::string content;
  std::vector<ToolCall> calls;  // arguments: the concatenated fragments
  int fragments = 0;
};

void take(Streamed& s, const ToolStreamDelta& d) {
  s.content += d.content;
  for (const auto& c : d.calls) {
    if (!c.id.empty()) {
      EXPECT_EQ(c.index, static_cast<int>(s.calls.size()));
      EXPECT_FALSE(c.name.empty());
      EXPECT_TRUE(c.arguments.empty());
      s.calls.push_back(ToolCall{c.id, c.name, ""});
      continue;
    }
    ASSERT_EQ(c.index + 1, static_cast<int>(s.calls.size())) << "a fragment before its head";
    EXPECT_TRUE(c.name.empty());
    EXPECT_FALSE(c.arguments.empty());
    s.calls.back().arguments += c.arguments;
    ++s.fragments;
  }
}

Streamed stream_in_pieces(const std::string& text, size_t piece, std::string_view prefix = {}) {
  StreamingToolParser p(prefix);
  Streamed s;
  for (size_t i = 0; i < text.size(); i += piece) take(s, p.push(text.substr(i, piece)));
  take(s, p.finish());
  EXPECT_EQ(p.num_calls(), static_cast<int>(s.calls.size()));
  return s;
}

// Streams `text` in every split and compares with parse_tool_calls().
void expect_same_as_whole(const std::string& text, size_t num_calls) {
  auto whole = parse_tool_calls(text);
  ASSERT_EQ(whole.calls.size(), num_calls);
  for (size_t piece = 1; piece <= text.size(); ++piece) {
    auto s = stream_in_pieces(text, piece);
    ASSERT_EQ(s.calls.size(), num_calls) << piece;
    for (size_t i = 0; i < num_calls; ++i) {
      EXPECT_EQ(s.calls[i].name, whole.calls[i].name) << piece;
      EXPECT_EQ(s.calls[i].arguments, whole.calls[i].arguments) << piece;
      EXPECT_FALSE(nlohmann::json::parse(s.calls[i].arguments, nullptr, false).is_discarded());
    }
  }
}

TEST(StreamingToolParser, EverySplitMatchesWhole) {
  const std::string text =
      "Sure <tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": [1, 2.5e3], \"html\": "
      "\"<b>}\\\"</b>\", \"n\": null}}\n</tool_call>";
  expect_same_as_whole(text, 1);
  for (size_t piece = 1; piece <= text.size(); ++piece) {
    EXPECT_EQ(stream_in_pieces(text, piece).content, "Sure ") << piece;
  }
}

TEST(StreamingToolParser, TwoCallsAreIndexed) {
  const std::string text =
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
      "</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": "
      "\"CET\"}}\n</tool_call>";
  expect_same_as_whole(text, 2);
  auto s = stream_in_pieces(text, 1);
  EXPECT_EQ(s.calls[0].name, "get_weather");
  EXPECT_EQ(s.calls[1].name, "get_time");
  EXPECT_NE(s.calls[0].id, s.calls[1].id);
  EXPECT_EQ(s.content, "\n");  // between the blocks (the non-streamed parser drops it)
}

TEST(StreamingToolParser, ArgumentsStreamBeforeTheBlockCloses) {
  StreamingToolParser p;
  auto d = p.push("<tool_call>\n{\"name\": \"f\", \"argu");
  EXPECT_TRUE(d.calls.empty());
  d = p.push("ments\": {\"city\": \"Pa");
  ASSERT_EQ(d.calls.size(), 2u);
  EXPECT_EQ(d.calls[0].name, "f");
  EXPECT_EQ(d.calls[1].arguments, "{\"city\": \"Pa");
  d = p.push("ris\"}}\n</tool");
  ASSERT_EQ(d.calls.size(), 1u);
  EXPECT_EQ(d.calls[0].arguments, "ris\"}");  // the outer '}' is not an argument
  d = p.push("_call> done");
  EXPECT_TRUE(d.calls.empty());
  EXPECT_EQ(d.content, " done");
}

TEST(StreamingToolParser, OtherLayoutsAreSentWholeAtClose) {
  expect_same_as_whole(R"(<tool_call>{"arguments": {"a": 1}, "name": "f"}</tool_call>)", 1);
  expect_same_as_whole(R"(<tool_call>{"name": "f", "arguments": "{\"a\": 1}"}</tool_call>)", 1);
  expect_same_as_whole(R"(<tool_call>{"name": "f"}</tool_call>)", 1);
}

TEST(StreamingToolParser, MalformedBeforeCommitPassesThrough) {
  for (std::string text : {"<tool_call>not json</tool_call> after",
                           "<tool_call>{\"name\": \"f\", \"arguments\": oops}</tool_call>",
                           "<tool_call>{\"arguments\": {}}</tool_call>", "<tool_call>\n{\"na"}) {
    for (size_t piece = 1; piece <= text.size(); ++piece) {
      auto s = stream_in_pieces(text, piece);
      EXPECT_EQ(s.content, text) << piece;
      EXPECT_TRUE(s.calls.empty());
    }
  }
}

TEST(StreamingToolParser, NonJsonBlockIsContentAtOnce) {
  StreamingToolParser p;
  auto d = p.push("<tool_call>\n{\"name\": ");
  EXPECT_EQ(d.content, "");
  d = p.push("f(x)");  // cannot continue a JSON object
  EXPECT_EQ(d.content, "<tool_call>\n{\"name\": f(x)");
  d = p.push(" more</tool_call>after");
  EXPECT_EQ(d.content, " more</tool_call>after");
  d = p.push("<tool_call>{\"name\": \"g\"} x");  // text after the object
  EXPECT_EQ(d.content, "<tool_call>{\"name\": \"g\"} x");
  EXPECT_EQ(p.num_calls(), 0);
}

// Once the arguments started streaming the call is kept: only the valid JSON
// prefix was sent, the rest of the block is dropped, text after it is content.
TEST(StreamingToolParser, MalformedAfterCommitKeepsTheCall) {
  const std::string text =
      "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": oops}}\n</tool_call> after";
  EXPECT_TRUE(parse_tool_calls(text).calls.empty());  // non-streamed: all content
  for (size_t piece = 1; piece <= text.size(); ++piece) {
    auto s = stream_in_pieces(text, piece);
    ASSERT_EQ(s.calls.size(), 1u) << piece;
    EXPECT_EQ(s.calls[0].name, "f");
    EXPECT_EQ(s.calls[0].arguments, "{\"a\": ");
    EXPECT_EQ(s.content, " after");
  }
  // Junk after complete arguments, and an output cut inside them.
  auto s = stream_in_pieces("<tool_call>{\"name\": \"f\", \"arguments\": {}, x}</tool_call>", 3);
  ASSERT_EQ(s.calls.size(), 1u);
  EXPECT_EQ(s.calls[0].arguments, "{}");
  s = stream_in_pieces("<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": [1, ", 2);
  ASSERT_EQ(s.calls.size(), 1u);
  EXPECT_EQ(s.calls[0].arguments, "{\"a\": [1, ");
  EXPECT_EQ(s.content, "");
}

// Random outputs made of valid, malformed, unclosed and other-layout blocks
// and content, cut at random places: the streamed result never depends on the
// cuts, and equals the non-streamed calls whenever those exist.
TEST(StreamingToolParser, ResultDoesNotDependOnTheSplit) {
  const std::vector<std::string> parts = {
      "Sure. ",
      "\n",
      "<tool_",
      "</tool_call>",
      "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": [1, \"x}\\\"\"]}}\n</tool_call>",
      "<tool_call>{\"arguments\": {}, \"name\": \"g\"}</tool_call>",
      "<tool_call>{\"name\": \"h\", \"arguments\": {\"a\": oops}}</tool_call>",
      "<tool_call>{\"name\": \"i\", \"arguments\": {}} junk</tool_call>",
      "<tool_call>\n{\"name\": \"k\", \"arguments\": {\"b\": 1",
      "<tool_call>not json</tool_call>",
  };
  std::mt19937 rng(7);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text;
    for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) text += parts[rng() % parts.size()];
    Streamed ref = stream_in_pieces(text, text.size());
    StreamingToolParser p;
    Streamed s;
    for (size_t i = 0; i < text.size();) {
      size_t n = 1 + rng() % 12;
      take(s, p.push(text.substr(i, n)));
      i += n;
    }
    take(s, p.finish());
    ASSERT_EQ(s.content, ref.content) << text;
    ASSERT_EQ(s.calls.size(), ref.calls.size()) << text;
    for (size_t c = 0; c < s.calls.size(); ++c) {
      EXPECT_EQ(s.calls[c].name, ref.calls[c].name) << text;
      EXPECT_EQ(s.calls[c].arguments, ref.calls[c].arguments) << text;
    }
    auto whole = parse_tool_calls(text);
    if (whole.calls.empty()) continue;
    ASSERT_EQ(s.calls.size(), whole.calls.size()) << text;
    for (size_t c = 0; c < s.calls.size(); ++c) {
      EXPECT_EQ(s.calls[c].name, whole.calls[c].name) << text;
      EXPECT_EQ(s.calls[c].arguments, whole.calls[c].arguments) << text;
    }
  }
}

TEST(StreamingToolParser, ForcedPrefixes) {
  const std::string named = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ";
  const std::string out = "{\"city\": \"Paris\"}}\n</tool_call>";
  auto whole = parse_tool_calls(named + out);
  ASSERT_EQ(whole.calls.size(), 1u);
  for (size_t piece = 1; piece <= out.size(); ++piece) {
    auto s = stream_in_pieces(out, piece, named);
    ASSERT_EQ(s.calls.size(), 1u);
    EXPECT_EQ(s.calls[0].name, "get_weather");
    EXPECT_EQ(s.calls[0].arguments, whole.calls[0].arguments);
    EXPECT_EQ(s.content, "");
  }
  // Arguments the model did not write as JSON: content, prefix included.
  auto s = stream_in_pieces("sunny", 2, named);
  EXPECT_TRUE(s.calls.empty());
  EXPECT_EQ(s.content, named + "sunny");
  // "required": the model writes the whole call.
  s = stream_in_pieces("{\"name\": \"f\", \"arguments\": {}}\n</tool_call>", 1, "<tool_call>\n");
  ASSERT_EQ(s.calls.size(), 1u);
  EXPECT_EQ(s.calls[0].arguments, "{}");
}

}  // namespace
}  // namespace yun::serve
