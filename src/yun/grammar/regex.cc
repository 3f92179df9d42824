#include "yun/grammar/regex.h"

#include <cctype>
#include <string>

namespace yun::grammar {

namespace {

class RegexParser {
 public:
  RegexParser(GrammarBuilder& b, std::string_view p, RegexMode mode)
      : b_(b), p_(p), how_(mode == RegexMode::kJsonString ? Lowering::kJsonString : Lowering::kUtf8) {}

  Result<int32_t> parse(bool search) {
    bool start_anchor = false, end_anchor = false;
    if (!p_.empty() && p_[0] == '^') { start_anchor = true; ++i_; }
    GrammarBuilder::Seq body = alternation();
    if (!err_.is_ok()) return err_;
    if (i_ < p_.size() && p_[i_] == '$' && i_ + 1 == p_.size()) { end_anchor = true; ++i_; }
    if (i_ < p_.size()) {
      return error_status(p_[i_] == ')' ? "unbalanced ')'" : std::string("unexpected '") + p_[i_] + "'");
    }
    GrammarBuilder::Seq all;
    if (search && !start_anchor) all.push_back(any_star());
    all.insert(all.end(), body.begin(), body.end());
    if (search && !end_anchor) all.push_back(any_star());
    if (!b_.ok()) return b_.status();
    return b_.seq_rule("regex", std::move(all));
  }

 private:
  void error(const std::string& what) { (void)error_status(what); }
  Status error_status(const std::string& what) {
    if (err_.is_ok()) err_ = invalid_argument("regex: " + what + " at offset " + std::to_string(i_));
    return err_;
  }
  bool at(char c) const { return i_ < p_.size() && p_[i_] == c; }

  Symbol any_star() {
    CodepointSet all = CodepointSet::all();
    return GrammarBuilder::ref(b_.star({lower_codepoints(b_, all, how_)}));
  }

  GrammarBuilder::Seq alternation() {
    std::vector<GrammarBuilder::Seq> alts;
    alts.push_back(sequence());
    while (err_.is_ok() && at('|')) {
      ++i_;
      alts.push_back(sequence());
    }
    if (alts.size() == 1) return std::move(alts[0]);
    return {GrammarBuilder::ref(b_.choice("alt", std::move(alts)))};
  }

  GrammarBuilder::Seq sequence() {
    GrammarBuilder::Seq out;
    while (err_.is_ok() && i_ < p_.size() && !at('|') && !at(')')) {
      if (at('$') && i_ + 1 == p_.size()) break;
      if (at('^') || at('$')) { error("anchor inside the pattern (not supported)"); break; }
      GrammarBuilder::Seq atom_seq = atom();
      if (!err_.is_ok()) break;
      quantify(atom_seq);
      out.insert(out.end(), atom_seq.begin(), atom_seq.end());
      if (!b_.ok()) { err_ = b_.status(); break; }
    }
    return out;
  }

  bool read_int(int64_t* v) {
    size_t s = i_;
    int64_t x = 0;
    while (i_ < p_.size() && p_[i_] >= '0' && p_[i_] <= '9') {
      x = x * 10 + (p_[i_] - '0');
      if (x > 100000) { error("repetition count too large"); return false; }
      ++i_;
    }
    *v = x;
    return i_ > s;
  }

  void quantify(GrammarBuilder::Seq& atom_seq) {
    for (;;) {
      int64_t lo = 0, hi = -1;
      if (at('*')) { ++i_; }
      else if (at('+')) { ++i_; lo = 1; }
      else if (at('?')) { ++i_; hi = 1; }
      else if (at('{')) {
        size_t save = i_;
        ++i_;
        if (!read_int(&lo)) {
          if (!err_.is_ok()) return;
          i_ = save;  // a literal '{'
          return;
        }
        hi = lo;
        if (at(',')) {
          ++i_;
          hi = -1;
          if (!at('}') && !read_int(&hi)) { error("bad repetition"); return; }
        }
        if (!at('}')) { error("bad repetition"); return; }
        ++i_;
        if (hi >= 0 && hi < lo) { error("repetition {n,m} with m < n"); return; }
      } else {
        return;
      }
      if (at('?')) ++i_;  // lazy: same language
      else if (at('+')) { error("possessive quantifier (not supported)"); return; }
      atom_seq = {GrammarBuilder::ref(b_.repeat(std::move(atom_seq), lo, hi))};
    }
  }

  // Reads one code point of the pattern (UTF-8).
  uint32_t next_codepoint() {
    unsigned char c = uint8_t(p_[i_]);
    int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c < 0x80 || i_ + size_t(n) > p_.size()) { ++i_; return c; }
    uint32_t v = c & (0x3F >> (n - 1));
    for (int k = 1; k < n; ++k) v = (v << 6) | (uint8_t(p_[i_ + size_t(k)]) & 0x3F);
    i_ += size_t(n);
    return v;
  }

