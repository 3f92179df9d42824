// PreTokenizer: the `pre_tokenizer` section of a HF tokenizer.json. Splits
// normalized text into pieces that the BPE model encodes independently.
// Supported: null, Split (Regex or String pattern; behaviors Removed, Isolated,
// MergedWithPrevious, MergedWithNext, Contiguous; invert), ByteLevel
// (add_prefix_space, use_regex with the GPT-2 pattern), and Sequence.
// The ByteLevel byte->char mapping itself is left to the BPE model, which works
// on raw bytes; byte_level() tells whether it applies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "yun/base/status.h"
#include "yun/text/pretokenizer_regex.h"

namespace yun::text {

// A piece of a pre-tokenized buffer: bytes [begin, end).
struct Span {
  uint32_t begin;
  uint32_t end;
};

class PreTokenizer {
 public:
  enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

  // Parses the JSON value (null = the whole text is one piece). Errors name the
  // problem: kInvalidArgument (malformed, bad regex), kUnimplemented (type).
  static Result<PreTokenizer> from_json(const nlohmann::json& j);

  // Splits `text` (< 4 GiB) into pieces: `buf` receives the bytes the spans index (it is
  // `text` itself unless a step inserts bytes), `pieces` the spans in order.
  void split(std::string_view text, std::string& buf, std::vector<Span>& pieces) const;

  // True when a ByteLevel step is present (the vocab is in the byte alphabet).
  bool byte_level() const { return byte_level_; }

 private:
  struct Step {
    enum class Type { kSplitRegex, kSplitString, kByteLevel } type;
    Regex regex;            // kSplitRegex, and kByteLevel with use_regex
    std::string literal;    // kSplitString
    Behavior behavior = Behavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false;  // kByteLevel
    bool use_regex = false;         // kByteLevel
  };
  static Status add_steps(const nlohmann::json& j, std::vector<Step>& steps, bool* byte_level);
  static void split_step(const Step& step, std::string_view buf, Span span,
                         std::vector<std::pair<size_t, size_t>>& scratch,
                         std::vector<Span>& out);

  std::vector<Step> steps_;
  bool byte_level_ = false;
};

}  // namespace yun::text
