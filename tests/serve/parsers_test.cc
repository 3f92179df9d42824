// Tests of the reasoning (<think>) parser on canned model output, whole and
// streamed in every split (the tool-call parser: tool_parser_test.cc).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "yun/serve/reasoning_parser.h"

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

}  // namespace
}  // namespace yun::serve
