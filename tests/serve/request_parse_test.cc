// Table-driven tests of request validation (serve/request_parse.h): each body
// maps to success or an HTTP status + error type + param. No model needed.
#include "yun/serve/request_parse.h"

#include <gtest/gtest.h>

namespace yun::serve {
namespace {

struct Case {
  const char* name;
  bool chat;
  std::string body;
  int status;  // 0: accepted
  const char* param = "";
};

const std::string kMsgs = R"("messages":[{"role":"user","content":"hi"}])";

std::vector<Case> cases() {
  return {
      {"chat_ok", true, "{" + kMsgs + "}", 0},
      {"not_json", true, "{nope", 400},
      {"not_object", true, "[1,2]", 400},
      {"invalid_utf8", true, "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}", 400},
      {"no_messages", true, "{}", 400, "messages"},
      {"empty_messages", true, R"({"messages":[]})", 400, "messages"},
      {"messages_not_list", true, R"({"messages":"hi"})", 400, "messages"},
      {"message_no_role", true, R"({"messages":[{"content":"x"}]})", 400, "messages[0].role"},
      {"content_parts", true,
       R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]})", 0},
      {"image_part", true, R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})",
       400, "messages[0].content"},
      {"temperature_string", true, "{" + kMsgs + R"(,"temperature":"hot"})", 400, "temperature"},
      {"temperature_high", true, "{" + kMsgs + R"(,"temperature":3})", 400, "temperature"},
      {"temperature_neg", true, "{" + kMsgs + R"(,"temperature":-0.1})", 400, "temperature"},
      {"top_p_zero", true, "{" + kMsgs + R"(,"top_p":0})", 400, "top_p"},
      {"top_p_ok", true, "{" + kMsgs + R"(,"top_p":0.5,"top_k":20,"min_p":0.1})", 0},
      {"top_k_bad", true, "{" + kMsgs + R"(,"top_k":-5})", 400, "top_k"},
      {"min_p_bad", true, "{" + kMsgs + R"(,"min_p":1.5})", 400, "min_p"},
      {"presence_bad", true, "{" + kMsgs + R"(,"presence_penalty":2.5})", 400, "presence_penalty"},
      {"frequency_bad", true, "{" + kMsgs + R"(,"frequency_penalty":-3})", 400,
       "frequency_penalty"},
      {"repetition_zero", true, "{" + kMsgs + R"(,"repetition_penalty":0})", 400,
       "repetition_penalty"},
      {"max_tokens_zero", true, "{" + kMsgs + R"(,"max_tokens":0})", 400, "max_tokens"},
      {"max_tokens_float", true, "{" + kMsgs + R"(,"max_tokens":1.5})", 400, "max_tokens"},
      {"max_tokens_intfloat", true, "{" + kMsgs + R"(,"max_tokens":4.0})", 0},
      {"max_completion_tokens", true, "{" + kMsgs + R"(,"max_completion_tokens":-1})", 400,
       "max_completion_tokens"},
      {"n_zero", true, "{" + kMsgs + R"(,"n":0})", 400, "n"},
      {"n_big", true, "{" + kMsgs + R"(,"n":1000})", 400, "n"},
      {"stop_number", true, "{" + kMsgs + R"(,"stop":5})", 400, "stop"},
      {"stop_list", true, "{" + kMsgs + R"(,"stop":["a","b"]})", 0},
      {"stop_ids_bad", true, "{" + kMsgs + R"(,"stop_token_ids":["x"]})", 400, "stop_token_ids"},
      {"seed_string", true, "{" + kMsgs + R"(,"seed":"1"})", 400, "seed"},
      {"logprobs_string", true, "{" + kMsgs + R"(,"logprobs":"yes"})", 400, "logprobs"},
      {"top_logprobs_without", true, "{" + kMsgs + R"(,"top_logprobs":2})", 400, "top_logprobs"},
      {"top_logprobs_big", true, "{" + kMsgs + R"(,"logprobs":true,"top_logprobs":50})", 400,
       "top_logprobs"},
      {"stream_string", true, "{" + kMsgs + R"(,"stream":"yes"})", 400, "stream"},
      {"stream_options_bad", true, "{" + kMsgs + R"(,"stream_options":1})", 400, "stream_options"},
      {"min_tokens_over", true, "{" + kMsgs + R"(,"min_tokens":10,"max_tokens":5})", 400,
       "min_tokens"},
      {"unknown_field", true, "{" + kMsgs + R"(,"frobnicate":{"x":1}})", 0},
      {"model_number", true, "{" + kMsgs + R"(,"model":7})", 400, "model"},
      {"tools_bad", true, "{" + kMsgs + R"(,"tools":[{"type":"function"}]})", 400, "tools"},
      {"tool_choice_bad", true, "{" + kMsgs + R"(,"tool_choice":"sometimes"})", 400, "tool_choice"},
      {"tool_choice_required_no_tools", true, "{" + kMsgs + R"(,"tool_choice":"required"})", 400,
       "tool_choice"},
      {"kwargs_bad", true, "{" + kMsgs + R"(,"chat_template_kwargs":[1]})", 400,
       "chat_template_kwargs"},
      {"completion_ok", false, R"({"prompt":"hello"})", 0},
      {"completion_list", false, R"({"prompt":["a","b"]})", 0},
      {"completion_ids", false, R"({"prompt":[1,2,3]})", 0},
      {"completion_id_lists", false, R"({"prompt":[[1,2],[3]]})", 0},
      {"completion_no_prompt", false, R"({})", 400, "prompt"},
      {"completion_empty_list", false, R"({"prompt":[]})", 400, "prompt"},
      {"completion_empty_string", false, R"({"prompt":""})", 400, "prompt"},
      {"completion_mixed", false, R"({"prompt":["a",1]})", 400, "prompt"},
      {"completion_negative_id", false, R"({"prompt":[1,-2]})", 400, "prompt"},
      {"completion_prompt_object", false, R"({"prompt":{"a":1}})", 400, "prompt"},
      {"completion_logprobs_big", false, R"({"prompt":"a","logprobs":21})", 400, "logprobs"},
      {"completion_logprobs_bool", false, R"({"prompt":"a","logprobs":true})", 400, "logprobs"},
      {"completion_echo", false, R"({"prompt":"a","echo":true,"logprobs":2})", 0},
  };
}

