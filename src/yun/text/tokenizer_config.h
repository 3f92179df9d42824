// tokenizer_config.json: the special-token strings, the chat template(s), and
// added_tokens_decoder (extra added tokens, merged into tokenizer.json's).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "yun/base/status.h"
#include "yun/text/added_tokens.h"

namespace yun::text {

// One entry of a list-valued "chat_template": {"name": ..., "template": ...}.
struct NamedChatTemplate {
  std::string name;
  std::string source;  // the Jinja text
};

struct TokenizerConfig {
  std::string bos_token, eos_token, pad_token, unk_token;
  std::string chat_template;  // the "default" one when a list is given
  // What "chat_template" holds: nothing (absent or null), one template (a
  // string, possibly ""), or a list of named ones.
  enum class ChatTemplateForm { kNone, kString, kList };
  ChatTemplateForm chat_template_form = ChatTemplateForm::kNone;
  // Every entry of a list-valued "chat_template", in file order (duplicates
  // kept); empty when it is a string or absent.
  std::vector<NamedChatTemplate> named_templates;
  std::vector<AddedToken> added_tokens;  // from added_tokens_decoder
};

// Parses the file contents (empty text = all defaults). kInvalidArgument naming
// the problem for malformed JSON or fields of the wrong type. Never throws.
Result<TokenizerConfig> parse_tokenizer_config(std::string_view text);

// The chat template called `name` in `cfg`. When "chat_template" is a single
// string, that string whatever `name` is; when it is a list, the template of
// the first entry named `name` (the "chat_template" field instead keeps the
// last one named "default"). kNotFound "tokenizer_config.json has no
// chat_template" when cfg has none (absent or null); kNotFound "no chat
// template named '<name>'" when the list has no such entry.
Result<std::string> select_chat_template(const TokenizerConfig& cfg, std::string_view name);

}  // namespace yun::text
