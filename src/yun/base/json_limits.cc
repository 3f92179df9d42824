// JSON limits (see json_limits.h): an iterative structural scan, then nlohmann.
#include "yun/base/json_limits.h"

#include <string>
#include <vector>

namespace yun {

JsonLimits JsonLimits::request() { return JsonLimits(); }

JsonLimits JsonLimits::model_file() {
  JsonLimits l;
  l.max_depth = 256;
  l.max_string_bytes = size_t(64) << 20;
  l.max_elements = size_t(4) << 20;
  l.max_nodes = size_t(16) << 20;
  return l;
}

namespace {

constexpr const char* kDepthPrefix = "JSON nesting deeper than ";
constexpr const char* kStringPrefix = "JSON string longer than ";
constexpr const char* kElementsPrefix = "JSON array or object with more than ";
constexpr const char* kNodesPrefix = "JSON document with more than ";

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Bytes that may spell a number or a literal (true, false, null); the parser
// checks the spelling.
bool is_scalar_byte(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
         c == '+' || c == '.';
}

class Scan {
 public:
  Scan(std::string_view text, const JsonLimits& limits) : s_(text), lim_(limits) {}

  Status run() {
    size_t i = 0;
    const size_t n = s_.size();
    while (true) {
      while (i < n && is_ws(s_[i])) ++i;
      if (i == n) break;
      const char c = s_[i];
      switch (expect_) {
        case Expect::kDone:
          return invalid_argument("trailing bytes after the JSON value at byte " +
                                  std::to_string(i));
        case Expect::kValueOrEnd:
          if (c == ']') {
            YUN_RETURN_IF_ERROR(close(c, i));
            ++i;
            continue;
          }
          [[fallthrough]];
        case Expect::kValue:
          YUN_RETURN_IF_ERROR(value(i));
          continue;
        case Expect::kKeyOrEnd:
          if (c == '}') {
            YUN_RETURN_IF_ERROR(close(c, i));
            ++i;
            continue;
          }
          [[fallthrough]];
        case Expect::kKey:
          if (c != '"') return malformed(i, "expected a string key");
          YUN_RETURN_IF_ERROR(count_element(i));
          YUN_RETURN_IF_ERROR(string(i));
          expect_ = Expect::kColon;
          continue;
        case Expect::kColon:
          if (c != ':') return malformed(i, "expected ':'");
          ++i;
          expect_ = Expect::kValue;
          continue;
        case Expect::kCommaOrEnd:
          if (c == ',') {
            ++i;
            expect_ = stack_.back().is_object ? Expect::kKey : Expect::kValue;
            continue;
          }
          if (c == '}' || c == ']') {
            YUN_RETURN_IF_ERROR(close(c, i));
            ++i;
            continue;
          }
          return malformed(i, "expected ',' or a closing bracket");
      }
    }
    if (expect_ != Expect::kDone) return malformed(n, "unexpected end of input");
    return Status::ok();
  }

 private:
  enum class Expect { kValue, kValueOrEnd, kKeyOrEnd, kKey, kColon, kCommaOrEnd, kDone };
  struct Frame {
    bool is_object;
    size_t count;
  };

  static Status malformed(size_t at, const char* what) {
    return invalid_argument("malformed JSON at byte " + std::to_string(at) + ": " + what);
  }

  Status count_element(size_t at) {
    if (stack_.empty()) return Status::ok();
    if (++stack_.back().count > lim_.max_elements) {
      return invalid_argument(kElementsPrefix + std::to_string(lim_.max_elements) +
                              " elements at byte " + std::to_string(at));
    }
    return Status::ok();
  }

  // A value starting at s_[i]; advances i past scalars and opening brackets.
  Status value(size_t& i) {
    if (++nodes_ > lim_.max_nodes) {
      return invalid_argument(kNodesPrefix + std::to_string(lim_.max_nodes) + " values at byte " +
                              std::to_string(i));
    }
    if (!stack_.empty() && !stack_.back().is_object) YUN_RETURN_IF_ERROR(count_element(i));
    const char c = s_[i];
    if (c == '{' || c == '[') {
      if (stack_.size() >= size_t(lim_.max_depth)) {
        return invalid_argument(kDepthPrefix + std::to_string(lim_.max_depth) + " at byte " +
                                std::to_string(i));
      }
      stack_.push_back({c == '{', 0});
      expect_ = c == '{' ? Expect::kKeyOrEnd : Expect::kValueOrEnd;
      ++i;
      return Status::ok();
    }
    if (c == '"') {
      YUN_RETURN_IF_ERROR(string(i));
    } else if (is_scalar_byte(c)) {
      while (i < s_.size() && is_scalar_byte(s_[i])) ++i;
    } else {
      return malformed(i, "expected a value");
    }
    after_value();
    return Status::ok();
  }

  // A string whose opening quote is s_[i]; leaves i after its closing quote.
  Status string(size_t& i) {
    const size_t start = i;
    size_t j = i + 1;
    const size_t n = s_.size();
    while (j < n && s_[j] != '"') j += s_[j] == '\\' ? 2 : 1;
    if (j >= n) return malformed(start, "unterminated string");
    if (j - start - 1 > lim_.max_string_bytes) {
      return invalid_argument(kStringPrefix + std::to_string(lim_.max_string_bytes) +
                              " bytes at byte " + std::to_string(start));
    }
    i = j + 1;
    return Status::ok();
  }

  Status close(char c, size_t at) {
    if (stack_.empty() || stack_.back().is_object != (c == '}')) {
      return malformed(at, "mismatched closing bracket");
    }
    stack_.pop_back();
    after_value();
    return Status::ok();
  }

  void after_value() { expect_ = stack_.empty() ? Expect::kDone : Expect::kCommaOrEnd; }

  std::string_view s_;
  const JsonLimits& lim_;
  std::vector<Frame> stack_;
  size_t nodes_ = 0;
  Expect expect_ = Expect::kValue;
};

}  // namespace

Status check_json_limits(std::string_view text, const JsonLimits& limits) {
  try {
    return Scan(text, limits).run();
  } catch (const std::exception& e) {  // bad_alloc from the stack or a message
    return invalid_argument(std::string("JSON scan failed: ") + e.what());
  }
}

bool is_json_limit_error(const Status& s) {
  if (s.code() != StatusCode::kInvalidArgument) return false;
  const std::string& m = s.message();
  for (const char* prefix : {kDepthPrefix, kStringPrefix, kElementsPrefix, kNodesPrefix}) {
    if (m.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

template <typename J>
Result<J> parse_json_bounded(std::string_view text, const JsonLimits& limits) {
  YUN_RETURN_IF_ERROR(check_json_limits(text, limits));
  try {
    J j = J::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return invalid_argument("malformed JSON");
    return j;
  } catch (const std::exception& e) {
    return invalid_argument(std::string("JSON parse failed: ") + e.what());
  }
}

template Result<nlohmann::ordered_json> parse_json_bounded(std::string_view, const JsonLimits&);
template Result<nlohmann::json> parse_json_bounded(std::string_view, const JsonLimits&);

}  // namespace yun
