// Tests of the reasoning (<think>) and tool-call (<tool_call>) parsers on
// canned model output, whole and streamed in every split.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "yun/serve/reasoning_parser.h"
#include "yun/serve/tool_parser.h"

namespace yun::serve {
namespace {

ReasoningDelta stream_all(const std::string& text, bool starts, size_t piece) {
  ReasoningParser p(starts);
  ReasoningDelta all;
  for (size_t i = 0; i < text.size(); i += piece) {
    auto d = p.push(text.substr(i, piece));
    all.reasoning += d.reasoning;
    all.content += d.content;
  }
  auto d = p.finish();
  all.reasoning += d.reasoning;
  all.content += d.content;
  return all;
}

TEST(ReasoningParser, SplitsThink) {
  auto d = ReasoningParser::parse("<think>\nLet me think.\n</think>\n\nHello!", false);
  EXPECT_EQ(d.reasoning, "\nLet me think.\n");
  EXPECT_EQ(d.content, "Hello!");
}

TEST(ReasoningParser, NoThinkIsContent) {
  auto d = ReasoningParser::parse("Just an answer.", false);
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.content, "Just an answer.");
}

TEST(ReasoningParser, PromptOpenedThink) {
  EXPECT_TRUE(ReasoningParser::prompt_opens_reasoning("<|im_start|>assistant\n<think>\n"));
  EXPECT_FALSE(ReasoningParser::prompt_opens_reasoning("<think>\n\n</think>\n\n"));
  auto d = ReasoningParser::parse("hmm, ok</think>The answer", true);
  EXPECT_EQ(d.reasoning, "hmm, ok");
  EXPECT_EQ(d.content, "The answer");
}

TEST(ReasoningParser, UnclosedThinkIsReasoning) {
  auto d = ReasoningParser::parse("<think>still going", false);
  EXPECT_EQ(d.reasoning, "still going");
  EXPECT_EQ(d.content, "");
}

TEST(ReasoningParser, StreamingEverySplit) {
  const std::string text = "<think>abc </thin k</think>\n\nfinal <think> text";
  auto whole = ReasoningParser::parse(text, false);
  for (size_t piece = 1; piece <= text.size(); ++piece) {
    auto s = stream_all(text, false, piece);
    EXPECT_EQ(s.reasoning, whole.reasoning) << piece;
    EXPECT_EQ(s.content, whole.content) << piece;
  }
  EXPECT_EQ(whole.reasoning, "abc </thin k");
  EXPECT_EQ(whole.content, "final <think> text");
}

TEST(ReasoningParser, HoldsBackPartialTag) {
  ReasoningParser p(false);
  auto d = p.push("<thi");
  EXPECT_EQ(d.content + d.reasoning, "");
  d = p.push("nk>abc</th");
  EXPECT_EQ(d.reasoning, "abc");
  d = p.push("ink>ok");
  EXPECT_EQ(d.content, "ok");
}

TEST(ToolParser, ParsesCalls) {
  auto r = parse_tool_calls(
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
      "\"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n"
      "</tool_call>");
  EXPECT_EQ(r.content, "Let me check.");
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[0].name, "get_weather");
  EXPECT_EQ(nlohmann::json::parse(r.calls[0].arguments)["city"], "Paris");
  EXPECT_EQ(r.calls[1].name, "now");
  EXPECT_EQ(r.calls[0].id.rfind("chatcmpl-tool-", 0), 0u);
  EXPECT_NE(r.calls[0].id, r.calls[1].id);
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

TEST(StreamingToolParser, EverySplit) {
  const std::string text =
      "Sure <tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": [1, 2]}}\n</tool_call>";
  for (size_t piece = 1; piece <= text.size(); ++piece) {
    StreamingToolParser p;
    std::string content, args, name, id;
    int heads = 0;
    auto take = [&](const ToolStreamDelta& d) {
      content += d.content;
      for (const auto& c : d.calls) {
        EXPECT_EQ(c.index, 0);
        if (!c.id.empty()) {
          ++heads;
          id = c.id;
          name = c.name;
          EXPECT_TRUE(args.empty());  // id + name come first
        }
        args += c.arguments;
      }
    };
    for (size_t i = 0; i < text.size(); i += piece) take(p.push(text.substr(i, piece)));
    take(p.finish());
    EXPECT_EQ(content, "Sure ") << piece;
    EXPECT_EQ(heads, 1);
    EXPECT_EQ(name, "f");
    EXPECT_EQ(nlohmann::json::parse(args)["a"][1], 2);
    EXPECT_EQ(p.num_calls(), 1);
  }
}

TEST(StreamingToolParser, MalformedPassesThrough) {
  StreamingToolParser p;
  std::string text = "<tool_call>not json</tool_call> after";
  auto d = p.push(text);
  auto f = p.finish();
  EXPECT_EQ(d.content + f.content, text);
  EXPECT_EQ(p.num_calls(), 0);
}

}  // namespace
}  // namespace yun::serve
