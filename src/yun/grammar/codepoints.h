// Sets of Unicode code points and their lowering to grammar symbols: the
// UTF-8 byte sequences of the set (one byte class per byte position, split
// so that every sequence is valid UTF-8: no overlong forms, no surrogates),
// or, for JSON string contents, the same with the characters JSON requires
// to be escaped (", \ and U+0000..U+001F) written in their escaped form.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "yun/grammar/grammar.h"

namespace yun::grammar {

constexpr uint32_t kMaxCodepoint = 0x10FFFF;

// Sorted, disjoint, non-adjacent closed ranges.
class CodepointSet {
 public:
  CodepointSet() = default;
  static CodepointSet range(uint32_t lo, uint32_t hi);
  static CodepointSet all();  // every scalar value (surrogates excluded)
  void add(uint32_t lo, uint32_t hi);
  void add(const CodepointSet& o);
  CodepointSet complement() const;  // against all()
  CodepointSet minus(const CodepointSet& o) const;
  bool empty() const { return r_.empty(); }
  bool contains(uint32_t c) const;
  const std::vector<std::pair<uint32_t, uint32_t>>& ranges() const { return r_; }
  bool operator==(const CodepointSet& o) const { return r_ == o.r_; }

 private:
  void normalize();
  std::vector<std::pair<uint32_t, uint32_t>> r_;
};

enum class Lowering { kUtf8, kJsonString };

// One symbol matching exactly one member of `set` (a byte class or a
// reference to a new rule).
Symbol lower_codepoints(GrammarBuilder& b, const CodepointSet& set, Lowering how);

// Appends the UTF-8 encoding of c.
void append_utf8(std::string& out, uint32_t c);
// The JSON-escaped form of one code point inside a string ("\"" for '"').
std::string json_escape_codepoint(uint32_t c);

}  // namespace yun::grammar
