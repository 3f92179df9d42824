// ChatTemplate: renders a model's Jinja2 chat template as transformers'
// apply_chat_template does (trim_blocks, lstrip_blocks, tojson like
// json.dumps(ensure_ascii=False)).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "yun/base/status.h"

namespace yun {

struct ChatTemplateInputs {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;  // null when absent
  bool add_generation_prompt = false;
  // Extra keyword arguments (e.g. {"enable_thinking": false}); an object.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  std::string bos_token, eos_token;
};

class ChatTemplate {
 public:
  virtual ~ChatTemplate() = default;
  // Parses the template source. Errors: kInvalidArgument with "line L, column C: ...".
  static Result<std::shared_ptr<ChatTemplate>> parse(const std::string& source);
  // Renders. Errors: kInvalidArgument for rendering errors, raise_exception() messages.
  virtual Result<std::string> render(const ChatTemplateInputs& inputs) const = 0;
};

}  // namespace yun