  bool hex(size_t n, uint32_t* v) {
    uint32_t x = 0;
    for (size_t k = 0; k < n; ++k) {
      if (i_ >= p_.size() || !std::isxdigit(uint8_t(p_[i_]))) return false;
      char c = p_[i_++];
      x = x * 16 + uint32_t(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    *v = x;
    return true;
  }

  static CodepointSet digit() { return CodepointSet::range('0', '9'); }
  static CodepointSet word() {
    CodepointSet s = CodepointSet::range('a', 'z');
    s.add('A', 'Z');
    s.add('0', '9');
    s.add('_', '_');
    return s;
  }
  static CodepointSet space() {
    CodepointSet s = CodepointSet::range('\t', '\r');
    s.add(' ', ' ');
    return s;
  }

  // After a backslash: a class escape (set *cls) or one code point.
  bool escape(CodepointSet* cls, uint32_t* cp, bool in_class) {
    if (i_ >= p_.size()) { error("trailing backslash"); return false; }
    char c = p_[i_++];
    switch (c) {
      case 'd': *cls = digit(); return true;
      case 'D': *cls = digit().complement(); return true;
      case 'w': *cls = word(); return true;
      case 'W': *cls = word().complement(); return true;
      case 's': *cls = space(); return true;
      case 'S': *cls = space().complement(); return true;
      case 't': *cp = '\t'; return true;
      case 'n': *cp = '\n'; return true;
      case 'r': *cp = '\r'; return true;
      case 'f': *cp = '\f'; return true;
      case 'v': *cp = '\v'; return true;
      case '0': *cp = 0; return true;
      case 'x':
        if (!hex(2, cp)) { error("bad \\x escape"); return false; }
        return true;
      case 'u':
        if (at('{')) {
          ++i_;
          uint32_t v = 0;
          size_t s = i_;
          while (i_ < p_.size() && std::isxdigit(uint8_t(p_[i_])) && i_ - s < 6) {
            uint32_t d = 0;
            hex(1, &d);
            v = v * 16 + d;
          }
          if (!at('}') || i_ == s || v > kMaxCodepoint) { error("bad \\u{...} escape"); return false; }
          ++i_;
          *cp = v;
          return true;
        }
        if (!hex(4, cp)) { error("bad \\u escape"); return false; }
        return true;
      case 'b':
        if (in_class) { *cp = '\b'; return true; }
        error("word boundary \\b (not supported)");
        return false;
      default: break;
    }
    if (std::isalnum(uint8_t(c))) {
      error(std::string("escape \\") + c + " (not supported)");
      return false;
    }
    --i_;
    *cp = next_codepoint();
    return true;
  }

  GrammarBuilder::Seq cls_seq(const CodepointSet& s) { return {lower_codepoints(b_, s, how_)}; }

  GrammarBuilder::Seq atom() {
    char c = p_[i_];
    if (c == '(') {
      ++i_;
      if (at('?')) {
        ++i_;
        if (at(':')) {
          ++i_;
        } else if (at('<') && i_ + 1 < p_.size() && p_[i_ + 1] != '=' && p_[i_ + 1] != '!') {
          while (i_ < p_.size() && p_[i_] != '>') ++i_;
          if (!at('>')) { error("bad group name"); return {}; }
          ++i_;
        } else {
          error("lookaround or group flags (not supported)");
          return {};
        }
      }
      GrammarBuilder::Seq inner = alternation();
      if (!err_.is_ok()) return {};
      if (!at(')')) { error("missing ')'"); return {}; }
      ++i_;
      return {GrammarBuilder::ref(b_.seq_rule("group", std::move(inner)))};
    }
    if (c == '[') return char_class();
    if (c == '.') {
      ++i_;
      CodepointSet s = CodepointSet::all().minus(CodepointSet::range('\n', '\n'));
      return cls_seq(s.minus(CodepointSet::range('\r', '\r')));
    }
    if (c == '*' || c == '+' || c == '?') { error("nothing to repeat"); return {}; }
    if (c == '{') {
      size_t save = i_;
      ++i_;
      int64_t v;
      if (read_int(&v)) { i_ = save; error("nothing to repeat"); return {}; }
      i_ = save + 1;
      return cls_seq(CodepointSet::range('{', '{'));
    }
    if (c == '\\') {
      ++i_;
      CodepointSet cls;
      uint32_t cp = 0;
      if (!escape(&cls, &cp, false)) return {};
      if (!cls.empty()) return cls_seq(cls);
      return cls_seq(CodepointSet::range(cp, cp));
    }
    uint32_t cp = next_codepoint();
    return cls_seq(CodepointSet::range(cp, cp));
  }

  GrammarBuilder::Seq char_class() {
    ++i_;  // '['
    bool negate = false;
    if (at('^')) { negate = true; ++i_; }
    CodepointSet set;
    // ECMAScript: "[]" is the empty class, "[^]" any character.
    while (i_ < p_.size() && !at(']')) {
      CodepointSet cls;
      uint32_t lo = 0;
      if (at('\\')) {
        ++i_;
        if (!escape(&cls, &lo, true)) return {};
        if (!cls.empty()) { set.add(cls); continue; }
      } else if (at('[') && i_ + 1 < p_.size() && p_[i_ + 1] == ':') {
        error("POSIX class [: :] (not supported)");
        return {};
      } else {
        lo = next_codepoint();
      }
      uint32_t hi = lo;
      if (at('-') && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
        ++i_;
        if (at('\\')) {
          ++i_;
          if (!escape(&cls, &hi, true)) return {};
          if (!cls.empty()) { error("class escape as a range end"); return {}; }
        } else {
          hi = next_codepoint();
        }
        if (hi < lo) { error("range out of order in a class"); return {}; }
      }
      set.add(lo, hi);
    }
    if (!at(']')) { error("missing ']'"); return {}; }
    ++i_;
    if (negate) set = set.complement();
    return cls_seq(set.minus(CodepointSet::range(0xD800, 0xDFFF)));
  }

  GrammarBuilder& b_;
  std::string_view p_;
  Lowering how_;
  size_t i_ = 0;
  Status err_;
};

}  // namespace

Result<int32_t> add_regex(GrammarBuilder& b, std::string_view pattern, RegexMode mode, bool search) {
  RegexParser p(b, pattern, mode);
  return p.parse(search);
}

}  // namespace yun::grammar
