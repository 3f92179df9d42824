// UTF-8 helpers shared by text/, engine/ and serve/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace yun {

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Length of the longest prefix of `s` that ends on a complete UTF-8 character
// boundary, treating a trailing incomplete (but so far valid) sequence as not
// yet complete. Used to hold back partial characters while streaming.
size_t utf8_complete_prefix(std::string_view s);

// Replaces each invalid byte sequence with U+FFFD (as Python's
// bytes.decode("utf-8", "replace") does, one per maximal invalid subpart).
std::string utf8_sanitize(std::string_view s);

// Appends the UTF-8 encoding of code point `cp` to `out`.
void append_utf8(std::string& out, char32_t cp);

}  // namespace yun
