// Regex: a compiled PCRE2 pattern (UTF + UCP, JIT when available) for the
// Split pre-tokenizer. Immutable and shareable across threads; each find_all
// call uses its own match data.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "yun/base/status.h"

namespace yun::text {

class Regex {
 public:
  // Compiles `pattern` (Oniguruma/PCRE syntax). kInvalidArgument with the PCRE2
  // message and offset when it does not compile.
  static Result<Regex> compile(const std::string& pattern);

  // Appends the [begin, end) byte ranges of all non-overlapping matches in
  // `subject` (valid UTF-8), left to right. An empty match advances by one char.
  void find_all(std::string_view subject, std::vector<std::pair<size_t, size_t>>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
  std::string pattern_;
};

}  // namespace yun::text
