// Tests of the Ollama -> OpenAI body translation (serve/ollama_request.h):
// each Ollama body maps to the OpenAI body that request_parse.h then accepts
// (the same parser as /v1), or to a 400 naming Ollama's field. No model needed.
// Run: build/tests/yun_serve_tests --gtest_filter='Ollama*'
#include "yun/serve/ollama_request.h"

#include <gtest/gtest.h>

#include "yun/serve/request_parse.h"

namespace yun::serve {
namespace {

using Json = nlohmann::ordered_json;

// Translates, then parses the result with the /v1 parser.
OpenAiRequest parsed(const OllamaRequest& r) {
  OpenAiRequest out;
  std::string body = r.openai_body.dump();
  auto err = r.openai_chat ? parse_chat_request(body, out) : parse_completion_request(body, out);
  EXPECT_FALSE(err.has_value()) << (err ? err->message : "") << " for " << body;
  return out;
}

TEST(OllamaRequest, ChatMapsOptionsFormatThinkAndStream) {
  OllamaRequest r;
  auto e =
      translate_ollama_chat(R"({"model":"qwen3:latest","messages":[{"role":"user","content":"hi"}],
    "options":{"temperature":0.2,"top_p":0.9,"top_k":40,"min_p":0.05,"num_predict":17,"seed":7,
    "stop":["END"],"repeat_penalty":1.1,"presence_penalty":0.5,"frequency_penalty":0.25,"num_ctx":4096,
    "mirostat":0},"format":"json","think":false,"keep_alive":"10m"})",
                            r);
  ASSERT_FALSE(e) << e->message;
  EXPECT_EQ(r.model, "qwen3:latest");
  EXPECT_TRUE(r.stream);  // Ollama streams unless told not to
  EXPECT_FALSE(r.load_only);
  EXPECT_EQ(r.openai_body["model"], "qwen3");
  EXPECT_EQ(r.openai_body["keep_alive"], "10m");
  OpenAiRequest o = parsed(r);
  EXPECT_TRUE(o.stream);
  EXPECT_DOUBLE_EQ(*o.temperature, 0.2);
  EXPECT_DOUBLE_EQ(*o.top_p, 0.9);
  EXPECT_EQ(*o.top_k, 40);
  EXPECT_DOUBLE_EQ(*o.min_p, 0.05);
  EXPECT_EQ(*o.max_tokens, 17);
  EXPECT_EQ(*o.seed, 7u);
  EXPECT_EQ(o.stop, std::vector<std::string>{"END"});
  EXPECT_DOUBLE_EQ(*o.repetition_penalty, 1.1);
  EXPECT_DOUBLE_EQ(o.presence_penalty, 0.5);
  EXPECT_DOUBLE_EQ(o.frequency_penalty, 0.25);
  EXPECT_EQ(o.response_format, "json_object");
  EXPECT_EQ(o.chat_template_kwargs["enable_thinking"], false);
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0]["content"], "hi");
}

TEST(OllamaRequest, SchemaFormatIsJsonSchema) {
  OllamaRequest r;
  ASSERT_FALSE(translate_ollama_chat(
      R"({"messages":[{"role":"user","content":"x"}],"stream":false,
          "format":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}})",
      r));
  EXPECT_FALSE(r.stream);
  OpenAiRequest o = parsed(r);
  EXPECT_EQ(o.response_format, "json_schema");
  EXPECT_FALSE(o.stream);
  EXPECT_EQ(r.openai_body["response_format"]["json_schema"]["schema"]["required"][0], "a");
}

TEST(OllamaRequest, NegativePredictAndSeedAreUnset) {
  OllamaRequest r;
  ASSERT_FALSE(translate_ollama_chat(
      R"({"messages":[{"role":"user","content":"x"}],"options":{"num_predict":-1,"seed":-1,"stop":"X"}})",
      r));
  OpenAiRequest o = parsed(r);
  EXPECT_FALSE(o.max_tokens.has_value());
  EXPECT_FALSE(o.seed.has_value());
  EXPECT_EQ(o.stop, std::vector<std::string>{"X"});
}

