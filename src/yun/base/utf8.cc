#include "yun/base/utf8.h"

#include <cstdint>

namespace yun {

namespace {

// Returns the length of a valid sequence starting at s[i], or 0 when the
// bytes there are invalid; sets *incomplete when the sequence is a valid
// prefix cut off by the end of the input.
size_t valid_seq_len(std::string_view s, size_t i, bool* incomplete) {
  *incomplete = false;
  auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) return 1;
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) {
      *incomplete = true;
      return 0;
    }
    auto b = static_cast<uint8_t>(s[i + k]);
    uint8_t l = (k == 1) ? lo : 0x80, h = (k == 1) ? hi : 0xBF;
    if (b < l || b > h) return 0;
  }
  return len;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    bool inc;
    size_t n = valid_seq_len(s, i, &inc);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

size_t utf8_complete_prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    bool inc;
    size_t n = valid_seq_len(s, i, &inc);
    if (n == 0) {
      if (inc) return i;  // valid but incomplete tail: hold it back
      ++i;                // invalid byte: it will never complete; let it through
      continue;
    }
    i += n;
  }
  return i;
}

std::string utf8_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    bool inc;
    size_t n = valid_seq_len(s, i, &inc);
    if (n > 0) {
      out.append(s.data() + i, n);
      i += n;
      continue;
    }
    // Skip the maximal invalid subpart: the lead byte plus any continuation
    // bytes that were valid so far.
    size_t j = i + 1;
    auto b0 = static_cast<uint8_t>(s[i]);
    if (b0 >= 0xC2 && b0 <= 0xF4) {
      while (j < s.size() && j < i + 4) {
        std::string_view sub = s.substr(i, j - i + 1);
        bool inc2;
        size_t m = valid_seq_len(sub, 0, &inc2);
        if (m == 0 && inc2) {
          ++j;
        } else {
          break;
        }
      }
    }
    out += "\xEF\xBF\xBD";
    i = j;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace yun
