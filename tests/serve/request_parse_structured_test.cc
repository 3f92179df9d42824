// Structured output and token constraints in request parsing
// (serve/request_parse.h): response_format, vLLM's structured_outputs and
// guided_* fields become one GrammarSpec (two sources are an error), bad
// types and unknown response_format types are 400s naming the field;
// logit_bias, allowed_token_ids and bad_words are read and range-checked.
// And the strict tool-call grammar (serve/tool_choice.h) and GrammarCache
// (serve/grammar_cache.h) on a byte-level vocabulary.
#include <gtest/gtest.h>

#include "test_util.h"
#include "yun/grammar/matcher.h"
#include "yun/serve/grammar_cache.h"
#include "yun/serve/request_parse.h"
#include "yun/serve/tool_choice.h"

namespace yun::serve {
namespace {

using grammar::GrammarSpec;

const std::string kMsgs = R"("messages":[{"role":"user","content":"hi"}])";

std::optional<ApiError> parse(const std::string& extra, OpenAiRequest& r, bool chat = true) {
  if (chat) return parse_chat_request("{" + kMsgs + "," + extra + "}", r);
  return parse_completion_request(R"({"prompt":"x",)" + extra + "}", r);
}

TEST(RequestParseStructured, SourcesBecomeOneSpec) {
  struct Want {
    std::string extra;
    GrammarSpec::Kind kind;
    std::string text;
    std::string param;
  };
  const std::vector<Want> wants = {
      {R"("response_format":{"type":"json_object"})", GrammarSpec::kJsonObject, "", "response_format"},
      {R"("response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"integer"}}})",
       GrammarSpec::kJsonSchema, R"({"type":"integer"})", "response_format"},
      {R"("structured_outputs":{"json":{"type":"string"}})", GrammarSpec::kJsonSchema,
       R"({"type":"string"})", "structured_outputs.json"},
      {R"("structured_outputs":{"regex":"[ab]+"})", GrammarSpec::kRegex, "[ab]+", "structured_outputs.regex"},
      {R"("structured_outputs":{"grammar":"root ::= \"x\""})", GrammarSpec::kEbnf, "root ::= \"x\"",
       "structured_outputs.grammar"},
      {R"("structured_outputs":{"json_object":true})", GrammarSpec::kJsonObject, "", "structured_outputs.json_object"},
      {R"("guided_json":"{\"type\": \"boolean\"}")", GrammarSpec::kJsonSchema, R"({"type": "boolean"})", "guided_json"},
      {R"("guided_regex":"\\d+")", GrammarSpec::kRegex, "\\d+", "guided_regex"},
      {R"("guided_grammar":"root ::= \"y\"")", GrammarSpec::kEbnf, "root ::= \"y\"", "guided_grammar"},
  };
  for (bool chat : {true, false}) {
    for (const Want& w : wants) {
      OpenAiRequest r;
      auto e = parse(w.extra, r, chat);
      ASSERT_FALSE(e) << w.extra << ": " << e->message;
      ASSERT_TRUE(r.structured) << w.extra;
      EXPECT_EQ(r.structured->kind, w.kind) << w.extra;
      EXPECT_EQ(r.structured->text, w.text) << w.extra;
      EXPECT_EQ(r.structured_param, w.param) << w.extra;
    }
  }
  OpenAiRequest r;
  ASSERT_FALSE(parse(R"("guided_choice":["yes","no"])", r));
  EXPECT_EQ(r.structured->kind, GrammarSpec::kChoice);
  EXPECT_EQ(r.structured->choices, (std::vector<std::string>{"yes", "no"}));
  ASSERT_FALSE(parse(R"("structured_outputs":{"choice":["a"]})", r));
  EXPECT_EQ(r.structured->choices, (std::vector<std::string>{"a"}));
  ASSERT_FALSE(parse(R"("response_format":{"type":"text"})", r));
  EXPECT_FALSE(r.structured);
  ASSERT_FALSE(parse(R"("response_format":{"type":"json_schema","json_schema":{"name":"x"}})", r));
  EXPECT_EQ(r.structured->kind, GrammarSpec::kJsonObject);  // no schema: any object
}

