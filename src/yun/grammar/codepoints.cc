#include "yun/grammar/codepoints.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace yun::grammar {

CodepointSet CodepointSet::range(uint32_t lo, uint32_t hi) {
  CodepointSet s;
  s.add(lo, hi);
  return s;
}

CodepointSet CodepointSet::all() {
  CodepointSet s;
  s.add(0, 0xD7FF);
  s.add(0xE000, kMaxCodepoint);
  return s;
}

void CodepointSet::add(uint32_t lo, uint32_t hi) {
  if (lo > hi) return;
  r_.emplace_back(lo, std::min(hi, kMaxCodepoint));
  normalize();
}

void CodepointSet::add(const CodepointSet& o) {
  r_.insert(r_.end(), o.r_.begin(), o.r_.end());
  normalize();
}

void CodepointSet::normalize() {
  std::sort(r_.begin(), r_.end());
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (auto [lo, hi] : r_) {
    if (!out.empty() && lo <= out.back().second + 1) {
      out.back().second = std::max(out.back().second, hi);
    } else {
      out.emplace_back(lo, hi);
    }
  }
  r_ = std::move(out);
}

CodepointSet CodepointSet::complement() const { return all().minus(*this); }

CodepointSet CodepointSet::minus(const CodepointSet& o) const {
  CodepointSet out;
  for (auto [lo, hi] : r_) {
    uint32_t cur = lo;
    bool done = false;
    for (auto [olo, ohi] : o.r_) {
      if (ohi < cur || olo > hi) continue;
      if (olo > cur) out.r_.emplace_back(cur, olo - 1);
      if (ohi >= hi) { done = true; break; }
      cur = ohi + 1;
    }
    if (!done && cur <= hi) out.r_.emplace_back(cur, hi);
  }
  out.normalize();
  return out;
}

bool CodepointSet::contains(uint32_t c) const {
  for (auto [lo, hi] : r_) if (c >= lo && c <= hi) return true;
  return false;
}

void append_utf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

std::string json_escape_codepoint(uint32_t c) {
  switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: break;
  }
  if (c < 0x20) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
    return buf;
  }
  std::string s;
  append_utf8(s, c);
  return s;
}

namespace {

using ByteRangeSeq = std::vector<std::pair<uint8_t, uint8_t>>;

// Byte-range sequences for [lo, hi], both of the same UTF-8 length.
void split_same_length(const std::string& L, const std::string& H, size_t i, ByteRangeSeq prefix,
                       std::vector<ByteRangeSeq>& out) {
  const size_t n = L.size();
  uint8_t l = uint8_t(L[i]), h = uint8_t(H[i]);
  if (i == n - 1) {
    prefix.emplace_back(l, h);
    out.push_back(std::move(prefix));
    return;
  }
  if (l == h) {
    prefix.emplace_back(l, l);
    split_same_length(L, H, i + 1, std::move(prefix), out);
    return;
  }
  bool low_min = true, high_max = true;
  for (size_t k = i + 1; k < n; ++k) {
    low_min = low_min && uint8_t(L[k]) == 0x80;
    high_max = high_max && uint8_t(H[k]) == 0xBF;
  }
  uint8_t mid_lo = l, mid_hi = h;
  if (!low_min) {
    std::string hi1 = L;
    for (size_t k = i + 1; k < n; ++k) hi1[k] = char(0xBF);
    ByteRangeSeq p = prefix;
    p.emplace_back(l, l);
    split_same_length(L, hi1, i + 1, std::move(p), out);
    mid_lo = uint8_t(l + 1);
  }
  if (!high_max) mid_hi = uint8_t(h - 1);
  if (mid_lo <= mid_hi) {
    ByteRangeSeq p = prefix;
    p.emplace_back(mid_lo, mid_hi);
    for (size_t k = i + 1; k < n; ++k) p.emplace_back(0x80, 0xBF);
    out.push_back(std::move(p));
  }
  if (!high_max) {
    std::string lo1 = H;
    for (size_t k = i + 1; k < n; ++k) lo1[k] = char(0x80);
    ByteRangeSeq p = prefix;
    p.emplace_back(h, h);
    split_same_length(lo1, H, i + 1, std::move(p), out);
  }
}

void utf8_sequences(uint32_t lo, uint32_t hi, std::vector<ByteRangeSeq>& out) {
  static const uint32_t bounds[][2] = {{0, 0x7F}, {0x80, 0x7FF}, {0x800, 0xD7FF}, {0xE000, 0xFFFF},
                                       {0x10000, 0x10FFFF}};
  for (auto& bd : bounds) {
    uint32_t a = std::max(lo, bd[0]), z = std::min(hi, bd[1]);
    if (a > z) continue;
    std::string L, H;
    append_utf8(L, a);
    append_utf8(H, z);
    split_same_length(L, H, 0, {}, out);
  }
}

}  // namespace

Symbol lower_codepoints(GrammarBuilder& b, const CodepointSet& set, Lowering how) {
  std::vector<GrammarBuilder::Seq> alts;
  ByteSet single;  // one-byte members, merged into one class
  CodepointSet plain = set;
  if (how == Lowering::kJsonString) {
    CodepointSet special = CodepointSet::range(0, 0x1F);
    special.add('"', '"');
    special.add('\\', '\\');
    plain = set.minus(special);
    for (auto [lo, hi] : set.ranges()) {
      for (uint32_t c = lo; c <= std::min<uint32_t>(hi, 0x5C); ++c) {
        if (special.contains(c)) alts.push_back(b.literal(json_escape_codepoint(c)));
      }
    }
  }
  std::vector<ByteRangeSeq> seqs;
  for (auto [lo, hi] : plain.ranges()) utf8_sequences(lo, hi, seqs);
  for (const ByteRangeSeq& s : seqs) {
    if (s.size() == 1) {
      for (int c = s[0].first; c <= s[0].second; ++c) single.set(size_t(c));
      continue;
    }
    GrammarBuilder::Seq q;
    for (auto [l, h] : s) q.push_back(b.range(l, h));
    alts.push_back(std::move(q));
  }
  if (single.any()) {
    if (alts.empty()) return b.bytes(single);
    alts.push_back({b.bytes(single)});
  }
  if (alts.size() == 1 && alts[0].size() == 1) return alts[0][0];
  if (alts.empty()) return b.bytes(ByteSet());  // empty set: unproductive
  return GrammarBuilder::ref(b.choice("chr" + std::to_string(alts.size()), std::move(alts)));
}

}  // namespace yun::grammar
