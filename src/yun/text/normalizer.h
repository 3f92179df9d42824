// Normalizer: the `normalizer` section of a HF tokenizer.json. Supported:
// null, NFC, NFD, NFKC, NFKD, Lowercase, and Sequence of those.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "yun/base/status.h"

namespace yun::text {

class Normalizer {
 public:
  enum class Kind { kNfc, kNfd, kNfkc, kNfkd, kLowercase };

  // Parses the JSON value (null = no normalization). kInvalidArgument for a
  // malformed value, kUnimplemented for an unsupported type (named).
  static Result<Normalizer> from_json(const nlohmann::json& j);

  bool empty() const { return steps_.empty(); }
  // Normalizes valid UTF-8 `in` into `out` (overwritten).
  void apply(std::string_view in, std::string& out) const;

 private:
  std::vector<Kind> steps_;
};

}  // namespace yun::text
