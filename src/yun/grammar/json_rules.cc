#include "yun/grammar/json_rules.h"

#include <algorithm>
#include <map>

#include "yun/grammar/codepoints.h"

namespace yun::grammar {

namespace {
constexpr int kMaxIntDigits = 18;
constexpr int kMaxFracDigits = 15;

int64_t pow10(int n) {
  int64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}
}  // namespace

void JsonRules::ws(Seq& s) {
  if (o_.max_whitespace <= 0) return;
  if (ws_ < 0) {
    ByteSet w;
    w.set(' ');
    w.set('\t');
    w.set('\n');
    ws_ = b_.repeat({b_.bytes(w)}, 0, o_.max_whitespace);
  }
  s.push_back(GrammarBuilder::ref(ws_));
}

Symbol JsonRules::literal_rule(const std::string& bytes) {
  return GrammarBuilder::ref(b_.seq_rule("lit", b_.literal(bytes)));
}

Symbol JsonRules::string_char() {
  if (char_ >= 0) return GrammarBuilder::ref(char_);
  char_ = b_.new_rule("char");
  CodepointSet plain = CodepointSet::all().minus(CodepointSet::range(0, 0x1F));
  plain = plain.minus(CodepointSet::range('"', '"')).minus(CodepointSet::range('\\', '\\'));
  b_.add_alt(char_, {lower_codepoints(b_, plain, Lowering::kUtf8)});
  ByteSet esc;
  for (char c : std::string("\"\\/bfnrt")) esc.set(uint8_t(c));
  b_.add_alt(char_, {b_.byte('\\'), b_.bytes(esc)});
  // \uXXXX without surrogates: [0-9a-cA-C]XXX | [dD][0-7]XX | [eEfF]XXX.
  ByteSet hex, h1, h2, d, lo7;
  for (int c = 0; c < 256; ++c) {
    if (std::isxdigit(c)) hex.set(size_t(c));
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'c') || (c >= 'A' && c <= 'C')) h1.set(size_t(c));
    if (c == 'e' || c == 'f' || c == 'E' || c == 'F') h2.set(size_t(c));
    if (c >= '0' && c <= '7') lo7.set(size_t(c));
  }
  d.set('d');
  d.set('D');
  Symbol x = b_.bytes(hex);
  b_.add_alt(char_, {b_.byte('\\'), b_.byte('u'), b_.bytes(h1), x, x, x});
  b_.add_alt(char_, {b_.byte('\\'), b_.byte('u'), b_.bytes(h2), x, x, x});
  b_.add_alt(char_, {b_.byte('\\'), b_.byte('u'), b_.bytes(d), b_.bytes(lo7), x, x});
  return GrammarBuilder::ref(char_);
}

Symbol JsonRules::string() {
  if (string_ >= 0) return GrammarBuilder::ref(string_);
  string_ = b_.new_rule("string");
  // string ::= '"' chars ; chars ::= '"' | char chars  (the loop is a tail call)
  int32_t chars = b_.new_rule("chars");
  b_.add_alt(chars, {b_.byte('"')});
  b_.add_alt(chars, {string_char(), GrammarBuilder::ref(chars)});
  b_.add_alt(string_, {b_.byte('"'), GrammarBuilder::ref(chars)});
  return GrammarBuilder::ref(string_);
}

Symbol JsonRules::string_len(int64_t min, int64_t max) {
  if (min <= 0 && max < 0) return string();
  Symbol body = GrammarBuilder::ref(b_.repeat({string_char()}, std::max<int64_t>(min, 0), max));
  return GrammarBuilder::ref(b_.seq_rule("strlen", {b_.byte('"'), body, b_.byte('"')}));
}

