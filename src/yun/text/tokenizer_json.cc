#include "yun/text/tokenizer_json.h"

#include <cstring>

#include "yun/base/json_limits.h"
#include "yun/base/utf8.h"

namespace yun::text {

namespace {

// A cursor over JSON text; the first error sticks and stops parsing.
class Scanner {
 public:
  explicit Scanner(std::string_view s)
      : begin_(s.data()), p_(s.data()), end_(s.data() + s.size()) {}

  bool ok() const { return err_.empty(); }
  Status status() const {
    return invalid_argument("tokenizer.json: " + err_ + " at byte " + std::to_string(err_pos_));
  }
  bool fail(const std::string& msg) {
    if (err_.empty()) {
      err_ = msg;
      err_pos_ = size_t(p_ - begin_);
    }
    return false;
  }
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool eat(char c) {
    ws();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool expect(char c) { return eat(c) || fail(std::string("expected '") + c + "'"); }
  char peek() {
    ws();
    return p_ < end_ ? *p_ : '\0';
  }
  bool at_end() {
    ws();
    return p_ >= end_;
  }

  // Reads a JSON string into `out`.
  bool string(std::string& out) {
    out.clear();
    if (!expect('"')) return false;
    while (true) {
      const char* q = p_;
      while (q < end_ && *q != '"' && *q != '\\' && uint8_t(*q) >= 0x20) ++q;
      out.append(p_, size_t(q - p_));
      p_ = q;
      if (p_ >= end_) return fail("unterminated string");
      char c = *p_++;
      if (c == '"') return true;
      if (c != '\\') return fail("control character in string");
      if (p_ >= end_) return fail("unterminated escape");
      char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
            p_ += 2;
            uint32_t lo;
            if (!hex4(&lo)) return false;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              append_utf8(out, 0xFFFD);
              cp = lo;
            }
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
          append_utf8(out, char32_t(cp));
          break;
        }
        default:
          return fail("bad escape in string");
      }
    }
  }

  bool integer(int64_t* v) {
    ws();
    bool neg = false;
    if (p_ < end_ && *p_ == '-') {
      neg = true;
      ++p_;
    }
    if (p_ >= end_ || *p_ < '0' || *p_ > '9') return fail("expected an integer");
    int64_t x = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
      x = x * 10 + (*p_++ - '0');
      if (x > (int64_t(1) << 40)) return fail("integer too large");
    }
    if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return fail("expected an integer");
    *v = neg ? -x : x;
    return true;
  }

  // Skips one value of any type; `*raw` receives its text.
  bool skip_value(std::string_view* raw) {
    ws();
    const char* start = p_;
    int depth = 0;
    std::string tmp;
    do {
      ws();
      if (p_ >= end_) return fail("unexpected end of input");
      char c = *p_;
      if (c == '{' || c == '[') {
        ++depth;
        ++p_;
      } else if (c == '}' || c == ']') {
        if (--depth < 0) return fail("unbalanced brackets");
        ++p_;
      } else if (c == '"') {
        if (!string(tmp)) return false;
      } else if (c == ',' || c == ':') {
        ++p_;
      } else {
        // (strchr matches a NUL byte too: test it first, or this never advances.)
        const char* q = p_;
        while (p_ < end_ && *p_ != '\0' && !std::strchr(",:]} \n\r\t", *p_)) ++p_;
        if (p_ == q) return fail("unexpected character");
      }
    } while (depth > 0);
    *raw = std::string_view(start, size_t(p_ - start));
    return true;
  }

 private:
  bool hex4(uint32_t* v) {
    if (end_ - p_ < 4) return fail("short \\u escape");
    uint32_t x = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *p_++;
      x <<= 4;
      if (c >= '0' && c <= '9') x |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') x |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') x |= uint32_t(c - 'A' + 10);
      else return fail("bad \\u escape");
    }
    *v = x;
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  std::string err_;
  size_t err_pos_ = 0;
};

bool parse_raw(Scanner& sc, const std::string& key, nlohmann::json& into) {
  std::string_view raw;
  if (!sc.skip_value(&raw)) return false;
  into[key] = nlohmann::json::parse(raw.begin(), raw.end(), nullptr, /*allow_exceptions=*/false);
  if (into[key].is_discarded()) return sc.fail("malformed value of \"" + key + "\"");
  return true;
}

