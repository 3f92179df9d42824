// Differential test: yun's ChatTemplate against Python jinja2 configured as
// transformers does (tools/jinja_reference.py), over generated conversations
// and the real templates in tests/data/templates/ (skipped without python3+jinja2).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "yun/base/mapped_file.h"
#include "yun/text/chat_template.h"

namespace yun {
namespace {

using Json = nlohmann::ordered_json;

const char* const kTexts[] = {
    "Hello!", "What is 2+2?", "  padded text \n", "multi\nline\n\ncontent", "quotes ' and \" here",
    "unicode: héllo 中文 🚀", "<tool_response>\n{\"ok\": true}\n</tool_response>", "", "{{ not a tag }}",
    "tabs\tand\\backslashes", "Sure. The answer is 4.",
};

std::string pick(std::mt19937& rng) { return kTexts[rng() % std::size(kTexts)]; }

Json tool_call(std::mt19937& rng, int k) {
  Json args = {{"city", k % 2 ? "Hangzhou" : "Paris"}, {"days", int(rng() % 5)}, {"note", pick(rng)}};
  Json fn = {{"name", k % 2 ? "get_weather" : "search"}};
  fn["arguments"] = rng() % 2 ? Json(args.dump()) : args;
  return {{"id", "call_" + std::to_string(k)}, {"type", "function"}, {"function", fn}};
}

// Plain alternating user/assistant turns (what every template accepts).
Json simple_conversation(std::mt19937& rng) {
  Json msgs = Json::array();
  int turns = 1 + int(rng() % 4);
  for (int t = 0; t < turns; ++t) {
    msgs.push_back({{"role", "user"}, {"content", pick(rng)}});
    if (t + 1 < turns || rng() % 2) msgs.push_back({{"role", "assistant"}, {"content", pick(rng)}});
  }
  return msgs;
}

Json conversation(std::mt19937& rng) {
  if (rng() % 3 == 0) return simple_conversation(rng);
  Json msgs = Json::array();
  if (rng() % 2) msgs.push_back({{"role", "system"}, {"content", rng() % 3 ? "You are helpful." : pick(rng)}});
  int turns = 1 + int(rng() % 4);
  for (int t = 0; t < turns; ++t) {
    msgs.push_back({{"role", "user"}, {"content", pick(rng)}});
    bool last = t == turns - 1;
    if (last && rng() % 2) break;  // ends on a user turn
    Json a = {{"role", "assistant"}};
    switch (rng() % 5) {
      case 0: a["content"] = pick(rng); break;
      case 1: a["content"] = "<think>\nLet me think.\n</think>\n\n" + pick(rng); break;
      case 2:
        a["content"] = pick(rng);
        a["reasoning_content"] = "Reasoning " + std::to_string(t);
        break;
      default: {
        a["content"] = rng() % 4 == 0 ? Json(nullptr) : Json(pick(rng));
        Json calls = Json::array();
        int n = 1 + int(rng() % 2);
        for (int k = 0; k < n; ++k) calls.push_back(tool_call(rng, k));
        a["tool_calls"] = calls;
        msgs.push_back(a);
        for (int k = 0; k < n; ++k) msgs.push_back({{"role", "tool"}, {"content", pick(rng)}});
        if (rng() % 2) msgs.push_back({{"role", "assistant"}, {"content", pick(rng)}});
        continue;
      }
    }
    msgs.push_back(a);
  }
  return msgs;
}

Json tools_list() {
  return Json::parse(R"([{"type": "function", "function": {"name": "get_weather", "description": "Weather ☀",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"]}}}, {"type": "function", "function": {"name": "search", "parameters": {}}}])");
}

struct Named {
  std::string name, source, bos, eos;
};

