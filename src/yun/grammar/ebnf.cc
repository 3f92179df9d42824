#include "yun/grammar/ebnf.h"

#include <cctype>
#include <map>
#include <string>

#include "yun/grammar/codepoints.h"

namespace yun::grammar {

namespace {

bool name_char(char c) { return std::isalnum(uint8_t(c)) || c == '_' || c == '-'; }

class EbnfParser {
 public:
  EbnfParser(GrammarBuilder& b, std::string_view t) : b_(b), t_(t) {}

  Result<int32_t> parse() {
    skip();
    int32_t first = -1;
    while (i_ < t_.size() && err_.is_ok()) {
      std::string name = read_name();
      if (name.empty()) return error_status("expected a rule name");
      skip();
      if (t_.substr(i_, 3) != "::=") return error_status("expected '::=' after '" + name + "'");
      i_ += 3;
      int32_t r = rule(name);
      if (defined_[name]) return error_status("rule '" + name + "' defined twice");
      defined_[name] = true;
      if (first < 0) first = r;
      std::vector<GrammarBuilder::Seq> alts = alternatives();
      if (!err_.is_ok()) return err_;
      for (auto& a : alts) b_.add_alt(r, std::move(a));
      skip();
    }
    if (!err_.is_ok()) return err_;
    if (first < 0) return invalid_argument("grammar: no rules");
    for (auto& [name, d] : defined_) {
      if (!d) return invalid_argument("grammar: rule '" + name + "' is used but not defined");
    }
    if (!b_.ok()) return b_.status();
    auto it = rules_.find("root");
    return it != rules_.end() ? it->second : first;
  }

 private:
  void error(const std::string& what) { (void)error_status(what); }
  Status error_status(const std::string& what) {
    if (err_.is_ok()) {
      size_t line = 1;
      for (size_t k = 0; k < i_ && k < t_.size(); ++k) line += t_[k] == '\n';
      err_ = invalid_argument("grammar: " + what + " (line " + std::to_string(line) + ")");
    }
    return err_;
  }
  void skip() {
    while (i_ < t_.size()) {
      if (std::isspace(uint8_t(t_[i_]))) { ++i_; continue; }
      if (t_[i_] == '#') { while (i_ < t_.size() && t_[i_] != '\n') ++i_; continue; }
      break;
    }
  }
  bool at(char c) const { return i_ < t_.size() && t_[i_] == c; }
  std::string read_name() {
    size_t s = i_;
    while (i_ < t_.size() && name_char(t_[i_])) ++i_;
    return std::string(t_.substr(s, i_ - s));
  }
  int32_t rule(const std::string& name) {
    auto it = rules_.find(name);
    if (it != rules_.end()) return it->second;
    int32_t r = b_.new_rule(name);
    rules_[name] = r;
    defined_.try_emplace(name, false);
    return r;
  }
  // Is the text at i_ the start of the next rule ("name ::=")?
  bool at_rule_start() {
    size_t save = i_;
    std::string n = read_name();
    skip();
    bool yes = !n.empty() && t_.substr(i_, 3) == "::=";
    i_ = save;
    return yes;
  }

  std::vector<GrammarBuilder::Seq> alternatives() {
    std::vector<GrammarBuilder::Seq> alts;
    alts.push_back(sequence());
    while (err_.is_ok()) {
      skip();
      if (!at('|')) break;
      ++i_;
      alts.push_back(sequence());
    }
    return alts;
  }

  GrammarBuilder::Seq sequence() {
    GrammarBuilder::Seq out;
    for (;;) {
      skip();
      if (i_ >= t_.size() || at('|') || at(')') || !err_.is_ok()) break;
      if (name_char(t_[i_]) && at_rule_start()) break;
      GrammarBuilder::Seq e = element();
      if (!err_.is_ok()) break;
      quantify(e);
      out.insert(out.end(), e.begin(), e.end());
      if (!b_.ok()) { err_ = b_.status(); break; }
    }
    return out;
  }

  bool read_int(int64_t* v) {
    size_t s = i_;
    int64_t x = 0;
    while (i_ < t_.size() && std::isdigit(uint8_t(t_[i_]))) {
      x = x * 10 + (t_[i_++] - '0');
      if (x > 100000) { error("repetition count too large"); return false; }
    }
    *v = x;
    return i_ > s;
  }

