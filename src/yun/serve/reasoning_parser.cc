#include "yun/serve/reasoning_parser.h"

#include <algorithm>

namespace yun::serve {

size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
  size_t max = std::min(s.size(), tag.size() - 1);
  for (size_t len = max; len > 0; --len) {
    if (s.substr(s.size() - len) == tag.substr(0, len)) return len;
  }
  return 0;
}

ReasoningParser::ReasoningParser(bool starts_in_reasoning, std::string open_tag,
                                 std::string close_tag)
    : state_(State::kStart),
      starts_in_reasoning_(starts_in_reasoning),
      open_(std::move(open_tag)),
      close_(std::move(close_tag)) {}

ReasoningDelta ReasoningParser::push(std::string_view text) {
  ReasoningDelta out;
  held_.append(text);
  for (;;) {
    switch (state_) {
      case State::kStart: {
        // Skip leading whitespace when looking for the open tag.
        size_t ws = held_.find_first_not_of(" \t\r\n");
        if (ws == std::string::npos) return out;  // only whitespace so far
        std::string_view rest = std::string_view(held_).substr(ws);
        if (rest.size() < open_.size() && open_.compare(0, rest.size(), rest) == 0) {
          return out;  // could still become the open tag
        }
        if (rest.substr(0, open_.size()) == open_) {
          held_.erase(0, ws + open_.size());
          state_ = State::kReasoning;
        } else {
          state_ = starts_in_reasoning_ ? State::kReasoning : State::kContent;
        }
        break;
      }
      case State::kReasoning: {
        size_t pos = held_.find(close_);
        if (pos != std::string::npos) {
          out.reasoning += held_.substr(0, pos);
          held_.erase(0, pos + close_.size());
          state_ = State::kAfterClose;
          break;
        }
        size_t keep = partial_tag_suffix(held_, close_);
        out.reasoning += held_.substr(0, held_.size() - keep);
        held_.erase(0, held_.size() - keep);
        return out;
      }
      case State::kAfterClose: {
        size_t ws = held_.find_first_not_of(" \t\r\n");
        if (ws == std::string::npos) {
          held_.clear();
          return out;
        }
        held_.erase(0, ws);
        state_ = State::kContent;
        break;
      }
      case State::kContent:
        out.content += held_;
        held_.clear();
        return out;
    }
  }
}

ReasoningDelta ReasoningParser::finish() {
  ReasoningDelta out;
  if (held_.empty()) return out;
  if (state_ == State::kReasoning || (state_ == State::kStart && starts_in_reasoning_)) {
    out.reasoning = std::move(held_);
  } else if (state_ != State::kAfterClose) {
    out.content = std::move(held_);
  }
  held_.clear();
  return out;
}

ReasoningDelta ReasoningParser::parse(std::string_view text, bool starts_in_reasoning) {
  ReasoningParser p(starts_in_reasoning);
  ReasoningDelta a = p.push(text);
  ReasoningDelta b = p.finish();
  a.reasoning += b.reasoning;
  a.content += b.content;
  return a;
}

bool ReasoningParser::prompt_opens_reasoning(std::string_view prompt) {
  size_t open = prompt.rfind("<think>");
  if (open == std::string_view::npos) return false;
  return prompt.find("</think>", open) == std::string_view::npos;
}

}  // namespace yun::serve
