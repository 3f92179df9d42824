#include "yun/text/byte_level.h"

#include <array>

namespace yun::text {

namespace {

struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<char, 512> utf8{};  // 2 slots per byte
  std::array<uint8_t, 256> utf8_len{};
  std::array<int16_t, 512> from_char{};  // every alphabet char is < U+0200

  Tables() {
    from_char.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      char32_t cp = printable ? char32_t(b) : next++;
      to_char[b] = cp;
      from_char[cp] = int16_t(b);
      if (cp < 0x80) {
        utf8[2 * b] = char(cp);
        utf8_len[b] = 1;
      } else {
        utf8[2 * b] = char(0xC0 | (cp >> 6));
        utf8[2 * b + 1] = char(0x80 | (cp & 0x3F));
        utf8_len[b] = 2;
      }
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t byte_level_char(uint8_t b) { return tables().to_char[b]; }

std::string_view byte_level_utf8(uint8_t b) {
  const Tables& t = tables();
  return {&t.utf8[2 * b], t.utf8_len[b]};
}

int byte_level_byte(char32_t cp) { return cp < 512 ? tables().from_char[cp] : -1; }

void byte_level_encode(std::string_view bytes, std::string& out) {
  const Tables& t = tables();
  for (char c : bytes) {
    auto b = uint8_t(c);
    out.append(&t.utf8[2 * b], t.utf8_len[b]);
  }
}

char32_t next_code_point(std::string_view s, size_t* pos) {
  size_t i = *pos;
  auto b0 = uint8_t(s[i]);
  if (b0 < 0x80) {
    *pos = i + 1;
    return b0;
  }
  int len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
  if (len == 0 || i + len > s.size()) {
    *pos = i + 1;
    return 0xFFFD;
  }
  char32_t cp = b0 & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    auto b = uint8_t(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      *pos = i + 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  *pos = i + len;
  return cp;
}

std::string byte_level_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    char32_t cp = next_code_point(s, &i);
    int b = byte_level_byte(cp);
    if (b >= 0 && !(cp == 0xFFFD)) {
      out += char(b);
    } else {
      out.append(s.data() + start, i - start);
    }
  }
  return out;
}

}  // namespace yun::text
