// The /v1/responses request translator (serve/responses_request.h): what
// chat request each Responses body means, and the 400s, each naming the
// Responses field. No model needed.
#include "yun/serve/responses_request.h"

#include <gtest/gtest.h>

namespace yun::serve {
namespace {

using Json = nlohmann::ordered_json;

ResponsesRequest parse_ok(const std::string& body) {
  ResponsesRequest r;
  auto e = parse_responses_request(body, r);
  EXPECT_FALSE(e) << body << " -> " << (e ? e->to_json() : "");
  return r;
}

ApiError parse_err(const std::string& body) {
  ResponsesRequest r;
  auto e = parse_responses_request(body, r);
  EXPECT_TRUE(e) << body;
  return e ? *e : ApiError{};
}

TEST(ResponsesRequest, StringInputIsOneUserMessageAfterInstructions) {
  auto r = parse_ok(R"({"model":"m","input":"hi","instructions":"be brief","max_output_tokens":7,
                        "temperature":0.5,"top_p":0.9,"stream":true,"user":"u1"})");
  EXPECT_EQ(r.chat.kind, OpenAiRequest::Kind::kChat);
  EXPECT_EQ(r.chat.model, "m");
  ASSERT_EQ(r.chat.messages.size(), 2u);
  EXPECT_EQ(r.chat.messages[0], Json({{"role", "system"}, {"content", "be brief"}}));
  EXPECT_EQ(r.chat.messages[1], Json({{"role", "user"}, {"content", "hi"}}));
  EXPECT_EQ(r.chat.max_tokens, 7);
  EXPECT_EQ(r.chat.temperature, 0.5);
  EXPECT_EQ(r.chat.top_p, 0.9);
  EXPECT_TRUE(r.chat.stream);
  EXPECT_EQ(r.chat.user, "u1");
  EXPECT_EQ(r.chat.n, 1);
  EXPECT_EQ(r.echo["instructions"], "be brief");
  EXPECT_EQ(r.echo["max_output_tokens"], 7);
  EXPECT_EQ(r.echo["store"], true);  // OpenAI's default
  EXPECT_EQ(r.echo["text"]["format"]["type"], "text");
  EXPECT_EQ(r.echo["tool_choice"], "auto");
}

TEST(ResponsesRequest, MessageItemsAndContentParts) {
  auto r = parse_ok(R"({"input":[
      {"role":"developer","content":"rules"},
      {"type":"message","role":"user","content":[{"type":"input_text","text":"a"},
                                                 {"type":"input_text","text":"b"}]},
      {"role":"assistant","content":[{"type":"output_text","text":"ok"}]},
      {"role":"user","content":"again"}]})");
  ASSERT_EQ(r.chat.messages.size(), 4u);
  EXPECT_EQ(r.chat.messages[0]["role"], "system");
  EXPECT_EQ(r.chat.messages[0]["content"], "rules");
  EXPECT_EQ(r.chat.messages[1]["content"], "a\nb");  // joined as chat joins text parts
  EXPECT_EQ(r.chat.messages[2]["role"], "assistant");
  EXPECT_EQ(r.chat.messages[2]["content"], "ok");
  EXPECT_EQ(r.chat.messages[3]["content"], "again");
}