bool parse_vocab(Scanner& sc, TokenizerSpec& spec) {
  if (sc.peek() != '{') return sc.fail("model.vocab must be an object");
  sc.expect('{');
  spec.vocab.reserve(160000);
  if (sc.eat('}')) return true;
  std::string tok;
  do {
    int64_t id;
    if (!sc.string(tok) || !sc.expect(':')) return false;
    char c = sc.peek();
    if (!(c == '-' || (c >= '0' && c <= '9'))) {
      return sc.fail("model.vocab entries must be \"token\": integer id");
    }
    if (!sc.integer(&id)) return false;
    if (id < 0 || id > INT32_MAX) return sc.fail("model.vocab id out of range");
    spec.vocab.emplace_back(tok, int32_t(id));
  } while (sc.eat(','));
  return sc.expect('}');
}

bool parse_merges(Scanner& sc, TokenizerSpec& spec) {
  if (sc.peek() != '[') return sc.fail("model.merges must be an array");
  sc.expect('[');
  spec.merges.reserve(160000);
  if (sc.eat(']')) return true;
  std::string a, b;
  do {
    char c = sc.peek();
    if (c == '"') {
      if (!sc.string(a)) return false;
      size_t sp = a.find(' ');
      if (sp == std::string::npos || a.find(' ', sp + 1) != std::string::npos) {
        return sc.fail("model.merges entry \"" + a + "\" is not two tokens separated by a space");
      }
      spec.merges.emplace_back(a.substr(0, sp), a.substr(sp + 1));
    } else if (c == '[') {
      sc.expect('[');
      if (!sc.string(a) || !sc.expect(',') || !sc.string(b) || !sc.expect(']')) {
        return sc.fail("model.merges entry must be [\"left\", \"right\"]");
      }
      spec.merges.emplace_back(a, b);
    } else {
      return sc.fail("model.merges entries must be strings or 2-element arrays");
    }
  } while (sc.eat(','));
  return sc.expect(']');
}

bool parse_model(Scanner& sc, TokenizerSpec& spec) {
  if (sc.peek() != '{') return sc.fail("\"model\" must be an object");
  sc.expect('{');
  spec.has_model = true;
  if (sc.eat('}')) return true;
  std::string key;
  do {
    if (!sc.string(key) || !sc.expect(':')) return false;
    if (key == "vocab") {
      spec.has_vocab = true;
      if (!parse_vocab(sc, spec)) return false;
    } else if (key == "merges") {
      spec.has_merges = true;
      if (!parse_merges(sc, spec)) return false;
    } else if (!parse_raw(sc, key, spec.model)) {
      return false;
    }
  } while (sc.eat(','));
  return sc.expect('}');
}

}  // namespace

Result<TokenizerSpec> parse_tokenizer_json(std::string_view text) {
  // The one bound on nesting and size, before anything below builds a value.
  // On a syntax error the scanner below reports it in its own words: the text
  // before the error is within the limits and the scanner, as strict about
  // structure, stops there too; it never succeeds where the pre-scan failed.
  Status bounds = check_json_limits(text, JsonLimits::model_file());
  if (is_json_limit_error(bounds)) return bounds.with_context("tokenizer.json");
  try {
    TokenizerSpec spec;
    Scanner sc(text);
    if (sc.peek() != '{') {
      sc.fail("expected a JSON object");
      return sc.status();
    }
    sc.expect('{');
    if (!sc.eat('}')) {
      std::string key;
      do {
        if (!sc.string(key) || !sc.expect(':')) return sc.status();
        bool ok = key == "model" ? parse_model(sc, spec) : parse_raw(sc, key, spec.sections);
        if (!ok) return sc.status();
      } while (sc.eat(','));
      if (!sc.expect('}')) return sc.status();
    }
    if (!sc.at_end()) {
      sc.fail("trailing characters after the JSON object");
      return sc.status();
    }
    if (!bounds.is_ok()) return bounds.with_context("tokenizer.json");
    return spec;
  } catch (const std::exception& e) {
    return invalid_argument(std::string("tokenizer.json: ") + e.what());
  }
}

}  // namespace yun::text
