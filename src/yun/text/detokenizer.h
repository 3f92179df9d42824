// IncrementalDetokenizer: ids in one at a time, text deltas out, for streaming.
// Deltas never split a UTF-8 character (incomplete bytes are held back), and
// their concatenation equals tokenizer.decode(all ids) once finish() is called.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "yun/text/tokenizer.h"

namespace yun {

class IncrementalDetokenizer {
 public:
  IncrementalDetokenizer(std::shared_ptr<const Tokenizer> tok, bool skip_special_tokens);
  // Appends one id; returns the new complete text (possibly empty).
  std::string push(int32_t id);
  // Flushes held-back bytes (as U+FFFD where they never completed).
  std::string finish();
  // All text emitted so far.
  const std::string& text() const { return text_; }

 private:
  std::shared_ptr<const Tokenizer> tok_;
  bool skip_special_;
  std::string pending_;  // bytes not yet emitted (incomplete UTF-8)
  std::string text_;
};

}  // namespace yun