TEST(ResponsesRequest, FunctionCallRoundTrip) {
  auto r = parse_ok(R"({"input":[
      {"role":"user","content":"weather?"},
      {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"think"}]},
      {"type":"function_call","call_id":"c1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
      {"type":"function_call","call_id":"c2","name":"get_time","arguments":"{}"},
      {"type":"function_call_output","call_id":"c1","output":"sunny"},
      {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"noon"}]}],
    "tools":[{"type":"function","name":"get_weather","description":"w","parameters":{"type":"object"},
              "strict":true},
             {"type":"function","name":"get_time","parameters":{}}]})");
  ASSERT_EQ(r.chat.messages.size(), 4u);
  const Json& a = r.chat.messages[1];
  EXPECT_EQ(a["role"], "assistant");
  EXPECT_EQ(a["reasoning_content"], "think");
  ASSERT_EQ(a["tool_calls"].size(), 2u);  // both calls in one assistant turn
  EXPECT_EQ(a["tool_calls"][0]["id"], "c1");
  EXPECT_EQ(a["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(a["tool_calls"][0]["function"]["arguments"], Json({{"city", "Paris"}}));
  EXPECT_EQ(r.chat.messages[2], Json({{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "sunny"},
                                      {"name", "get_weather"}}));
  EXPECT_EQ(r.chat.messages[3]["content"], "noon");
  ASSERT_EQ(r.chat.tools.size(), 2u);
  EXPECT_EQ(r.chat.tools[0]["type"], "function");
  EXPECT_EQ(r.chat.tools[0]["function"]["name"], "get_weather");
  EXPECT_EQ(r.chat.tools[0]["function"]["description"], "w");
  EXPECT_EQ(r.chat.tools[0]["function"]["strict"], true);
  EXPECT_EQ(r.echo["tools"][0]["name"], "get_weather");  // echoed as given
}

TEST(ResponsesRequest, ToolChoice) {
  const std::string tools = R"("tools":[{"type":"function","name":"f"},{"type":"function","name":"g"}])";
  auto r = parse_ok(R"({"input":"x",)" + tools + R"(,"tool_choice":{"type":"function","name":"g"}})");
  EXPECT_EQ(r.chat.tool_choice, "function");
  EXPECT_EQ(r.chat.tool_choice_name, "g");
  ASSERT_EQ(r.chat.tools.size(), 1u);
  EXPECT_EQ(parse_ok(R"({"input":"x",)" + tools + R"(,"tool_choice":"required"})").chat.tool_choice,
            "required");
  EXPECT_TRUE(parse_ok(R"({"input":"x",)" + tools + R"(,"tool_choice":"none"})").chat.tools.is_null());
  EXPECT_EQ(parse_err(R"({"input":"x",)" + tools + R"(,"tool_choice":{"type":"function","name":"h"}})")
                .param,
            "tool_choice");
  EXPECT_EQ(parse_err(R"({"input":"x",)" + tools + R"(,"tool_choice":{"type":"mcp"}})").param,
            "tool_choice");
}

TEST(ResponsesRequest, TextFormatIsTheChatResponseFormat) {
  EXPECT_EQ(parse_ok(R"({"input":"x"})").chat.response_format, "text");
  EXPECT_EQ(parse_ok(R"({"input":"x","text":{"format":{"type":"json_object"}}})").chat.response_format,
            "json_object");
  auto r = parse_ok(R"({"input":"x","text":{"format":{"type":"json_schema","name":"p",
                       "schema":{"type":"object"},"strict":true},"verbosity":"low"}})");
  EXPECT_EQ(r.chat.response_format, "json_schema");
  EXPECT_EQ(r.echo["text"]["format"]["name"], "p");
  EXPECT_EQ(r.echo["text"]["verbosity"], "low");
  EXPECT_EQ(parse_err(R"({"input":"x","text":{"format":{"type":"bogus"}}})").param,
            "text.format.type");  // the chat parser names response_format.type
  EXPECT_EQ(parse_err(R"({"input":"x","text":{"format":{"type":"json_schema","name":"p"}}})").param,
            "text.format.schema");
  EXPECT_EQ(parse_err(R"({"input":"x","text":{"format":"json"}})").param, "text.format");
}

TEST(ResponsesRequest, ReasoningEffortTurnsThinkingOnOrOff) {
  EXPECT_EQ(parse_ok(R"({"input":"x","reasoning":{"effort":"minimal"}})").chat.chat_template_kwargs,
            Json({{"enable_thinking", false}}));
  EXPECT_EQ(parse_ok(R"({"input":"x","reasoning":{"effort":"none"}})").chat.chat_template_kwargs,
            Json({{"enable_thinking", false}}));
  auto r = parse_ok(R"({"input":"x","reasoning":{"effort":"high","summary":"auto"}})");
  EXPECT_EQ(r.chat.chat_template_kwargs, Json({{"enable_thinking", true}}));
  EXPECT_EQ(r.echo["reasoning"], Json({{"effort", "high"}, {"summary", "auto"}}));
  EXPECT_TRUE(parse_ok(R"({"input":"x"})").chat.chat_template_kwargs.empty());
  EXPECT_EQ(parse_err(R"({"input":"x","reasoning":{"effort":"max"}})").param, "reasoning.effort");
}

