// ReasoningParser: splits model output into reasoning and content, for
// `--reasoning-parser qwen3` (text between <think> and </think> is reasoning).
//
// Works on streamed text: push() takes each new piece and returns what can be
// emitted now; tag fragments at the end of a piece (e.g. "</thi") are held
// back until the next piece decides them. finish() flushes what was held.
// The output may start with "<think>" or, when the chat template already put
// "<think>" in the prompt, start inside the reasoning (`starts_in_reasoning`).
// Whitespace right after "</think>" is dropped. Concatenating all returned
// reasoning and content gives the output without the tags.
#pragma once

#include <string>
#include <string_view>

namespace yun::serve {

struct ReasoningDelta {
  std::string reasoning;
  std::string content;
};

class ReasoningParser {
 public:
  explicit ReasoningParser(bool starts_in_reasoning = false, std::string open_tag = "<think>",
                           std::string close_tag = "</think>");

  ReasoningDelta push(std::string_view text);
  ReasoningDelta finish();

  // Whole-output convenience: push(text) + finish().
  static ReasoningDelta parse(std::string_view text, bool starts_in_reasoning);
  // True when a rendered prompt ends inside an open <think> block.
  static bool prompt_opens_reasoning(std::string_view prompt);

 private:
  enum class State { kStart, kReasoning, kAfterClose, kContent };
  State state_;
  bool starts_in_reasoning_;
  std::string open_, close_;
  std::string held_;
};

// Length of the longest suffix of `s` that is a proper prefix of `tag`.
size_t partial_tag_suffix(std::string_view s, std::string_view tag);

}  // namespace yun::serve
