#include "yun/text/tokenizer_config.h"

#include <nlohmann/json.hpp>

#include "yun/base/json_limits.h"

namespace yun::text {

namespace {

// A special token field: a string, {"content": string, ...}, or null.
Result<std::string> token_field(const nlohmann::json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  return invalid_argument(std::string("tokenizer_config.json: \"") + key +
                          "\" must be a string or an object with a string \"content\"");
}

bool flag(const nlohmann::json& j, const char* key, bool def) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : def;
}

}  // namespace

Result<TokenizerConfig> parse_tokenizer_config(std::string_view text) {
  TokenizerConfig out;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;
  try {
    auto parsed = parse_json_bounded<nlohmann::json>(text, JsonLimits::model_file());
    if (!parsed.is_ok()) return parsed.status().with_context("tokenizer_config.json");
    const nlohmann::json& cfg = *parsed;
    if (!cfg.is_object()) return invalid_argument("tokenizer_config.json: not a JSON object");
    YUN_ASSIGN_OR_RETURN(out.bos_token, token_field(cfg, "bos_token"));
    YUN_ASSIGN_OR_RETURN(out.eos_token, token_field(cfg, "eos_token"));
    YUN_ASSIGN_OR_RETURN(out.pad_token, token_field(cfg, "pad_token"));
    YUN_ASSIGN_OR_RETURN(out.unk_token, token_field(cfg, "unk_token"));
    if (auto it = cfg.find("chat_template"); it != cfg.end() && !it->is_null()) {
      if (it->is_string()) {
        out.chat_template_form = TokenizerConfig::ChatTemplateForm::kString;
        out.chat_template = it->get<std::string>();
      } else if (it->is_array()) {
        out.chat_template_form = TokenizerConfig::ChatTemplateForm::kList;
        for (const auto& t : *it) {
          if (!t.is_object() || !t.contains("name") || !t.contains("template") ||
              !t["name"].is_string() || !t["template"].is_string()) {
            return invalid_argument(
                "tokenizer_config.json: chat_template list entries need string name/template");
          }
          out.named_templates.push_back(
              {t["name"].get<std::string>(), t["template"].get<std::string>()});
          if (t["name"] == "default") out.chat_template = out.named_templates.back().source;
        }
      } else {
        return invalid_argument("tokenizer_config.json: chat_template must be a string or list");
      }
    }
    if (auto it = cfg.find("added_tokens_decoder"); it != cfg.end() && it->is_object()) {
      for (const auto& [key, v] : it->items()) {
        AddedToken t;
        try {
          t.id = std::stoi(key);
        } catch (...) {
          return invalid_argument("tokenizer_config.json: added_tokens_decoder key \"" + key +
                                  "\" is not an id");
        }
        if (!v.is_object() || !v.contains("content") || !v["content"].is_string()) {
          return invalid_argument("tokenizer_config.json: added_tokens_decoder[" + key +
                                  "] needs a string \"content\"");
        }
        t.content = v["content"].get<std::string>();
        t.special = flag(v, "special", false);
        t.lstrip = flag(v, "lstrip", false);
        t.rstrip = flag(v, "rstrip", false);
        t.normalized = flag(v, "normalized", !t.special);
        t.single_word = flag(v, "single_word", false);
        out.added_tokens.push_back(std::move(t));
      }
    }
    return out;
  } catch (const std::exception& e) {
    return invalid_argument(std::string("tokenizer_config.json: ") + e.what());
  }
}

Result<std::string> select_chat_template(const TokenizerConfig& cfg, std::string_view name) {
  using Form = TokenizerConfig::ChatTemplateForm;
  if (cfg.chat_template_form == Form::kNone) {
    return not_found("tokenizer_config.json has no chat_template");
  }
  if (cfg.chat_template_form == Form::kString) return cfg.chat_template;
  for (const NamedChatTemplate& t : cfg.named_templates) {
    if (t.name == name) return t.source;
  }
  return not_found("no chat template named '" + std::string(name) + "'");
}

}  // namespace yun::text