TEST(ChatTemplateDiff, RealTemplatesMatchPythonJinja2) {
  if (std::system("python3 -c 'import jinja2' >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3 jinja2";
  std::vector<Named> templates = {
      {"qwen3", "", "", "<|im_end|>"},
      {"qwen3_5", "", "", "<|im_end|>"},
      {"llama3_1", "", "<|begin_of_text|>", "<|eot_id|>"},
      {"deepseek_v3", "", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"},
      {"gemma3", "", "<bos>", "<end_of_turn>"},
      {"llama3", "", "<|begin_of_text|>", "<|end_of_text|>"},
      {"yun_mixed", "", "<s>", "</s>"},
  };
  std::vector<Named> present;
  for (auto& t : templates) {
    auto source = read_file(test::data_dir() + "/templates/" + t.name + ".jinja");
    if (!source) continue;
    t.source = std::move(*source);
    present.push_back(t);
  }
  ASSERT_FALSE(present.empty());

  std::mt19937 rng(1234);
  std::vector<Json> contexts;
  for (int k = 0; k < 240; ++k) {
    Json ctx = {{"messages", conversation(rng)}};
    ctx["tools"] = rng() % 3 == 0 ? tools_list() : Json(nullptr);
    ctx["add_generation_prompt"] = rng() % 3 != 0;
    ctx["documents"] = nullptr;
    int think = int(rng() % 3);
    if (think < 2) ctx["enable_thinking"] = think == 1;
    contexts.push_back(ctx);
  }

  std::string in_path = testing::TempDir() + "chat_diff_in.jsonl";
  std::string out_path = testing::TempDir() + "chat_diff_out.jsonl";
  {
    std::ofstream in(in_path);
    for (const auto& t : present) {
      for (Json ctx : contexts) {
        ctx["bos_token"] = t.bos;
        ctx["eos_token"] = t.eos;
        in << Json({{"template", t.source}, {"context", ctx}}).dump() << "\n";
      }
    }
  }
  std::string script = test::data_dir() + "/../../tools/jinja_reference.py";
  std::string cmd = "python3 '" + script + "' < '" + in_path + "' > '" + out_path + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream out(out_path);

  for (const auto& t : present) {
    auto tmpl = ChatTemplate::parse(t.source);
    ASSERT_TRUE(tmpl.is_ok()) << t.name << ": " << tmpl.status().to_string();
    int agree = 0, ref_errors = 0;
    for (const auto& ctx : contexts) {
      std::string line;
      ASSERT_TRUE(std::getline(out, line));
      Json ref = Json::parse(line);
      ChatTemplateInputs in;
      in.messages = ctx["messages"];
      in.tools = ctx["tools"];
      in.add_generation_prompt = ctx["add_generation_prompt"].get<bool>();
      if (ctx.contains("enable_thinking")) in.extra["enable_thinking"] = ctx["enable_thinking"];
      in.bos_token = t.bos;
      in.eos_token = t.eos;
      auto mine = (*tmpl)->render(in);
      if (ref.contains("error")) {
        ++ref_errors;
        std::string err = ref["error"].get<std::string>();
        EXPECT_FALSE(mine.is_ok()) << t.name << ": jinja2 failed (" << err << ") but yun rendered for "
                                   << ctx.dump();
        const std::string kRaised = "TemplateError: ";
        if (!mine.is_ok() && err.rfind(kRaised, 0) == 0) {
          EXPECT_EQ(mine.status().message(), err.substr(kRaised.size())) << t.name;
        }
        if (!mine.is_ok()) ++agree;
        continue;
      }
      ASSERT_TRUE(mine.is_ok()) << t.name << ": " << mine.status().to_string() << " for " << ctx.dump();
      EXPECT_EQ(*mine, ref["output"].get<std::string>()) << t.name << " for " << ctx.dump();
      if (*mine == ref["output"].get<std::string>()) ++agree;
    }
    std::printf("[ diff ] %-12s %d/%zu agree (%d expected errors)\n", t.name.c_str(), agree, contexts.size(),
                ref_errors);
  }
}

}  // namespace
}  // namespace yun
