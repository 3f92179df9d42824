// Added tokens (tokenizer.json `added_tokens`): strings matched in the text
// before the model runs, leftmost-longest, each becoming a single id.
// Flags follow HF: lstrip/rstrip absorb whitespace beside a match,
// single_word requires non-word characters (or the text edge) on both sides,
// normalized says whether the token is matched after normalization.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace yun::text {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool single_word = false;
};

// A piece of text after added-token splitting: bytes [begin, end) of the input,
// and the added token's id, or -1 for ordinary text.
struct TextSegment {
  size_t begin;
  size_t end;
  int32_t id;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // `tokens` must outlive the matcher; empty contents are ignored.
  explicit AddedTokenMatcher(std::vector<const AddedToken*> tokens);

  bool empty() const { return tokens_.empty(); }
  // Splits `text` into ordinary text and added tokens (in order); ordinary
  // segments are never empty. Whitespace absorbed by lstrip/rstrip is dropped.
  void split(std::string_view text, std::vector<TextSegment>& out) const;

 private:
  // The longest token matching at `pos` that passes its single_word check.
  const AddedToken* match_at(std::string_view text, size_t pos) const;

  std::vector<const AddedToken*> tokens_;           // longest first
  std::array<std::vector<uint32_t>, 256> by_first_;  // indices into tokens_, longest first
};

}  // namespace yun::text
