// JsonPrefixScanner: follows the text of one JSON object or array as it
// streams in, and says how much of it can still be the start of valid JSON
// and where the value ends. The tool-call parser uses it to stream a call's
// arguments without ever sending bytes that cannot belong to valid JSON.
//
// The syntax is checked as RFC 8259 has it (strings with their escapes and
// no raw control characters, numbers, true/false/null, nesting); UTF-8 and
// \u surrogate pairing are not checked. The value must be an object or an
// array (leading whitespace is allowed), so its end is known at its closing
// bracket without looking further.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace yun::serve {

class JsonPrefixScanner {
 public:
  enum class State {
    kPartial,   // everything so far can start a valid value
    kComplete,  // the value ended (at its closing bracket)
    kError,     // a byte that cannot continue the value was seen
  };

  // Consumes bytes of `text` while they continue a valid value: stops after
  // the top-level closing bracket (state kComplete) or before the first byte
  // that cannot continue it (state kError). Returns the number of bytes
  // consumed. Once the state is not kPartial, consumes nothing.
  size_t feed(std::string_view text);

  State state() const { return state_; }

 private:
  enum class Mode {
    kBegin,         // before the top-level '{' or '['
    kValue,         // a value must come (after ':' or ',' in an array)
    kValueOrClose,  // after '['
    kKeyOrClose,    // after '{'
    kKey,           // after ',' in an object
    kColon,         // after a key
    kCommaOrClose,  // after a value in a container
    kString,
    kEscape,
    kUnicode,  // `hex_left_` hex digits of a \u escape to come
    kNumber,
    kLiteral,  // the rest of true/false/null is `literal_`
  };
  enum class Num { kMinus, kZero, kInt, kDot, kFrac, kExp, kExpSign, kExpDigits };

  // Takes one byte; false when it cannot continue the value.
  bool step(char c);
  bool start_value(char c);
  bool step_number(char c);
  void end_value();

  State state_ = State::kPartial;
  Mode mode_ = Mode::kBegin;
  Num num_ = Num::kInt;
  std::string stack_;  // open containers, '{' or '['
  bool key_ = false;   // the current string is an object key
  int hex_left_ = 0;
  std::string_view literal_;
};

}  // namespace yun::serve