TEST(RequestParse, Table) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    OpenAiRequest r;
    auto err = c.chat ? parse_chat_request(c.body, r) : parse_completion_request(c.body, r);
    if (c.status == 0) {
      EXPECT_FALSE(err.has_value()) << (err ? err->message : "");
    } else {
      ASSERT_TRUE(err.has_value());
      EXPECT_EQ(err->http_status, c.status);
      EXPECT_EQ(err->type, "invalid_request_error");
      EXPECT_EQ(err->param, c.param) << err->message;
      auto j = nlohmann::json::parse(err->to_json());
      EXPECT_TRUE(j["error"].contains("message"));
      EXPECT_EQ(j["error"]["code"], 400);
    }
  }
}

TEST(RequestParse, FieldsAreRead) {
  OpenAiRequest r;
  auto err = parse_chat_request(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function",
           "function":{"name":"f","arguments":"{\"x\":1}"}}]}],
          "temperature":0.5,"top_p":0.9,"top_k":5,"min_p":0.05,"presence_penalty":0.1,
          "frequency_penalty":0.2,"repetition_penalty":1.1,"max_tokens":7,"n":2,"stop":"END",
          "stop_token_ids":[3],"seed":42,"logprobs":true,"top_logprobs":3,"stream":true,
          "stream_options":{"include_usage":true},"ignore_eos":true,"min_tokens":1,
          "chat_template_kwargs":{"enable_thinking":false},"user":"u",
          "tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"g"}}],
          "tool_choice":{"type":"function","function":{"name":"g"}}})",
      r);
  ASSERT_FALSE(err.has_value()) << err->message;
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.messages[0]["content"], "a\nb");
  EXPECT_TRUE(r.messages[1]["tool_calls"][0]["function"]["arguments"].is_object());
  EXPECT_EQ(*r.temperature, 0.5);
  EXPECT_EQ(*r.top_k, 5);
  EXPECT_EQ(*r.max_tokens, 7);
  EXPECT_EQ(r.n, 2);
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(*r.seed, 42u);
  EXPECT_EQ(r.logprobs, 3);
  EXPECT_TRUE(r.stream && r.include_usage && r.ignore_eos);
  EXPECT_EQ(r.chat_template_kwargs["enable_thinking"], false);
  ASSERT_EQ(r.tools.size(), 1u);
  EXPECT_EQ(r.tools[0]["function"]["name"], "g");
}

