#include "yun/text/model_text.h"

#include "yun/base/mapped_file.h"
#include "yun/text/gguf_tokenizer.h"
#include "yun/text/tokenizer_config.h"

namespace yun {

namespace {

// A GGUF file carries its tokenizer and chat template in its metadata.
Result<ModelText> load_gguf_text(const std::string& path, const ModelTextOptions& o) {
  YUN_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> f, GgufFile::open(path));
  ModelText mt;
  auto tok = tokenizer_from_gguf(*f);
  if (tok) {
    mt.tokenizer = *tok;
    mt.bos_token = mt.tokenizer->bos_token();
    mt.eos_token = mt.tokenizer->eos_token();
  } else if (tok.status().code() != StatusCode::kNotFound || o.require_tokenizer) {
    return tok.status();
  }
  if (!o.template_override.empty()) {
    auto text = read_file(o.template_override);
    if (!text) return not_found("cannot read chat template file " + o.template_override);
    mt.template_source = std::move(*text);
    mt.template_origin = o.template_override;
  } else if (auto t = f->get_string("tokenizer.chat_template")) {
    mt.template_source = *t;
    mt.template_origin = path + " (tokenizer.chat_template)";
  }
  if (!mt.template_source.empty()) {
    auto t = ChatTemplate::parse(mt.template_source);
    if (!t) return t.status().with_context("chat template " + mt.template_origin);
    mt.chat_template = *t;
  }
  return mt;
}

}  // namespace

Result<ModelText> load_model_text(const std::string& model_dir, const ModelTextOptions& o) {
  if (o.tokenizer_dir.empty() && !model_dir.empty() && is_gguf_file(model_dir))
    return load_gguf_text(model_dir, o);
  const std::string dir = o.tokenizer_dir.empty() ? model_dir : o.tokenizer_dir;
  ModelText mt;
  if (dir.empty()) {  // no directory: only the override file
    if (o.template_override.empty()) return invalid_argument("no model directory");
    if (o.require_tokenizer) return not_found("no tokenizer (no model directory)");
    auto text = read_file(o.template_override);
    if (!text) return not_found("cannot read chat template file " + o.template_override);
    mt.template_source = std::move(*text);
    mt.template_origin = o.template_override;
    auto t = ChatTemplate::parse(mt.template_source);
    if (!t) return t.status().with_context("chat template " + mt.template_origin);
    mt.chat_template = *t;
    return mt;
  }

  auto tok = Tokenizer::load(dir);
  if (tok) {
    mt.tokenizer = *tok;
  } else if (tok.status().code() != StatusCode::kNotFound || o.require_tokenizer) {
    return tok.status();
  }

  text::TokenizerConfig cfg;
  if (auto c = read_file(dir + "/tokenizer_config.json")) {
    auto parsed = text::parse_tokenizer_config(*c);
    if (!parsed) return parsed.status().with_context(dir + "/tokenizer_config.json");
    cfg = std::move(*parsed);
  } else if (c.status().code() != StatusCode::kNotFound) {
    return c.status();
  }
  mt.bos_token = cfg.bos_token;
  mt.eos_token = cfg.eos_token;

  if (!o.template_override.empty()) {
    auto text = read_file(o.template_override);
    if (!text) return not_found("cannot read chat template file " + o.template_override);
    mt.template_source = std::move(*text);
    mt.template_origin = o.template_override;
  } else if (auto text = read_file(dir + "/chat_template.jinja")) {
    mt.template_source = std::move(*text);
    mt.template_origin = dir + "/chat_template.jinja";
  } else if (!o.template_name.empty() && cfg.chat_template_form != text::TokenizerConfig::ChatTemplateForm::kNone) {
    auto picked = text::select_chat_template(cfg, o.template_name);
    if (!picked) return invalid_argument(dir + "/tokenizer_config.json: " + picked.status().message());
    mt.template_source = std::move(*picked);
    mt.template_origin = dir + "/tokenizer_config.json";
  } else if (!cfg.chat_template.empty()) {
    mt.template_source = cfg.chat_template;
    mt.template_origin = dir + "/tokenizer_config.json";
  }
  if (!mt.template_source.empty()) {
    auto t = ChatTemplate::parse(mt.template_source);
    if (!t) return t.status().with_context("chat template " + mt.template_origin);
    mt.chat_template = *t;
  }
  return mt;
}

}  // namespace yun