Symbol JsonRules::key_not_in(const std::vector<std::string>& names) {
  // A trie over the names' code points: at each node the key may close
  // (unless a name ends there), continue along a child, or leave the trie
  // through any other character (then anything may follow).
  CodepointSet plain = CodepointSet::all().minus(CodepointSet::range(0, 0x1F));
  plain = plain.minus(CodepointSet::range('"', '"')).minus(CodepointSet::range('\\', '\\'));
  Symbol plain_sym = lower_codepoints(b_, plain, Lowering::kUtf8);
  int32_t free_rest = b_.new_rule("keyrest");  // keyrest ::= '"' | plain keyrest
  b_.add_alt(free_rest, {b_.byte('"')});
  b_.add_alt(free_rest, {plain_sym, GrammarBuilder::ref(free_rest)});
  struct TNode {
    std::map<uint32_t, int> kids;
    bool end = false;
  };
  std::vector<TNode> t(1);
  for (const std::string& n : names) {
    std::vector<uint32_t> cps;
    bool ok = true;
    for (size_t i = 0; i < n.size();) {
      unsigned char c = uint8_t(n[i]);
      int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      uint32_t v = len == 1 ? c : c & (0x3F >> (len - 1));
      for (int k = 1; k < len && i + size_t(k) < n.size(); ++k) v = (v << 6) | (uint8_t(n[i + size_t(k)]) & 0x3F);
      i += size_t(len);
      if (!plain.contains(v)) ok = false;
      cps.push_back(v);
    }
    if (!ok) continue;  // such a name needs an escape: no escape-free key equals it
    int cur = 0;
    for (uint32_t cp : cps) {
      auto it = t[size_t(cur)].kids.find(cp);
      if (it == t[size_t(cur)].kids.end()) {
        t.emplace_back();
        int id = int(t.size() - 1);
        t[size_t(cur)].kids[cp] = id;
        cur = id;
      } else {
        cur = it->second;
      }
    }
    t[size_t(cur)].end = true;
  }
  std::vector<int32_t> rule(t.size());
  for (size_t i = 0; i < t.size(); ++i) rule[i] = b_.new_rule("key" + std::to_string(i));
  for (size_t i = 0; i < t.size(); ++i) {
    if (!t[i].end) b_.add_alt(rule[i], {b_.byte('"')});
    CodepointSet other = plain;
    for (auto [cp, kid] : t[i].kids) {
      std::string u;
      append_utf8(u, cp);
      Seq s = b_.literal(u);
      s.push_back(GrammarBuilder::ref(rule[size_t(kid)]));
      b_.add_alt(rule[i], std::move(s));
      other = other.minus(CodepointSet::range(cp, cp));
    }
    if (!other.empty()) {
      b_.add_alt(rule[i], {lower_codepoints(b_, other, Lowering::kUtf8), GrammarBuilder::ref(free_rest)});
    }
  }
  return GrammarBuilder::ref(b_.seq_rule("extrakey", {b_.byte('"'), GrammarBuilder::ref(rule[0])}));
}

Symbol JsonRules::any_value() {
  if (value_ >= 0) return GrammarBuilder::ref(value_);
  value_ = b_.new_rule("value");
  // array ::= '[' ws ( ']' | value items ) ; items ::= ws ( ']' | ',' ws value items )
  array_ = b_.new_rule("array");
  int32_t items = b_.new_rule("items");
  int32_t items_tail = b_.new_rule("items_tail");
  Seq a = {b_.byte('[')};
  ws(a);
  a.push_back(GrammarBuilder::ref(b_.choice("array_body", {{b_.byte(']')}, {GrammarBuilder::ref(value_), GrammarBuilder::ref(items)}})));
  b_.add_alt(array_, std::move(a));
  Seq it;
  ws(it);
  it.push_back(GrammarBuilder::ref(items_tail));
  b_.add_alt(items, std::move(it));
  b_.add_alt(items_tail, {b_.byte(']')});
  Seq more = {b_.byte(',')};
  ws(more);
  more.push_back(GrammarBuilder::ref(value_));
  more.push_back(GrammarBuilder::ref(items));
  b_.add_alt(items_tail, std::move(more));
  b_.add_alt(value_, {any_object()});
  b_.add_alt(value_, {GrammarBuilder::ref(array_)});
  b_.add_alt(value_, {string()});
  b_.add_alt(value_, {number()});
  b_.add_alt(value_, b_.literal("true"));
  b_.add_alt(value_, b_.literal("false"));
  b_.add_alt(value_, b_.literal("null"));
  return GrammarBuilder::ref(value_);
}