  void quantify(GrammarBuilder::Seq& e) {
    for (;;) {
      int64_t lo = 0, hi = -1;
      if (at('*')) { ++i_; }
      else if (at('+')) { ++i_; lo = 1; }
      else if (at('?')) { ++i_; hi = 1; }
      else if (at('{')) {
        ++i_;
        skip();
        if (!read_int(&lo)) { error("bad repetition"); return; }
        skip();
        hi = lo;
        if (at(',')) {
          ++i_;
          skip();
          hi = -1;
          if (!at('}') && !read_int(&hi)) { error("bad repetition"); return; }
          skip();
        }
        if (!at('}') || (hi >= 0 && hi < lo)) { error("bad repetition"); return; }
        ++i_;
      } else {
        return;
      }
      e = {GrammarBuilder::ref(b_.repeat(std::move(e), lo, hi))};
    }
  }

  uint32_t next_codepoint() {
    unsigned char c = uint8_t(t_[i_]);
    int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c < 0x80 || i_ + size_t(n) > t_.size()) { ++i_; return c; }
    uint32_t v = c & (0x3F >> (n - 1));
    for (int k = 1; k < n; ++k) v = (v << 6) | (uint8_t(t_[i_ + size_t(k)]) & 0x3F);
    i_ += size_t(n);
    return v;
  }

  // One possibly escaped code point inside "..." or [...].
  bool char_in(uint32_t* cp) {
    if (i_ >= t_.size()) { error("unterminated literal"); return false; }
    if (!at('\\')) { *cp = next_codepoint(); return true; }
    ++i_;
    if (i_ >= t_.size()) { error("trailing backslash"); return false; }
    char c = t_[i_++];
    size_t nhex = 0;
    switch (c) {
      case 'n': *cp = '\n'; return true;
      case 'r': *cp = '\r'; return true;
      case 't': *cp = '\t'; return true;
      case 'x': nhex = 2; break;
      case 'u': nhex = 4; break;
      case 'U': nhex = 8; break;
      default: *cp = uint8_t(c); return true;
    }
    uint32_t v = 0;
    for (size_t k = 0; k < nhex; ++k) {
      if (i_ >= t_.size() || !std::isxdigit(uint8_t(t_[i_]))) { error("bad hex escape"); return false; }
      char h = t_[i_++];
      v = v * 16 + uint32_t(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
    }
    if (v > kMaxCodepoint) { error("code point out of range"); return false; }
    *cp = v;
    return true;
  }

  GrammarBuilder::Seq element() {
    char c = t_[i_];
    if (c == '"') {
      ++i_;
      std::string bytes;
      while (i_ < t_.size() && !at('"')) {
        uint32_t cp;
        if (!char_in(&cp)) return {};
        append_utf8(bytes, cp);
      }
      if (!at('"')) { error("unterminated string literal"); return {}; }
      ++i_;
      return b_.literal(bytes);
    }
    if (c == '[') {
      ++i_;
      bool neg = at('^');
      if (neg) ++i_;
      CodepointSet set;
      while (i_ < t_.size() && !at(']')) {
        uint32_t lo, hi;
        if (!char_in(&lo)) return {};
        hi = lo;
        if (at('-') && i_ + 1 < t_.size() && t_[i_ + 1] != ']') {
          ++i_;
          if (!char_in(&hi)) return {};
          if (hi < lo) { error("class range out of order"); return {}; }
        }
        set.add(lo, hi);
      }
      if (!at(']')) { error("unterminated class"); return {}; }
      ++i_;
      if (neg) set = set.complement();
      set = set.minus(CodepointSet::range(0xD800, 0xDFFF));
      return {lower_codepoints(b_, set, Lowering::kUtf8)};
    }
    if (c == '.') {
      ++i_;
      return {lower_codepoints(b_, CodepointSet::all(), Lowering::kUtf8)};
    }
    if (c == '(') {
      ++i_;
      std::vector<GrammarBuilder::Seq> alts = alternatives();
      if (!err_.is_ok()) return {};
      skip();
      if (!at(')')) { error("missing ')'"); return {}; }
      ++i_;
      return {GrammarBuilder::ref(b_.choice("group", std::move(alts)))};
    }
    if (name_char(c)) return {GrammarBuilder::ref(rule(read_name()))};
    error(std::string("unexpected '") + c + "'");
    return {};
  }

  GrammarBuilder& b_;
  std::string_view t_;
  size_t i_ = 0;
  Status err_;
  std::map<std::string, int32_t> rules_;
  std::map<std::string, bool> defined_;
};

}  // namespace

Result<int32_t> add_ebnf(GrammarBuilder& b, std::string_view text) {
  EbnfParser p(b, text);
  return p.parse();
}

}  // namespace yun::grammar
