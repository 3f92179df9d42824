// jinja lexer implementation (see jinja_lexer.h).
#include "yun/text/jinja_lexer.h"

#include <algorithm>
#include <cstring>

#include "yun/text/jinja_value.h"

namespace yun::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  explicit Lexer(const std::string& src) : src_(src) {
    line_starts_.push_back(0);
    for (size_t k = 0; k < src.size(); ++k) {
      if (src[k] == '\n') line_starts_.push_back(k + 1);
    }
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool strip_next = false;  // a `-%}` asked to strip the following whitespace
    const size_t n = src_.size();
    while (pos < n) {
      size_t p = find_tag(pos);
      std::string text = src_.substr(pos, p - pos);
      size_t text_start = pos;
      if (strip_next) {
        size_t k = 0;
        while (k < text.size() && is_space(text[k])) ++k;
        text.erase(0, k);
        text_start += k;
        strip_next = false;
      }
      if (p >= n) {
        emit_text(text, text_start);
        break;
      }
      char kind = src_[p + 1];
      char mod = p + 2 < n ? src_[p + 2] : '\0';
      if (mod == '-') {
        size_t k = text.size();
        while (k > 0 && is_space(text[k - 1])) --k;
        text.resize(k);
      } else if (kind != '{' && mod != '+') {
        lstrip_line(text, p);
      }
      emit_text(text, text_start);
      size_t body = p + 2 + ((mod == '-' || mod == '+') ? 1 : 0);
      if (kind == '#') {
        size_t end = src_.find("#}", body);
        if (end == std::string::npos) error(p, "unclosed comment");
        pos = end + 2;
        if (end > body && src_[end - 1] == '-') strip_next = true;
        else if (!(end > body && src_[end - 1] == '+')) pos = trim_newline(pos);
        continue;
      }
      if (kind == '%' && is_raw(body)) {
        pos = lex_raw(p, body, strip_next);
        continue;
      }
      push(kind == '{' ? Tok::kVarBegin : Tok::kBlockBegin, "", p);
      pos = lex_expr(body, kind == '{', strip_next);
    }
    push(Tok::kEof, "", n);
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t k = from; k + 1 < src_.size(); ++k) {
      if (src_[k] == '{' && (src_[k + 1] == '{' || src_[k + 1] == '%' || src_[k + 1] == '#')) return k;
    }
    return src_.size();
  }

  // lstrip_blocks: drop spaces/tabs between the line start and the tag at `tag`.
  void lstrip_line(std::string& text, size_t tag) const {
    size_t k = text.size();
    while (k > 0 && (text[k - 1] == ' ' || text[k - 1] == '\t')) --k;
    size_t src_before = tag - (text.size() - k);  // source offset of the first stripped char
    if (src_before == 0 || src_[src_before - 1] == '\n') text.resize(k);
  }

  size_t trim_newline(size_t pos) const {
    if (pos < src_.size() && src_[pos] == '\n') return pos + 1;
    if (pos + 1 < src_.size() && src_[pos] == '\r' && src_[pos + 1] == '\n') return pos + 2;
    return pos;
  }

  bool is_raw(size_t body) const {
    size_t k = body;
    while (k < src_.size() && is_space(src_[k])) ++k;
    if (src_.compare(k, 3, "raw") != 0) return false;
    k += 3;
    while (k < src_.size() && is_space(src_[k])) ++k;
    if (k < src_.size() && src_[k] == '-') ++k;
    return src_.compare(k, 2, "%}") == 0;
  }

  size_t lex_raw(size_t tag, size_t body, bool& strip_next) {
    size_t open_end = src_.find("%}", body);
    bool open_minus = src_[open_end - 1] == '-';
    size_t content = open_end + 2;
    size_t search = content;
    while (true) {
      size_t q = src_.find("{%", search);
      if (q == std::string::npos) error(tag, "missing endraw");
      size_t k = q + 2;
      bool minus = k < src_.size() && src_[k] == '-';
      if (minus || (k < src_.size() && src_[k] == '+')) ++k;
      while (k < src_.size() && is_space(src_[k])) ++k;
      if (src_.compare(k, 6, "endraw") == 0) {
        size_t end = src_.find("%}", k);
        if (end == std::string::npos) error(q, "unclosed endraw");
        std::string text = src_.substr(content, q - content);
        if (open_minus) {
          size_t s = 0;
          while (s < text.size() && is_space(text[s])) ++s;
          text.erase(0, s);
        }
        if (minus) {
          while (!text.empty() && is_space(text.back())) text.pop_back();
        }
        emit_text(text, content);
        size_t pos = end + 2;
        if (src_[end - 1] == '-') strip_next = true;
        else if (src_[end - 1] != '+') pos = trim_newline(pos);
        return pos;
      }
      search = q + 2;
    }
  }

  // Lexes expression tokens from `pos` to the closing tag; returns the offset after it.
  size_t lex_expr(size_t pos, bool is_var, bool& strip_next) {
    const size_t n = src_.size();
    int depth = 0;
    const char* close = is_var ? "}}" : "%}";
    while (true) {
      while (pos < n && is_space(src_[pos])) ++pos;
      if (pos >= n) error(pos, is_var ? "unclosed '{{'" : "unclosed '{%'");
      if (depth == 0) {
        bool dash = src_[pos] == '-' || (!is_var && src_[pos] == '+');
        size_t at = pos + (dash ? 1 : 0);
        if (src_.compare(at, 2, close) == 0) {
          push(is_var ? Tok::kVarEnd : Tok::kBlockEnd, "", pos);
          size_t after = at + 2;
          if (dash && src_[pos] == '-') strip_next = true;
          else if (!is_var && !dash) after = trim_newline(after);
          return after;
        }
      }
      char c = src_[pos];
      if (is_ident_start(c)) {
        size_t s = pos;
        while (pos < n && (is_ident_start(src_[pos]) || is_digit(src_[pos]))) ++pos;
        push(Tok::kName, src_.substr(s, pos - s), s);
      } else if (is_digit(c)) {
        pos = lex_number(pos);
      } else if (c == '\'' || c == '"') {
        pos = lex_string(pos);
      } else {
        static const char* kOps2[] = {"**", "//", "==", "!=", "<=", ">="};
        std::string op;
        for (const char* o : kOps2) {
          if (src_.compare(pos, 2, o) == 0) op = o;
        }
        if (op.empty()) {
          if (!std::strchr("+-*/%~<>=()[]{},.:|!", c)) error(pos, std::string("unexpected character '") + c + "'");
          op = std::string(1, c);
        }
        if (op == "(" || op == "[" || op == "{") ++depth;
        if ((op == ")" || op == "]" || op == "}") && depth > 0) --depth;
        push(Tok::kOp, op, pos);
        pos += op.size();
      }
    }
  }

  size_t lex_number(size_t pos) {
    size_t s = pos;
    std::string digits;
    bool is_float = false;
    auto take_digits = [&] {
      while (pos < src_.size() && (is_digit(src_[pos]) || src_[pos] == '_')) {
        if (src_[pos] != '_') digits += src_[pos];
        ++pos;
      }
    };
    take_digits();
    if (pos + 1 < src_.size() && src_[pos] == '.' && is_digit(src_[pos + 1])) {
      is_float = true;
      digits += '.';
      ++pos;
      take_digits();
    }
    if (pos < src_.size() && (src_[pos] == 'e' || src_[pos] == 'E')) {
      size_t k = pos + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && is_digit(src_[k])) {
        is_float = true;
        digits += 'e';
        digits.append(src_, pos + 1, k - pos - 1);
        pos = k;
        take_digits();
      }
    }
    Token t{is_float ? Tok::kFloat : Tok::kInt, src_.substr(s, pos - s)};
    set_pos(t, s);
    if (is_float) {
      t.f = std::strtod(digits.c_str(), nullptr);
    } else {
      errno = 0;
      t.i = std::strtoll(digits.c_str(), nullptr, 10);
      if (errno == ERANGE) error(s, "integer literal too large");
    }
    tokens_.push_back(std::move(t));
    return pos;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  size_t lex_string(size_t pos) {
    char q = src_[pos];
    size_t s = pos++;
    std::string out;
    while (true) {
      if (pos >= src_.size()) error(s, "unterminated string");
      char c = src_[pos++];
      if (c == q) break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos >= src_.size()) error(s, "unterminated string");
      char e = src_[pos++];
      auto hex = [&](int count) {
        uint32_t cp = 0;
        for (int k = 0; k < count; ++k) {
          if (pos >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[pos]))) {
            error(pos, "bad escape in string");
          }
          char h = src_[pos++];
          cp = cp * 16 + uint32_t(is_digit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
        }
        if (cp > 0x10FFFF) error(pos, "bad escape in string");
        append_utf8(out, cp);
      };
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case 'a': out += '\a'; break;
        case '0': out += '\0'; break;
        case '\n': break;
        case 'x': hex(2); break;
        case 'u': hex(4); break;
        case 'U': hex(8); break;
        default: out += '\\'; out += e;
      }
    }
    Token t{Tok::kString, std::move(out)};
    set_pos(t, s);
    tokens_.push_back(std::move(t));
    return pos;
  }

  void emit_text(const std::string& text, size_t at) {
    if (!text.empty()) push(Tok::kText, text, at);
  }

  void push(Tok type, std::string text, size_t at) {
    Token t{type, std::move(text)};
    set_pos(t, at);
    tokens_.push_back(std::move(t));
  }

  void set_pos(Token& t, size_t at) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), at);
    size_t line = size_t(it - line_starts_.begin());
    t.line = int(line);
    t.col = int(at - line_starts_[line - 1]) + 1;
  }

  [[noreturn]] void error(size_t at, const std::string& msg) const {
    Token t{Tok::kEof, ""};
    set_pos(t, std::min(at, src_.size()));
    fail("line " + std::to_string(t.line) + ", column " + std::to_string(t.col) + ": " + msg);
  }

  const std::string& src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(const std::string& source) {
  // Like Jinja2: newlines normalized to \n, and one trailing newline dropped
  // (keep_trailing_newline=False).
  std::string src;
  src.reserve(source.size());
  for (size_t k = 0; k < source.size(); ++k) {
    if (source[k] == '\r') {
      src += '\n';
      if (k + 1 < source.size() && source[k + 1] == '\n') ++k;
    } else {
      src += source[k];
    }
  }
  if (!src.empty() && src.back() == '\n') src.pop_back();
  return Lexer(src).run();
}

}  // namespace yun::jinja