Symbol JsonRules::any_object() {
  if (object_ >= 0) return GrammarBuilder::ref(object_);
  object_ = b_.new_rule("object");
  Symbol value = any_value();
  int32_t members = b_.new_rule("members");
  int32_t tail = b_.new_rule("members_tail");
  Seq member = {string()};
  ws(member);
  member.push_back(b_.byte(':'));
  ws(member);
  member.push_back(value);
  int32_t member_r = b_.seq_rule("member", std::move(member));
  Seq o = {b_.byte('{')};
  ws(o);
  o.push_back(GrammarBuilder::ref(b_.choice("object_body", {{b_.byte('}')}, {GrammarBuilder::ref(member_r), GrammarBuilder::ref(members)}})));
  b_.add_alt(object_, std::move(o));
  Seq m;
  ws(m);
  m.push_back(GrammarBuilder::ref(tail));
  b_.add_alt(members, std::move(m));
  b_.add_alt(tail, {b_.byte('}')});
  Seq more = {b_.byte(',')};
  ws(more);
  more.push_back(GrammarBuilder::ref(member_r));
  more.push_back(GrammarBuilder::ref(members));
  b_.add_alt(tail, std::move(more));
  return GrammarBuilder::ref(object_);
}

Symbol JsonRules::number() {
  if (number_ >= 0) return GrammarBuilder::ref(number_);
  Seq s = {GrammarBuilder::ref(b_.optional({b_.byte('-')}))};
  s.push_back(digits(0, -1));
  s.push_back(frac_any());
  ByteSet e;
  e.set('e');
  e.set('E');
  ByteSet sign;
  sign.set('+');
  sign.set('-');
  Symbol exp = GrammarBuilder::ref(b_.optional({b_.bytes(e), GrammarBuilder::ref(b_.optional({b_.bytes(sign)})),
                                                GrammarBuilder::ref(b_.repeat({b_.range('0', '9')}, 1, 2))}));
  s.push_back(exp);
  number_ = b_.seq_rule("number", std::move(s));
  return GrammarBuilder::ref(number_);
}

Symbol JsonRules::frac_any() {
  if (frac_any_ < 0) {
    frac_any_ = b_.optional({b_.byte('.'), GrammarBuilder::ref(b_.repeat({b_.range('0', '9')}, 1, kMaxFracDigits))});
  }
  return GrammarBuilder::ref(frac_any_);
}

Symbol JsonRules::frac_zero() {
  if (frac_zero_ < 0) {
    frac_zero_ = b_.optional({b_.byte('.'), GrammarBuilder::ref(b_.repeat({b_.byte('0')}, 1, kMaxFracDigits))});
  }
  return GrammarBuilder::ref(frac_zero_);
}

Symbol JsonRules::frac_nonzero() {
  if (frac_nonzero_ < 0) {
    frac_nonzero_ = b_.seq_rule(
        "frac_nz", {b_.byte('.'), GrammarBuilder::ref(b_.repeat({b_.byte('0')}, 0, kMaxFracDigits - 1)),
                    b_.range('1', '9'), GrammarBuilder::ref(b_.repeat({b_.range('0', '9')}, 0, kMaxFracDigits - 1))});
  }
  return GrammarBuilder::ref(frac_nonzero_);
}

void JsonRules::split_digits(const std::string& L, const std::string& H, size_t i, Seq prefix,
                             std::vector<Seq>& out) {
  const size_t n = L.size();
  if (i == n) {
    out.push_back(std::move(prefix));
    return;
  }
  char l = L[i], h = H[i];
  if (i == n - 1) {
    prefix.push_back(b_.range(uint8_t(l), uint8_t(h)));
    out.push_back(std::move(prefix));
    return;
  }
  if (l == h) {
    prefix.push_back(b_.byte(uint8_t(l)));
    split_digits(L, H, i + 1, std::move(prefix), out);
    return;
  }
  bool low_min = true, high_max = true;
  for (size_t k = i + 1; k < n; ++k) {
    low_min = low_min && L[k] == '0';
    high_max = high_max && H[k] == '9';
  }
  char mid_lo = l, mid_hi = h;
  if (!low_min) {
    std::string hi1 = L;
    for (size_t k = i + 1; k < n; ++k) hi1[k] = '9';
    Seq p = prefix;
    p.push_back(b_.byte(uint8_t(l)));
    split_digits(L, hi1, i + 1, std::move(p), out);
    mid_lo = char(l + 1);
  }
  if (!high_max) mid_hi = char(h - 1);
  if (mid_lo <= mid_hi) {
    Seq p = prefix;
    p.push_back(b_.range(uint8_t(mid_lo), uint8_t(mid_hi)));
    for (size_t k = i + 1; k < n; ++k) p.push_back(b_.range('0', '9'));
    out.push_back(std::move(p));
  }
  if (!high_max) {
    std::string lo1 = H;
    for (size_t k = i + 1; k < n; ++k) lo1[k] = '0';
    Seq p = prefix;
    p.push_back(b_.byte(uint8_t(h)));
    split_digits(lo1, H, i + 1, std::move(p), out);
  }
}