TEST(RequestParseStructured, BadInputsName400Params) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"("response_format":"json")", "response_format"},
      {R"("response_format":{"type":"bogus"})", "response_format.type"},
      {R"("response_format":{})", "response_format.type"},
      {R"("response_format":{"type":"json_schema"})", "response_format.json_schema"},
      {R"("response_format":{"type":"json_schema","json_schema":{"schema":"x"}})",
       "response_format.json_schema.schema"},
      {R"("response_format":{"type":"json_schema","json_schema":{"schema":{},"strict":"yes"}})",
       "response_format.json_schema.strict"},
      {R"("structured_outputs":[1])", "structured_outputs"},
      {R"("structured_outputs":{"regex":5})", "structured_outputs.regex"},
      {R"("structured_outputs":{"choice":[]})", "structured_outputs.choice"},
      {R"("structured_outputs":{"structural_tag":{}})", "structured_outputs.structural_tag"},
      {R"("guided_choice":"yes")", "guided_choice"},
      {R"("guided_json":5)", "guided_json"},
      {R"("response_format":{"type":"json_object"},"guided_regex":"a")", "guided_regex"},
      {R"("structured_outputs":{"regex":"a","choice":["a"]})", "structured_outputs.choice"},
      {R"("logit_bias":[1])", "logit_bias"},
      {R"("logit_bias":{"abc":1})", "logit_bias"},
      {R"("logit_bias":{"-1":1})", "logit_bias"},
      {R"("logit_bias":{"5":101})", "logit_bias"},
      {R"("logit_bias":{"5":"x"})", "logit_bias"},
      {R"("logit_bias":{"99999999999":1})", "logit_bias"},
      {R"("allowed_token_ids":[])", "allowed_token_ids"},
      {R"("allowed_token_ids":[-3])", "allowed_token_ids"},
      {R"("bad_words":"x")", "bad_words"},
      {R"("bad_words":[1])", "bad_words"},
  };
  for (const auto& [extra, param] : bad) {
    OpenAiRequest r;
    auto e = parse(extra, r);
    ASSERT_TRUE(e) << extra;
    EXPECT_EQ(e->http_status, 400) << extra;
    EXPECT_EQ(e->param, param) << extra << ": " << e->message;
  }
}

TEST(RequestParseStructured, TokenConstraintsAreRead) {
  OpenAiRequest r;
  ASSERT_FALSE(parse(R"("logit_bias":{"5":-100,"17":2.5},"allowed_token_ids":[1,2],"bad_words":["no","","x y"])", r));
  EXPECT_EQ(r.logit_bias, (std::vector<std::pair<int32_t, float>>{{5, -100.0f}, {17, 2.5f}}));
  EXPECT_EQ(r.allowed_token_ids, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(r.bad_words, (std::vector<std::string>{"no", "x y"}));
}

// A byte vocabulary: ids 0..255 are the bytes, 256 is EOS.
std::shared_ptr<const grammar::TokenVocab> byte_vocab() {
  std::vector<std::string> t;
  for (int b = 0; b < 256; ++b) t.push_back(std::string(1, char(b)));
  t.push_back("");
  return std::make_shared<const grammar::TokenVocab>(t, 257, std::vector<int32_t>{256});
}

bool accepts(const grammar::Grammar& g, const std::string& text) {
  auto cg = std::make_shared<const grammar::CompiledGrammar>(std::make_shared<const grammar::Grammar>(g),
                                                             byte_vocab(), 4);
  grammar::Matcher m(cg);
  return m.accept_bytes(text) && m.is_finished();
}

TEST(ToolCallGrammar, StrictArgumentsFollowTheSchemaOthersAnyObject) {
  const auto tools = nlohmann::ordered_json::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "strict": true, "parameters":
      {"type": "object", "properties": {"city": {"type": "string", "maxLength": 10},
       "unit": {"enum": ["c", "f"]}}, "required": ["city", "unit"], "additionalProperties": false}}},
    {"type": "function", "function": {"name": "free", "parameters": {"type": "object"}}}])");
  auto g = tool_call_grammar(tools, GrammarCache::compile_options());
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_TRUE(accepts(*g, "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"c\"}}\n</tool_call>"));
  EXPECT_FALSE(accepts(*g, "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"));
  EXPECT_FALSE(accepts(*g, "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"k\"}}\n</tool_call>"));
  EXPECT_FALSE(accepts(*g, "{\"name\": \"other\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_TRUE(accepts(*g, "{\"name\": \"free\", \"arguments\": {\"anything\": [1, 2]}}\n</tool_call>"));
  EXPECT_FALSE(accepts(*g, "{\"name\": \"free\", \"arguments\": {}}"));  // the close tag is part of it

  const auto unsupported = nlohmann::ordered_json::parse(R"([{"type": "function", "function":
    {"name": "f", "strict": true, "parameters": {"type": "object", "properties":
      {"n": {"type": "integer", "multipleOf": 3}}}}}])");
  auto e = tool_call_grammar(unsupported, GrammarCache::compile_options());
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("multipleOf"), std::string::npos) << e.status().message();
  EXPECT_NE(e.status().message().find("'f'"), std::string::npos) << e.status().message();
}

