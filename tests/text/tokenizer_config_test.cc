// parse_tokenizer_config's chat template fields and select_chat_template
// (`yun template --name`): a single template, a list of named ones (found, not
// found, "default"), and no template at all.
// Run: build/tests/yun_text_tests --gtest_filter='TokenizerConfig*'
#include <string>

#include <gtest/gtest.h>

#include "yun/text/tokenizer_config.h"

namespace yun::text {
namespace {

using Form = TokenizerConfig::ChatTemplateForm;

TokenizerConfig must_parse(const std::string& json) {
  auto r = parse_tokenizer_config(json);
  EXPECT_TRUE(r) << r.status().to_string();
  return r ? r.value() : TokenizerConfig{};
}

constexpr const char* kNamedList = R"({"bos_token": "<s>", "chat_template": [
    {"name": "default", "template": "D"},
    {"name": "tool_use", "template": "T"},
    {"name": "rag", "template": "R"}]})";

TEST(TokenizerConfig, NamedTemplateFound) {
  TokenizerConfig cfg = must_parse(kNamedList);
  EXPECT_EQ(cfg.chat_template_form, Form::kList);
  ASSERT_EQ(cfg.named_templates.size(), 3u);
  EXPECT_EQ(cfg.named_templates[1].name, "tool_use");
  EXPECT_EQ(cfg.named_templates[1].source, "T");
  auto t = select_chat_template(cfg, "tool_use");
  ASSERT_TRUE(t) << t.status().to_string();
  EXPECT_EQ(*t, "T");
  EXPECT_EQ(select_chat_template(cfg, "rag").value(), "R");
}

TEST(TokenizerConfig, NamedTemplateNotFound) {
  TokenizerConfig cfg = must_parse(kNamedList);
  auto t = select_chat_template(cfg, "nope");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(t.status().message(), "no chat template named 'nope'");

  // A list without "default": the default name is not found either, and the
  // chat_template field stays empty.
  TokenizerConfig no_default = must_parse(R"({"chat_template": [{"name": "x", "template": "X"}]})");
  EXPECT_EQ(no_default.chat_template, "");
  auto d = select_chat_template(no_default, "default");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.status().message(), "no chat template named 'default'");

  TokenizerConfig empty_list = must_parse(R"({"chat_template": []})");
  EXPECT_EQ(empty_list.chat_template_form, Form::kList);
  EXPECT_FALSE(select_chat_template(empty_list, "default"));
}

TEST(TokenizerConfig, DefaultTemplate) {
  TokenizerConfig cfg = must_parse(kNamedList);
  EXPECT_EQ(cfg.chat_template, "D");
  EXPECT_EQ(select_chat_template(cfg, "default").value(), "D");

  // Duplicate names: select_chat_template takes the first, the chat_template
  // field keeps the last "default" (unchanged behaviour for serve/run).
  TokenizerConfig dup = must_parse(R"({"chat_template": [{"name": "default", "template": "A"},
                                                        {"name": "default", "template": "B"}]})");
  EXPECT_EQ(dup.chat_template, "B");
  EXPECT_EQ(select_chat_template(dup, "default").value(), "A");
}

TEST(TokenizerConfig, SingleTemplateIgnoresName) {
  TokenizerConfig cfg = must_parse(R"({"chat_template": "S"})");
  EXPECT_EQ(cfg.chat_template_form, Form::kString);
  EXPECT_TRUE(cfg.named_templates.empty());
  EXPECT_EQ(select_chat_template(cfg, "default").value(), "S");
  EXPECT_EQ(select_chat_template(cfg, "anything").value(), "S");

  // An empty string is still a template (renders ""), not a missing one.
  TokenizerConfig empty = must_parse(R"({"chat_template": ""})");
  EXPECT_EQ(empty.chat_template_form, Form::kString);
  EXPECT_EQ(select_chat_template(empty, "default").value(), "");
}

TEST(TokenizerConfig, NoTemplate) {
  for (const char* json : {R"({"bos_token": "<s>"})", R"({"chat_template": null})", ""}) {
    SCOPED_TRACE(json);
    TokenizerConfig cfg = must_parse(json);
    EXPECT_EQ(cfg.chat_template_form, Form::kNone);
    auto t = select_chat_template(cfg, "default");
    ASSERT_FALSE(t);
    EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
    EXPECT_EQ(t.status().message(), "tokenizer_config.json has no chat_template");
  }
}

TEST(TokenizerConfig, BadTemplateListIsInvalidArgument) {
  auto r = parse_tokenizer_config(R"({"chat_template": [{"name": "x"}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  auto n = parse_tokenizer_config(R"({"chat_template": 5})");
  ASSERT_FALSE(n);
  EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace yun::text