Symbol JsonRules::digits(int64_t a, int64_t b) {
  const int64_t cap = pow10(kMaxIntDigits) - 1;
  if (b < 0 || b > cap) b = cap;
  std::vector<Seq> alts;
  if (a > b) return b_.bytes(ByteSet());
  for (int len = 1; len <= kMaxIntDigits; ++len) {
    int64_t lo = len == 1 ? 0 : pow10(len - 1), hi = pow10(len) - 1;
    lo = std::max(lo, a);
    hi = std::min(hi, b);
    if (lo > hi) continue;
    split_digits(std::to_string(lo), std::to_string(hi), 0, {}, alts);
  }
  return GrammarBuilder::ref(b_.choice("digits", std::move(alts)));
}

void JsonRules::nonneg(Bound lo, std::optional<Bound> hi, bool frac, std::vector<Seq>& alts) {
  if (hi && hi->v < lo.v) return;  // empty
  // I == lo
  bool lo_eq_hi = hi && hi->v == lo.v;
  if (!lo.exclusive || frac) {
    if (lo_eq_hi) {
      if (!lo.exclusive && !hi->exclusive) {
        Seq s = b_.literal(std::to_string(lo.v));
        if (frac) s.push_back(frac_zero());
        alts.push_back(std::move(s));
      }
      return;
    }
    Seq s = b_.literal(std::to_string(lo.v));
    if (frac) s.push_back(lo.exclusive ? frac_nonzero() : frac_any());
    alts.push_back(std::move(s));
  }
  if (hi && hi->v <= lo.v) return;
  // lo < I < hi
  int64_t a = lo.v + 1, z = hi ? hi->v - 1 : -1;
  if (!hi || a <= z) {
    Seq s = {digits(a, z)};
    if (frac) s.push_back(frac_any());
    alts.push_back(std::move(s));
  }
  // I == hi
  if (hi && !hi->exclusive) {
    Seq s = b_.literal(std::to_string(hi->v));
    if (frac) s.push_back(frac_zero());
    alts.push_back(std::move(s));
  }
}

Symbol JsonRules::bounded(std::optional<Bound> lo, std::optional<Bound> hi, bool frac) {
  std::vector<Seq> alts;
  // Values >= 0: written I(.ddd)?
  if (!hi || hi->v > 0 || (hi->v == 0 && !hi->exclusive)) {
    Bound l = lo && lo->v >= 0 ? *lo : Bound{0, false};
    nonneg(l, hi, frac, alts);
  }
  // Values < 0: written -u with u = -value in (max(-hi, 0), -lo].
  if (!lo || lo->v < 0 || (frac && lo->v == 0 && false)) {
    Bound ul = hi && hi->v < 0 ? Bound{-hi->v, hi->exclusive} : Bound{0, true};
    std::optional<Bound> uh;
    if (lo) uh = Bound{-lo->v, lo->exclusive};
    std::vector<Seq> neg;
    nonneg(ul, uh, frac, neg);
    for (Seq& s : neg) {
      s.insert(s.begin(), b_.byte('-'));
      alts.push_back(std::move(s));
    }
  }
  if (alts.empty()) return b_.bytes(ByteSet());
  return GrammarBuilder::ref(b_.choice(frac ? "num_range" : "int_range", std::move(alts)));
}

}  // namespace yun::grammar