TEST(RequestParse, SamplingDefaultsAndContext) {
  OpenAiRequest r;
  ASSERT_FALSE(parse_completion_request(R"({"prompt":"x"})", r));
  ModelConfig::GenerationDefaults gen;
  gen.temperature = 0.7;
  gen.top_p = 0.8;
  gen.top_k = 20;
  gen.repetition_penalty = 1.05;
  SamplingParams p;
  ASSERT_FALSE(resolve_sampling_params(r, gen, 10, 100, p));
  EXPECT_DOUBLE_EQ(p.temperature, 0.7);
  EXPECT_DOUBLE_EQ(p.top_p, 0.8);
  EXPECT_EQ(p.top_k, 20);
  EXPECT_DOUBLE_EQ(p.repetition_penalty, 1.05);
  EXPECT_EQ(p.max_tokens, 90);  // remaining context

  ASSERT_FALSE(parse_completion_request(R"({"prompt":"x","temperature":0,"max_tokens":90})", r));
  ASSERT_FALSE(resolve_sampling_params(r, gen, 10, 100, p));
  EXPECT_EQ(p.temperature, 0.0);
  ASSERT_FALSE(parse_completion_request(R"({"prompt":"x","max_tokens":91})", r));
  auto e = resolve_sampling_params(r, gen, 10, 100, p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->http_status, 400);
  EXPECT_EQ(e->param, "max_tokens");
  e = resolve_sampling_params(r, gen, 100, 100, p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "prompt");
}

TEST(RequestParse, TokenIdsChecked) {
  EXPECT_FALSE(check_token_ids({0, 5, 9}, 10, "prompt"));
  auto e = check_token_ids({0, 10}, 10, "prompt");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->http_status, 400);
}

TEST(RequestParse, ErrorJsonShape) {
  auto j = nlohmann::json::parse(not_found_error("The model `x` does not exist.").to_json());
  EXPECT_EQ(j["error"]["code"], "model_not_found");
  EXPECT_EQ(j["error"]["param"], "model");
  j = nlohmann::json::parse(bad_request("m").to_json());
  EXPECT_TRUE(j["error"]["param"].is_null());
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
}

// --- JSON bounds (base/json_limits.h, JsonLimits::request()) ---

std::string deep_arrays(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }
std::string deep_objects(size_t depth) {
  std::string s;
  for (size_t k = 0; k < depth; ++k) s += R"({"a":)";
  return s + "1" + std::string(depth, '}');
}
// A chat body with `value` under chat_template_kwargs.x: value's depth + 2.
std::string chat_with_kwargs(const std::string& value) {
  return "{" + kMsgs + R"(,"chat_template_kwargs":{"x":)" + value + "}}";
}

