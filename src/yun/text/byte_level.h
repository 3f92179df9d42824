// ByteLevel alphabet (GPT-2 style): every byte 0..255 maps to one printable
// Unicode code point, so that byte strings can be stored as text in a vocab.
// Printable Latin-1 bytes map to themselves; the rest map to U+0100.. in order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace yun::text {

// The code point that byte `b` is written as.
char32_t byte_level_char(uint8_t b);
// The UTF-8 encoding of byte_level_char(b) (1 or 2 bytes).
std::string_view byte_level_utf8(uint8_t b);
// The byte that code point `cp` stands for, or -1 when `cp` is not in the alphabet.
int byte_level_byte(char32_t cp);

// Appends the alphabet form of raw `bytes` to `out`.
void byte_level_encode(std::string_view bytes, std::string& out);
// Raw bytes of an alphabet string. Characters outside the alphabet (and
// invalid UTF-8) are copied through unchanged, as the HF ByteLevel decoder does.
std::string byte_level_decode(std::string_view s);

// Decodes one UTF-8 character of `s` at `*pos`, advancing *pos. Returns
// U+FFFD (advancing one byte) for an invalid sequence. REQUIRES: *pos < size.
char32_t next_code_point(std::string_view s, size_t* pos);

}  // namespace yun::text