TEST(ResponsesRequest, StateFieldsAreEchoedOrLeftToTheRoute) {
  auto r = parse_ok(R"({"input":"x","store":false,"metadata":{"k":"v"},"parallel_tool_calls":false,
                        "truncation":"auto","include":["reasoning.encrypted_content"]})");
  EXPECT_EQ(r.echo["store"], false);
  EXPECT_EQ(r.echo["metadata"]["k"], "v");
  EXPECT_EQ(r.echo["parallel_tool_calls"], false);
  // The route resolves these from the store before translating
  // (responses_state.h); the translator ignores the id and refuses a
  // reference it still sees.
  EXPECT_EQ(parse_ok(R"({"input":"x","previous_response_id":"resp_1"})").chat.messages.size(), 1u);
  EXPECT_EQ(parse_err(R"({"input":"x","conversation":"c"})").param, "conversation");
  EXPECT_EQ(parse_err(R"({"input":"x","background":true})").param, "background");
  EXPECT_EQ(parse_err(R"({"input":[{"type":"item_reference","id":"fc_1"}]})").param, "input[0]");
}

struct BadCase {
  const char* name;
  std::string body;
  const char* param;
};

TEST(ResponsesRequest, BadInputsName400Params) {
  std::vector<BadCase> cases = {
      {"not_json", "{nope", ""},
      {"no_input", R"({"model":"m"})", "input"},
      {"input_number", R"({"input":3})", "input"},
      {"empty_input", R"({"input":[]})", "input"},
      {"item_not_object", R"({"input":["hi"]})", "input[0]"},
      {"item_no_type", R"({"input":[{"content":"hi"}]})", "input[0].type"},
      {"bad_role", R"({"input":[{"role":"tool","content":"hi"}]})", "input[0].role"},
      {"image_part", R"({"input":[{"role":"user","content":[{"type":"input_image","image_url":"x"}]}]})",
       "input[0].content[0].type"},
      {"part_no_text", R"({"input":[{"role":"user","content":[{"type":"input_text"}]}]})",
       "input[0].content[0].text"},
      {"unknown_item", R"({"input":[{"type":"web_search_call"}]})", "input[0].type"},
      {"call_no_call_id", R"({"input":[{"type":"function_call","name":"f","arguments":"{}"}]})",
       "input[0].call_id"},
      {"call_no_name", R"({"input":[{"type":"function_call","call_id":"c"}]})", "input[0].name"},
      {"output_no_output", R"({"input":[{"type":"function_call_output","call_id":"c"}]})",
       "input[0].output"},
      {"instructions_number", R"({"input":"x","instructions":1})", "instructions"},
      {"tools_not_list", R"({"input":"x","tools":{}})", "tools"},
      {"builtin_tool", R"({"input":"x","tools":[{"type":"web_search"}]})", "tools[0].type"},
      {"tool_no_name", R"({"input":"x","tools":[{"type":"function"}]})", "tools[0].name"},
      {"required_no_tools", R"({"input":"x","tool_choice":"required"})", "tool_choice"},
      {"max_output_tokens_zero", R"({"input":"x","max_output_tokens":0})", "max_output_tokens"},
      {"max_output_tokens_string", R"({"input":"x","max_output_tokens":"5"})", "max_output_tokens"},
      {"temperature_high", R"({"input":"x","temperature":3})", "temperature"},
      {"stream_string", R"({"input":"x","stream":"yes"})", "stream"},
      {"metadata_list", R"({"input":"x","metadata":[]})", "metadata"},
      {"store_string", R"({"input":"x","store":"yes"})", "store"},
      {"truncation_bad", R"({"input":"x","truncation":"middle"})", "truncation"},
      {"reasoning_string", R"({"input":"x","reasoning":"high"})", "reasoning"},
      {"prompt_template", R"({"input":"x","prompt":{"id":"p"}})", "prompt"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ApiError e = parse_err(c.body);
    EXPECT_EQ(e.http_status, 400);
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_EQ(e.param, c.param);
  }
}

TEST(ResponsesRequest, SharedPathErrorsAreRenamed) {
  EXPECT_EQ(responses_error(bad_request("too long", "messages")).param, "input");
  EXPECT_EQ(responses_error(bad_request("cap", "max_tokens")).param, "max_output_tokens");
  EXPECT_EQ(responses_error(bad_request("x", "response_format")).param, "text.format");
  EXPECT_EQ(responses_error(bad_request("x", "temperature")).param, "temperature");
  EXPECT_EQ(responses_error(bad_request("max_tokens 9 is more than this key's limit of 8", "max_tokens"))
                .message,
            "max_output_tokens 9 is more than this key's limit of 8");
  EXPECT_EQ(parse_err(R"({"input":"x","max_output_tokens":0})").message.find("max_completion"),
            std::string::npos);
  EXPECT_EQ(parse_err(R"({"input":[]})").message, "'input' must not be empty");
}

}  // namespace
}  // namespace yun::serve
