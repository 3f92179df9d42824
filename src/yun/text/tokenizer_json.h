// Fast reader for HF tokenizer.json. The big parts (model.vocab, model.merges)
// are read directly into vectors by a small hand-written JSON scanner; every
// other section is handed to nlohmann::json as its raw text, so loading the
// 11 MB Qwen file takes a few tens of milliseconds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "yun/base/status.h"

namespace yun::text {

struct TokenizerSpec {
  nlohmann::json sections = nlohmann::json::object();  // top-level keys except "model"
  nlohmann::json model = nlohmann::json::object();     // model keys except vocab/merges
  bool has_model = false;
  bool has_vocab = false;
  bool has_merges = false;
  std::vector<std::pair<std::string, int32_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
};

// Parses tokenizer.json text. kInvalidArgument naming the problem (with the
// byte offset for syntax errors). Never throws.
Result<TokenizerSpec> parse_tokenizer_json(std::string_view text);

}  // namespace yun::text
