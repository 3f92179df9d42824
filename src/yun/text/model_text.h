// ModelText: a model's text assets, loaded by one rule for every command
// (`yun run`, `yun serve`, `yun template`, `yun tokenize`).
//
// The tokenizer comes from tokenizer.json (+ tokenizer_config.json) in the
// tokenizer directory (the model directory unless --tokenizer names another).
// The chat template source, first found wins:
//   1. the override file (--chat-template FILE / --template-file FILE);
//   2. chat_template.jinja in the tokenizer directory (what transformers
//      saves since 4.43, and prefers over tokenizer_config.json's);
//   3. tokenizer_config.json's "chat_template" (a string, or for a list the
//      entry named `template_name`; without a name the last one named
//      "default", as transformers picks it);
//   otherwise none (the model has no chat template).
// The bos/eos token strings given to the template are tokenizer_config.json's.
// A GGUF file as the model (and no --tokenizer) brings its own tokenizer and
// template (tokenizer.ggml.*, tokenizer.chat_template: text/gguf_tokenizer.h).
#pragma once

#include <memory>
#include <string>

#include "yun/base/status.h"
#include "yun/text/chat_template.h"
#include "yun/text/tokenizer.h"

namespace yun {

struct ModelTextOptions {
  std::string tokenizer_dir;       // empty: the model directory
  std::string template_override;   // a Jinja file that wins over the model's template
  std::string template_name;       // for a list-valued chat_template; empty: "default"
  bool require_tokenizer = false;  // a missing tokenizer.json is an error
};

struct ModelText {
  std::shared_ptr<Tokenizer> tokenizer;  // null: no tokenizer.json (token-id prompts only)
  std::string template_source;           // empty: no chat template
  std::string template_origin;           // where it came from (a path), for messages
  std::shared_ptr<const ChatTemplate> chat_template;  // parsed; null when there is none
  std::string bos_token, eos_token;                   // from tokenizer_config.json
};

// Loads the assets of `model_dir` by the rule above. An empty `model_dir`
// (and no tokenizer_dir) loads only the override file.
// Errors: kNotFound when the override file cannot be read, or (with
// require_tokenizer) there is no tokenizer.json; kInvalidArgument for a
// corrupt tokenizer.json / tokenizer_config.json, a template that does not
// parse (naming its origin), or a template_name the list does not have.
Result<ModelText> load_model_text(const std::string& model_dir, const ModelTextOptions& options = {});

}  // namespace yun
