// tokenizer_config.json: the special-token strings, the chat template, and
// added_tokens_decoder (extra added tokens, merged into tokenizer.json's).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "yun/base/status.h"
#include "yun/text/added_tokens.h"

namespace yun::text {

struct TokenizerConfig {
  std::string bos_token, eos_token, pad_token, unk_token;
  std::string chat_template;  // the "default" one when a list is given
  std::vector<AddedToken> added_tokens;  // from added_tokens_decoder
};

// Parses the file contents (empty text = all defaults). kInvalidArgument naming
// the problem for malformed JSON or fields of the wrong type. Never throws.
Result<TokenizerConfig> parse_tokenizer_config(std::string_view text);

}  // namespace yun::text