TEST(RequestParse, DepthBombsAreRejectedNamingTheLimit) {
  const std::string open_only(100000, '[');
  std::string open_objects;
  for (int k = 0; k < 100000; ++k) open_objects += R"({"a":)";
  const std::string params_bomb =
      "{" + kMsgs + R"(,"tools":[{"type":"function","function":{"name":"f","parameters":)" +
      deep_objects(100000) + "}}]}";
  const std::string content_bomb =
      R"({"messages":[{"role":"user","content":)" + deep_arrays(100000) + "}]}";
  for (const std::string& body : {open_only, open_objects, deep_arrays(100000),
                                  deep_objects(100000), params_bomb, content_bomb,
                                  chat_with_kwargs(deep_arrays(100000))}) {
    OpenAiRequest r;
    auto err = parse_chat_request(body, r);
    ASSERT_TRUE(err.has_value());
    EXPECT_EQ(err->http_status, 400);
    EXPECT_NE(err->message.find("JSON nesting deeper than 64"), std::string::npos) << err->message;
    nlohmann::ordered_json out;
    EXPECT_TRUE(parse_json_object(body, out).has_value());  // /tokenize, /detokenize bodies
    EXPECT_TRUE(parse_completion_request(body, r).has_value());
  }
}

TEST(RequestParse, DepthLimitBoundary) {
  OpenAiRequest r;
  EXPECT_FALSE(parse_chat_request(chat_with_kwargs(deep_arrays(62)), r).has_value());
  EXPECT_EQ(r.chat_template_kwargs["x"].dump(), deep_arrays(62));
  auto err = parse_chat_request(chat_with_kwargs(deep_arrays(63)), r);
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->message.find("deeper than 64"), std::string::npos) << err->message;
  nlohmann::ordered_json out;
  EXPECT_FALSE(parse_json_object("{\"a\":" + deep_arrays(63) + "}", out).has_value());
  EXPECT_TRUE(parse_json_object("{\"a\":" + deep_arrays(64) + "}", out).has_value());
}

TEST(RequestParse, TrailingBytesAfterTheBodyAreRejected) {
  const std::string ok = "{" + kMsgs + "}";
  for (const std::string& body : {ok + std::string(1, '\0'), ok + " garbage", ok + "{}",
                                  ok + std::string("\0\0\0", 3)}) {
    OpenAiRequest r;
    auto err = parse_chat_request(body, r);
    ASSERT_TRUE(err.has_value());
    EXPECT_EQ(err->http_status, 400);
    EXPECT_NE(err->message.find("trailing bytes"), std::string::npos) << err->message;
  }
  OpenAiRequest r;
  EXPECT_FALSE(parse_chat_request(ok + " \r\n", r).has_value());
}

TEST(RequestParse, ToolCallArgumentsAreBounded) {
  auto body = [](const std::string& args) {
    return R"({"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,)"
           R"("tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":)" +
           nlohmann::json(args).dump() + "}}]}]}";
  };
  OpenAiRequest r;
  // Arguments as a JSON string are parsed into a value for the template...
  ASSERT_FALSE(parse_chat_request(body(R"({"a":[1]})"), r).has_value());
  EXPECT_TRUE(r.messages[1]["tool_calls"][0]["function"]["arguments"].is_object());
  // ...malformed ones stay a string...
  ASSERT_FALSE(parse_chat_request(body(R"({"a":)"), r).has_value());
  EXPECT_TRUE(r.messages[1]["tool_calls"][0]["function"]["arguments"].is_string());
  ASSERT_FALSE(parse_chat_request(body(std::string("{}") + '\0'), r).has_value());
  EXPECT_TRUE(r.messages[1]["tool_calls"][0]["function"]["arguments"].is_string());
  // ...and a bomb inside the string is an error naming the limit.
  for (const std::string& bomb : {deep_objects(100000), std::string(100000, '['), deep_arrays(65)}) {
    auto err = parse_chat_request(body(bomb), r);
    ASSERT_TRUE(err.has_value());
    EXPECT_EQ(err->http_status, 400);
    EXPECT_NE(err->message.find("JSON nesting deeper than 64"), std::string::npos) << err->message;
    EXPECT_NE(err->message.find("arguments"), std::string::npos) << err->message;
  }
  EXPECT_FALSE(parse_chat_request(body(deep_arrays(64)), r).has_value());
}

}  // namespace
}  // namespace yun::serve
