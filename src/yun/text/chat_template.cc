// ChatTemplate over the jinja interpreter (jinja_renderer.h): the variables are
// those transformers' apply_chat_template passes.
#include "yun/text/chat_template.h"

#include "yun/text/jinja_renderer.h"

namespace yun {
namespace {

class JinjaChatTemplate : public ChatTemplate {
 public:
  explicit JinjaChatTemplate(std::shared_ptr<const jinja::Body> body) : body_(std::move(body)) {}

  Result<std::string> render(const ChatTemplateInputs& in) const override {
    if (!in.messages.is_array()) return invalid_argument("chat template: messages must be an array");
    if (!in.extra.is_null() && !in.extra.is_object()) {
      return invalid_argument("chat template: extra must be an object");
    }
    try {
      return render_vars(in);
    } catch (const jinja::Error& e) {  // from_json() on values nested too deeply
      return invalid_argument("chat template: " + e.message);
    }
  }

 private:
  Result<std::string> render_vars(const ChatTemplateInputs& in) const {
    using jinja::Value;
    Value vars = Value::make_dict();
    auto set = [&](const std::string& k, Value v) { vars.dict->set(Value::string(k), std::move(v)); };
    if (in.extra.is_object()) {
      for (auto it = in.extra.begin(); it != in.extra.end(); ++it) set(it.key(), Value::from_json(it.value()));
    }
    if (!vars.dict->find(std::string("documents"))) set("documents", Value::none());  // as transformers
    set("messages", Value::from_json(in.messages));
    set("tools", in.tools.is_null() ? Value::none() : Value::from_json(in.tools));
    set("add_generation_prompt", Value::boolean(in.add_generation_prompt));
    set("bos_token", Value::string(in.bos_token));
    set("eos_token", Value::string(in.eos_token));
    return jinja::render(*body_, vars);
  }

  std::shared_ptr<const jinja::Body> body_;
};

}  // namespace

Result<std::shared_ptr<ChatTemplate>> ChatTemplate::parse(const std::string& source) {
  YUN_ASSIGN_OR_RETURN(auto body, jinja::parse(source));
  return std::shared_ptr<ChatTemplate>(std::make_shared<JinjaChatTemplate>(std::move(body)));
}

}  // namespace yun
