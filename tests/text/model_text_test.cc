// load_model_text (text/model_text.h): the one loader of a model's tokenizer
// and chat template that run, serve and template use. Checks the precedence
// (override file > chat_template.jinja > tokenizer_config.json), named
// templates, --tokenizer DIR, and the errors, on directories built in a temp
// dir (plus the real Qwen3 tokenizer for the tokenizer itself).
// Run: build/tests/yun_text_tests --gtest_filter='ModelText*'
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "yun/text/model_text.h"

namespace yun {
namespace {

namespace fs = std::filesystem;

class ModelTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("yun-model-text-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
  }
  void write_config(const nlohmann::json& chat_template) {
    nlohmann::json c = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
    if (!chat_template.is_null()) c["chat_template"] = chat_template;
    write("tokenizer_config.json", c.dump());
  }
  std::string render(const ModelText& mt) {
    ChatTemplateInputs in;
    in.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", "hi"}}});
    in.bos_token = mt.bos_token;
    in.eos_token = mt.eos_token;
    auto r = mt.chat_template->render(in);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return r.is_ok() ? *r : "";
  }
  std::string d() const { return dir_.string(); }
  fs::path dir_;
};

TEST_F(ModelTextTest, TokenizerConfigTemplate) {
  write_config("config:{{ bos_token }}{{ messages[0].content }}");
  auto mt = load_model_text(d());
  ASSERT_TRUE(mt.is_ok()) << mt.status().message();
  EXPECT_FALSE(mt->tokenizer);  // no tokenizer.json: token-id prompts only
  ASSERT_TRUE(mt->chat_template);
  EXPECT_EQ(render(*mt), "config:<s>hi");
  EXPECT_EQ(mt->template_origin, d() + "/tokenizer_config.json");
}

TEST_F(ModelTextTest, JinjaFileWinsOverConfig) {
  write_config("config");
  write("chat_template.jinja", "jinja:{{ messages[0].content }}");
  auto mt = load_model_text(d());
  ASSERT_TRUE(mt.is_ok()) << mt.status().message();
  EXPECT_EQ(render(*mt), "jinja:hi");
}

TEST_F(ModelTextTest, OverrideWinsOverEverything) {
  write_config("config");
  write("chat_template.jinja", "jinja");
  write("override.jinja", "override:{{ eos_token }}");
  ModelTextOptions o;
  o.template_override = d() + "/override.jinja";
  auto mt = load_model_text(d(), o);
  ASSERT_TRUE(mt.is_ok()) << mt.status().message();
  EXPECT_EQ(render(*mt), "override:</s>");
  // Without a model directory, the override alone.
  auto alone = load_model_text("", o);
  ASSERT_TRUE(alone.is_ok()) << alone.status().message();
  EXPECT_EQ(render(*alone), "override:");
}

TEST_F(ModelTextTest, NoTemplateIsNotAnError) {
  write_config(nullptr);
  auto mt = load_model_text(d());
  ASSERT_TRUE(mt.is_ok());
  EXPECT_FALSE(mt->chat_template);
  EXPECT_TRUE(mt->template_source.empty());
  fs::remove(dir_ / "tokenizer_config.json");
  EXPECT_TRUE(load_model_text(d()).is_ok());
}

TEST_F(ModelTextTest, NamedTemplates) {
  write_config(nlohmann::json::array({{{"name", "default"}, {"template", "default"}},
                                      {{"name", "tool_use"}, {"template", "tools"}}}));
  auto mt = load_model_text(d());
  ASSERT_TRUE(mt.is_ok());
  EXPECT_EQ(mt->template_source, "default");
  ModelTextOptions o;
  o.template_name = "tool_use";
  mt = load_model_text(d(), o);
  ASSERT_TRUE(mt.is_ok());
  EXPECT_EQ(mt->template_source, "tools");
  o.template_name = "nope";
  mt = load_model_text(d(), o);
  ASSERT_FALSE(mt.is_ok());
  EXPECT_NE(mt.status().message().find("nope"), std::string::npos);
}

TEST_F(ModelTextTest, Errors) {
  write_config("{% if %}");  // does not parse
  auto mt = load_model_text(d());
  ASSERT_FALSE(mt.is_ok());
  EXPECT_EQ(mt.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mt.status().message().find("tokenizer_config.json"), std::string::npos);

  write_config("ok");
  ModelTextOptions o;
  o.template_override = d() + "/missing.jinja";
  mt = load_model_text(d(), o);
  ASSERT_FALSE(mt.is_ok());
  EXPECT_EQ(mt.status().code(), StatusCode::kNotFound);

  ModelTextOptions req;
  req.require_tokenizer = true;
  mt = load_model_text(d(), req);
  ASSERT_FALSE(mt.is_ok());
  EXPECT_EQ(mt.status().code(), StatusCode::kNotFound);

  write("tokenizer.json", "{not json");
  mt = load_model_text(d());
  ASSERT_FALSE(mt.is_ok());
  EXPECT_EQ(mt.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ModelTextTest, TokenizerFromTokenizerDir) {
  const std::string tok = test::tokenizer_dir();
  if (!fs::exists(tok + "/tokenizer.json")) GTEST_SKIP() << "no tokenizer at " << tok;
  write("chat_template.jinja", "model dir's own");  // not read: --tokenizer names another dir
  ModelTextOptions o;
  o.tokenizer_dir = tok;
  o.require_tokenizer = true;
  auto mt = load_model_text(d(), o);
  ASSERT_TRUE(mt.is_ok()) << mt.status().message();
  ASSERT_TRUE(mt->tokenizer);
  EXPECT_FALSE(mt->tokenizer->encode("hello").empty());
  ASSERT_TRUE(mt->chat_template);  // Qwen3's, from its tokenizer_config.json
  EXPECT_NE(mt->template_source.find("im_start"), std::string::npos);
  EXPECT_EQ(mt->eos_token, mt->tokenizer->eos_token());
}

}  // namespace
}  // namespace yun
