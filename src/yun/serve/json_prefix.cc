#include "yun/serve/json_prefix.h"

namespace yun::serve {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

size_t JsonPrefixScanner::feed(std::string_view text) {
  size_t n = 0;
  while (n < text.size() && state_ == State::kPartial) {
    if (!step(text[n])) {
      state_ = State::kError;
      break;
    }
    ++n;
  }
  return n;
}

void JsonPrefixScanner::end_value() {
  mode_ = Mode::kCommaOrClose;
  if (stack_.empty()) state_ = State::kComplete;
}

bool JsonPrefixScanner::start_value(char c) {
  switch (c) {
    case '{':
      stack_ += '{';
      mode_ = Mode::kKeyOrClose;
      return true;
    case '[':
      stack_ += '[';
      mode_ = Mode::kValueOrClose;
      return true;
    case '"':
      key_ = false;
      mode_ = Mode::kString;
      return true;
    case 't':
      literal_ = "rue";
      mode_ = Mode::kLiteral;
      return true;
    case 'f':
      literal_ = "alse";
      mode_ = Mode::kLiteral;
      return true;
    case 'n':
      literal_ = "ull";
      mode_ = Mode::kLiteral;
      return true;
    case '-':
      num_ = Num::kMinus;
      mode_ = Mode::kNumber;
      return true;
    default:
      if (!is_digit(c)) return false;
      num_ = c == '0' ? Num::kZero : Num::kInt;
      mode_ = Mode::kNumber;
      return true;
  }
}

// True when `c` continues the number.
bool JsonPrefixScanner::step_number(char c) {
  bool digit = is_digit(c);
  bool exp = c == 'e' || c == 'E';
  switch (num_) {
    case Num::kMinus:
      if (digit) num_ = c == '0' ? Num::kZero : Num::kInt;
      return digit;
    case Num::kZero:
    case Num::kInt:
      if (digit && num_ == Num::kInt) return true;
      if (c == '.') num_ = Num::kDot;
      if (exp) num_ = Num::kExp;
      return c == '.' || exp;
    case Num::kDot:
    case Num::kFrac:
      if (digit) num_ = Num::kFrac;
      if (exp && num_ == Num::kFrac) {
        num_ = Num::kExp;
        return true;
      }
      return digit;
    case Num::kExp:
      if (c == '+' || c == '-') {
        num_ = Num::kExpSign;
        return true;
      }
      [[fallthrough]];
    case Num::kExpSign:
    case Num::kExpDigits:
      if (digit) num_ = Num::kExpDigits;
      return digit;
  }
  return false;
}

bool JsonPrefixScanner::step(char c) {
  switch (mode_) {
    case Mode::kString:
      if (c == '"') {
        if (key_) {
          mode_ = Mode::kColon;
        } else {
          end_value();
        }
        return true;
      }
      if (c == '\\') mode_ = Mode::kEscape;
      return static_cast<unsigned char>(c) >= 0x20;
    case Mode::kEscape:
      if (c == 'u') {
        hex_left_ = 4;
        mode_ = Mode::kUnicode;
        return true;
      }
      mode_ = Mode::kString;
      return std::string_view("\"\\/bfnrt").find(c) != std::string_view::npos;
    case Mode::kUnicode:
      if (!is_hex(c)) return false;
      if (--hex_left_ == 0) mode_ = Mode::kString;
      return true;
    case Mode::kLiteral:
      if (c != literal_.front()) return false;
      literal_.remove_prefix(1);
      if (literal_.empty()) end_value();
      return true;
    case Mode::kNumber:
      if (step_number(c)) return true;
      if (num_ != Num::kZero && num_ != Num::kInt && num_ != Num::kFrac &&
          num_ != Num::kExpDigits) {
        return false;
      }
      end_value();  // numbers only occur inside a container: never kComplete here
      return step(c);
    default:
      break;
  }
  if (is_ws(c)) return true;
  switch (mode_) {
    case Mode::kBegin:
      return (c == '{' || c == '[') && start_value(c);
    case Mode::kValueOrClose:
      if (c == ']') {
        stack_.pop_back();
        end_value();
        return true;
      }
      return start_value(c);
    case Mode::kValue:
      return start_value(c);
    case Mode::kKeyOrClose:
      if (c == '}') {
        stack_.pop_back();
        end_value();
        return true;
      }
      [[fallthrough]];
    case Mode::kKey:
      key_ = true;
      if (c == '"') mode_ = Mode::kString;
      return c == '"';
    case Mode::kColon:
      if (c == ':') mode_ = Mode::kValue;
      return c == ':';
    case Mode::kCommaOrClose: {
      char open = stack_.back();
      if (c == ',') {
        mode_ = open == '{' ? Mode::kKey : Mode::kValue;
        return true;
      }
      if ((c == '}' && open == '{') || (c == ']' && open == '[')) {
        stack_.pop_back();
        end_value();
        return true;
      }
      return false;
    }
    default:
      return false;
  }
}

}  // namespace yun::serve