TEST(ToolCallGrammar, ForcedStrictCallsAppendOnlyTheOpenTag) {
  OpenAiRequest r;
  ASSERT_FALSE(parse_chat_request(
      "{" + kMsgs + R"(,"tools":[{"type":"function","function":{"name":"f","strict":true,"parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"f"}}})",
      r));
  ForcedToolCall f = forced_tool_call(r, "<|im_start|>assistant\n");
  EXPECT_TRUE(f.strict);
  EXPECT_EQ(f.reply_prefix, "<tool_call>\n");
  EXPECT_EQ(f.prompt_suffix, "<tool_call>\n");
  r.tools[0]["function"].erase("strict");
  f = forced_tool_call(r, "<|im_start|>assistant\n<think>\n");
  EXPECT_FALSE(f.strict);
  EXPECT_EQ(f.reply_prefix, "<tool_call>\n{\"name\": \"f\", \"arguments\": ");
  EXPECT_EQ(f.prompt_suffix, "</think>\n\n" + f.reply_prefix);
  r.tool_choice = "auto";
  r.tools[0]["function"]["strict"] = true;
  EXPECT_FALSE(forced_tool_call(r, "").strict);  // auto: nothing forced
}

TEST(GrammarCache, CachesBySpecEvictsOldestAndKeepsNoErrors) {
  auto tok = Tokenizer::load(yun::test::tokenizer_dir());
  if (!tok.is_ok()) GTEST_SKIP() << "no tokenizer";
  VocabSource src{tok->get(), {151645}, 151936};
  GrammarCache cache(2);
  auto a = cache.get(GrammarSpec{GrammarSpec::kRegex, "a+", {}}, src);
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  EXPECT_EQ((*a)->vocab()->n_vocab(), 151936);
  auto a2 = cache.get(GrammarSpec{GrammarSpec::kRegex, "a+", {}}, src);
  EXPECT_EQ(a->get(), a2->get());
  auto c1 = cache.get(GrammarSpec{GrammarSpec::kChoice, "", {"ab", "c"}}, src);
  auto c2 = cache.get(GrammarSpec{GrammarSpec::kChoice, "", {"a", "bc"}}, src);
  ASSERT_TRUE(c1.is_ok() && c2.is_ok());
  EXPECT_NE(c1->get(), c2->get());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.get(GrammarSpec{GrammarSpec::kRegex, "a+", {}}, src)->get(), a->get());  // evicted
  auto bad = cache.get(GrammarSpec{GrammarSpec::kJsonSchema, R"({"type":"string","format":"hostname"})", {}}, src);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("format"), std::string::npos) << bad.status().message();
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ((*a)->vocab(), (*c1)->vocab());  // one vocabulary per model
}

}  // namespace
}  // namespace yun::serve