TEST(OllamaRequest, ToolsAndToolHistory) {
  OllamaRequest r;
  ASSERT_FALSE(translate_ollama_chat(R"({"messages":[
      {"role":"user","content":"weather?"},
      {"role":"assistant","content":"","thinking":"hmm","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
      {"role":"tool","content":"sunny","tool_name":"get_weather"}],
    "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]})",
                                     r));
  OpenAiRequest o = parsed(r);
  ASSERT_EQ(o.messages.size(), 3u);
  EXPECT_FALSE(o.messages[1].contains("thinking"));
  EXPECT_EQ(o.messages[1]["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(o.messages[1]["tool_calls"][0]["function"]["arguments"]["city"], "Paris");
  EXPECT_EQ(o.messages[1]["tool_calls"][0]["type"], "function");
  EXPECT_EQ(o.messages[2]["name"], "get_weather");
  ASSERT_TRUE(o.tools.is_array());
  EXPECT_EQ(o.tools[0]["function"]["name"], "get_weather");
}

TEST(OllamaRequest, GenerateUsesTheChatTemplateUnlessRaw) {
  OllamaRequest r;
  ASSERT_FALSE(translate_ollama_generate(
      R"({"model":"m","prompt":"Why?","system":"Be brief.","think":true})", r));
  EXPECT_TRUE(r.openai_chat);
  OpenAiRequest o = parsed(r);
  ASSERT_EQ(o.messages.size(), 2u);
  EXPECT_EQ(o.messages[0]["role"], "system");
  EXPECT_EQ(o.messages[1]["content"], "Why?");
  EXPECT_EQ(o.chat_template_kwargs["enable_thinking"], true);

  ASSERT_FALSE(translate_ollama_generate(R"({"prompt":"1, 2, 3,","raw":true,"stream":false})", r));
  EXPECT_FALSE(r.openai_chat);
  OpenAiRequest c = parsed(r);
  ASSERT_EQ(c.prompt_texts.size(), 1u);
  EXPECT_EQ(c.prompt_texts[0], "1, 2, 3,");
  EXPECT_FALSE(c.stream);
}

TEST(OllamaRequest, EmptyRequestsOnlyLoad) {
  OllamaRequest r;
  ASSERT_FALSE(translate_ollama_generate(R"({"model":"m"})", r));
  EXPECT_TRUE(r.load_only);
  EXPECT_FALSE(r.unload);
  ASSERT_FALSE(translate_ollama_chat(R"({"model":"m","messages":[],"keep_alive":0})", r));
  EXPECT_TRUE(r.load_only);
  EXPECT_TRUE(r.unload);
}

TEST(OllamaRequest, KeepAlive) {
  for (const char* ok : {"5m", "1h30m", "10s", "-1", "0", "-1m", "0s", "250ms", "1.5h"}) {
    EXPECT_FALSE(check_keep_alive(Json(ok))) << ok;
  }
  for (const char* bad : {"", "forever", "5x", "m", "--1", "1m5", " 5m"}) {
    EXPECT_TRUE(check_keep_alive(Json(bad))) << bad;
  }
  bool zero = false;
  EXPECT_FALSE(check_keep_alive(Json(0), &zero));
  EXPECT_TRUE(zero);
  EXPECT_FALSE(check_keep_alive(Json("0s"), &zero));
  EXPECT_TRUE(zero);
  EXPECT_FALSE(check_keep_alive(Json(300), &zero));
  EXPECT_FALSE(zero);
  EXPECT_TRUE(check_keep_alive(Json::array()));
}

struct Bad {
  const char* name;
  bool chat;
  const char* body;
  const char* param;
};

TEST(OllamaRequest, BadInputsNameOllamasField) {
  const Bad cases[] = {
      {"not_json", true, "{nope", ""},
      {"model_type", true, R"({"model":3})", "model"},
      {"stream_type", true, R"({"stream":"yes"})", "stream"},
      {"messages_type", true, R"({"messages":{}})", "messages"},
      {"content_type", true, R"({"messages":[{"role":"user","content":[1]}]})",
       "messages[0].content"},
      {"no_role", true, R"({"messages":[{"content":"x"}]})", "messages[0].role"},
      {"images", true, R"({"messages":[{"role":"user","content":"x","images":["aGk="]}]})",
       "messages[0].images"},
      {"format", true, R"({"messages":[{"role":"user","content":"x"}],"format":"yaml"})", "format"},
      {"think", true, R"({"messages":[{"role":"user","content":"x"}],"think":"very"})", "think"},
      {"options_type", true, R"({"options":[1]})", "options"},
      {"temperature", true, R"({"options":{"temperature":"hot"}})", "options.temperature"},
      {"top_k", true, R"({"options":{"top_k":1.5}})", "options.top_k"},
      {"stop", true, R"({"options":{"stop":[1]}})", "options.stop"},
      {"keep_alive", true, R"({"keep_alive":"soon"})", "keep_alive"},
      {"tool_call", true, R"({"messages":[{"role":"assistant","tool_calls":[{"function":{}}]}]})",
       "messages[0].tool_calls"},
      {"gen_images", false, R"({"prompt":"x","images":["aGk="]})", "images"},
      {"gen_prompt", false, R"({"prompt":1})", "prompt"},
      {"gen_suffix", false, R"({"prompt":"x","suffix":"y"})", "suffix"},
      {"gen_template", false, R"({"prompt":"x","template":"{{ .Prompt }}"})", "template"},
      {"gen_context", false, R"({"prompt":"x","context":[1,2]})", "context"},
      {"gen_raw", false, R"({"prompt":"x","raw":1})", "raw"},
  };
  for (const Bad& c : cases) {
    OllamaRequest r;
    auto e = c.chat ? translate_ollama_chat(c.body, r) : translate_ollama_generate(c.body, r);
    ASSERT_TRUE(e.has_value()) << c.name;
    EXPECT_EQ(e->http_status, 400) << c.name;
    EXPECT_EQ(e->param, c.param) << c.name << ": " << e->message;
  }
}

TEST(OllamaRequest, RangesAreTheOpenAiParsersRule) {
  // Out-of-range values pass the translation and fail in the one parser.
  OllamaRequest r;
  ASSERT_FALSE(translate_ollama_chat(
      R"({"messages":[{"role":"user","content":"x"}],"options":{"temperature":-3}})", r));
  OpenAiRequest o;
  auto e = parse_chat_request(r.openai_body.dump(), o);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->param, "temperature");
}

TEST(OllamaRequest, ModelName) {
  EXPECT_EQ(ollama_model_name("qwen3:latest"), "qwen3");
  EXPECT_EQ(ollama_model_name("Qwen/Qwen3-0.6B"), "Qwen/Qwen3-0.6B");
  EXPECT_EQ(ollama_model_name("qwen3:0.6b"), "qwen3:0.6b");
  EXPECT_EQ(ollama_model_name(":latest"), ":latest");
}

}  // namespace
}  // namespace yun::serve
