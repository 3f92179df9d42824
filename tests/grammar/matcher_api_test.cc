// The matcher's API contract (matcher.h) and the JSON Schema corner cases:
// EOS only when complete, rollback, clone for forks, the token trie over a
// small vocabulary, extra-property keys, string escapes in patterns, the
// compile limits and the error naming unsupported input.
// Run: build/tests/yun_grammar_tests --gtest_filter='Api*:Schema*'
#include <gtest/gtest.h>

#include <thread>

#include "grammar/grammar_test_util.h"
#include "yun/grammar/compile.h"
#include "yun/grammar/matcher.h"

namespace yun::grammar {
namespace {

using testing::bit;

GrammarSpec schema(std::string s) { return GrammarSpec{GrammarSpec::kJsonSchema, std::move(s), {}}; }

bool matches(const GrammarSpec& spec, std::string_view text) {
  auto g = compile(spec, nullptr);
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  if (!g.is_ok()) return false;
  Matcher m(g.value());
  return m.accept_bytes(text) && m.is_complete();
}

// A tiny vocabulary: ids 0..6 are byte strings, 7 is EOS, 8 is a padding row.
std::shared_ptr<const TokenVocab> tiny_vocab() {
  return std::make_shared<const TokenVocab>(
      std::vector<std::string>{"{", "}", "\"a\"", ":", "1", "12", "1", ""}, 9, std::vector<int32_t>{7});
}

TEST(ApiTrie, PreorderWithDuplicatesAndEos) {
  auto v = tiny_vocab();
  EXPECT_EQ(v->mask_words(), 1u);
  // "1" twice (ids 4, 6), "12" below it; EOS (7) and the empty token are not in the trie.
  std::vector<int32_t> ids = v->trie_tokens();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6}));
  for (size_t i = 0; i < v->trie().size(); ++i) {
    const auto& n = v->trie()[i];
    EXPECT_GT(n.subtree_end, int32_t(i));
    for (int32_t t = n.tok_begin; t < v->tok_end(i); ++t) EXPECT_EQ(v->bytes(v->trie_tokens()[size_t(t)]), v->path(int32_t(i)));
  }
}

TEST(ApiMatcher, EosOnlyWhenCompleteAndMasksOfATinyVocab) {
  auto g = compile(schema(R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]})"), tiny_vocab());
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  Matcher m(g.value());
  std::vector<uint32_t> mask(1);
  m.fill_mask(mask.data());
  EXPECT_EQ(mask[0], 1u << 0);  // only "{"
  EXPECT_FALSE(m.accept_token(7));
  for (int32_t id : {0, 2, 3}) ASSERT_TRUE(m.accept_token(id));
  m.fill_mask(mask.data());
  EXPECT_EQ(mask[0], (1u << 4) | (1u << 5) | (1u << 6));  // "1", "12", "1"
  ASSERT_TRUE(m.accept_token(5));
  m.fill_mask(mask.data());
  EXPECT_EQ(mask[0], (1u << 1) | (1u << 4) | (1u << 5) | (1u << 6));  // "}" or more digits
  ASSERT_TRUE(m.accept_token(1));
  m.fill_mask(mask.data());
  EXPECT_EQ(mask[0], 1u << 7);  // EOS only
  EXPECT_TRUE(m.is_complete());
  EXPECT_TRUE(m.is_finished());  // nothing may follow
  ASSERT_TRUE(m.accept_token(7));
  m.fill_mask(mask.data());
  EXPECT_EQ(mask[0], 0u);
  EXPECT_FALSE(m.accept_token(1));
}

TEST(ApiMatcher, RollbackAndCloneAreIndependent) {
  auto g = compile(schema(R"({"type":"array","items":{"type":"integer"}})"), tiny_vocab());
  ASSERT_TRUE(g.is_ok());
  Matcher m(g.value());
  ASSERT_TRUE(m.accept_bytes("[1"));
  Matcher fork = m.clone();
  ASSERT_TRUE(m.accept_bytes(",2]"));
  EXPECT_TRUE(m.is_complete());
  EXPECT_FALSE(fork.is_complete());
  EXPECT_TRUE(fork.accept_bytes("]"));
  EXPECT_TRUE(fork.is_complete());
  EXPECT_TRUE(m.rollback(1));  // undoes ",2]"
  EXPECT_FALSE(m.is_complete());
  EXPECT_TRUE(m.accept_bytes("3]"));
  EXPECT_TRUE(m.is_complete());
  EXPECT_FALSE(m.rollback(5));
  EXPECT_FALSE(m.accept_bytes("x"));  // refused bytes change nothing
  EXPECT_TRUE(m.is_complete());
}

TEST(ApiMatcher, QwenMaskForARegexAndAChoice) {
  if (!testing::qwen().vocab) GTEST_SKIP() << "no tokenizer";
  const auto& q = testing::qwen();
  for (GrammarSpec spec : {GrammarSpec{GrammarSpec::kRegex, "(yes|no)[.!]", {}},
                           GrammarSpec{GrammarSpec::kChoice, "", {"positive", "negative", "neutral"}}}) {
    auto g = compile(spec, q.vocab);
    ASSERT_TRUE(g.is_ok());
    Matcher m(g.value());
    std::vector<uint32_t> mask(q.vocab->mask_words());
    m.fill_mask(mask.data());
    auto ids = testing::allowed_ids(mask);
    ASSERT_FALSE(ids.empty());
    EXPECT_LT(ids.size(), 200u);
    for (int32_t id : ids) {
      EXPECT_TRUE(m.token_allowed(id));
      EXPECT_FALSE(q.vocab->is_eos(id));
    }
    EXPECT_FALSE(bit(mask, q.im_end));
  }
}

TEST(ApiMatcher, ThreadsShareOneCompiledGrammar) {
  if (!testing::qwen().vocab) GTEST_SKIP() << "no tokenizer";
  const auto& q = testing::qwen();
  auto g = compile(schema(R"({"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer"},
      "tags":{"type":"array","items":{"type":"string","maxLength":8}}},"required":["name","n","tags"]})"), q.vocab);
  ASSERT_TRUE(g.is_ok());
  const std::vector<int32_t> ids = q.tok->encode(R"({"name": "Ada Lovelace", "n": 1815, "tags": ["math", "poetry"]})");
  // Each thread walks the document from a fresh matcher while the others
  // fill the shared cache; every thread must see the same masks.
  auto run = [&](std::vector<uint64_t>* sums) {
    Matcher m(g.value());
    std::vector<uint32_t> mask(q.vocab->mask_words());
    for (int32_t id : ids) {
      m.fill_mask(mask.data());
      uint64_t h = 1469598103934665603ull;
      for (uint32_t w : mask) h = (h ^ w) * 1099511628211ull;
      sums->push_back(h);
      if (!m.accept_token(id)) return;
    }
  };
  std::vector<std::vector<uint64_t>> sums(4);
  std::vector<std::thread> threads;
  for (auto& s : sums) threads.emplace_back(run, &s);
  for (auto& t : threads) t.join();
  ASSERT_EQ(sums[0].size(), ids.size());
  for (const auto& s : sums) EXPECT_EQ(s, sums[0]);
}

TEST(SchemaKeys, ExtraPropertyKeysAreNotDeclaredNames) {
  auto s = schema(R"({"type":"object","properties":{"a":{"type":"integer"},"bé":{"type":"integer"}},
                      "additionalProperties":{"type":"string"}})");
  EXPECT_TRUE(matches(s, R"({"a":1,"ab":"x"})"));
  EXPECT_TRUE(matches(s, R"({"b":"x","":"y"})"));
  EXPECT_TRUE(matches(s, R"({"bè":"x"})"));
  EXPECT_FALSE(matches(s, R"({"a":1,"a":"x"})"));
  EXPECT_FALSE(matches(s, R"({"bé":"x"})"));
  EXPECT_FALSE(matches(s, R"({"a":"x"})"));
  EXPECT_FALSE(matches(s, R"({"c":1})"));
  EXPECT_TRUE(matches(GrammarSpec{GrammarSpec::kJsonObject, "", {}}, R"({"a":[1,{"b":null}],"a":"dup"})"));
  EXPECT_FALSE(matches(GrammarSpec{GrammarSpec::kJsonObject, "", {}}, "[1]"));
  EXPECT_TRUE(matches(schema(R"({"type":"object","additionalProperties":false})"), "{}"));
  EXPECT_FALSE(matches(schema(R"({"type":"object","additionalProperties":false})"), R"({"a":1})"));
  EXPECT_FALSE(matches(schema(R"({"type":"object"})"), R"({"a":1})"));  // absent: as false (strict mode)
}

TEST(SchemaStrings, PatternCharactersAreWrittenEscaped) {
  auto s = schema(R"({"type":"string","pattern":"^a\"b\\\\c\\n$"})");
  EXPECT_TRUE(matches(s, R"("a\"b\\c\n")"));
  EXPECT_FALSE(matches(s, "\"a\"b\\c\n\""));
  auto len = schema(R"({"type":"string","minLength":2,"maxLength":3})");
  EXPECT_TRUE(matches(len, R"("é\u00e9")"));
  EXPECT_TRUE(matches(len, R"("a\"b")"));
  EXPECT_FALSE(matches(len, R"("a")"));
  EXPECT_FALSE(matches(len, R"("abcd")"));
  EXPECT_FALSE(matches(schema(R"({"type":"string"})"), R"("\ud800")"));  // lone surrogate
  EXPECT_FALSE(matches(schema(R"({"type":"string"})"), "\"a\nb\""));  // raw control character
}

TEST(SchemaFormats, DatesUuidsAddresses) {
  EXPECT_TRUE(matches(schema(R"({"type":"string","format":"date-time"})"), R"("2024-02-29T08:00:00.123-05:00")"));
  EXPECT_FALSE(matches(schema(R"({"type":"string","format":"date"})"), R"("2024-2-29")"));
  EXPECT_TRUE(matches(schema(R"({"type":"string","format":"ipv4"})"), R"("10.0.255.1")"));
  EXPECT_FALSE(matches(schema(R"({"type":"string","format":"ipv4"})"), R"("10.0.256.1")"));
  EXPECT_TRUE(matches(schema(R"({"format":"uuid","type":"string"})"), R"("123e4567-e89b-12d3-a456-426614174000")"));
  EXPECT_TRUE(matches(schema(R"({"type":"string","format":"email"})"), R"("a.b+c@mail.example.org")"));
  EXPECT_FALSE(matches(schema(R"({"type":"string","format":"email"})"), R"("a@b")"));
}

TEST(SchemaRefs, RecursionThroughTheRoot) {
  auto s = schema(R"({"type":"object","properties":{"v":{"type":"integer"},"next":{"$ref":"#"}},"required":["v"]})");
  EXPECT_TRUE(matches(s, R"({"v":1,"next":{"v":2,"next":{"v":3}}})"));
  EXPECT_FALSE(matches(s, R"({"v":1,"next":{}})"));
  // A recursion with no way out admits no document: an error, not a dead end.
  auto r = compile(schema(R"({"type":"object","properties":{"n":{"$ref":"#"}},"required":["n"]})"), nullptr);
  EXPECT_FALSE(r.is_ok());
}

TEST(SchemaErrors, UnsupportedInputIsNamed) {
  struct Case {
    const char* schema;
    const char* named;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"type":"string","format":"uri"})", "format 'uri'"},
           {R"({"type":"array","items":[{"type":"string"}]})", "'items' as an array"},
           {R"({"type":"number","minimum":0.5})", "'minimum'"},
           {R"J({"type":"string","pattern":"(?=x)"})J", "not supported"},
           {R"({"$ref":"http://example.com/s.json"})", "$ref"},
           {R"({"$ref":"#/$defs/missing"})", "not found"},
           {R"({"type":"thing"})", "unknown type"},
           {R"({"type":"object","properties":{"a":{"type":"string"}},"if":{"required":["a"]}})", "'if'"},
           {R"({"type":"string","nullable":true})", "'nullable'"},
           {R"({"type":"string","pattern":"a","maxLength":3})", "'pattern' together with"},
           {"{not json", "json_schema"}}) {
    auto r = compile(schema(c.schema), nullptr);
    ASSERT_FALSE(r.is_ok()) << c.schema;
    EXPECT_NE(r.status().message().find(c.named), std::string::npos) << r.status().message();
  }
}

TEST(SchemaLimits, CompileTimeAndSizeAreBounded) {
  CompileOptions o;
  o.max_symbols = 10000;
  auto big = compile(schema(R"({"type":"array","maxItems":5000,"items":{"type":"string","maxLength":500}})"), nullptr, o);
  ASSERT_FALSE(big.is_ok());
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
  CompileOptions t;
  t.timeout = std::chrono::milliseconds(0);
  auto slow = compile(schema(R"({"type":"array","maxItems":5000,"items":{"type":"string","maxLength":500}})"), nullptr, t);
  ASSERT_FALSE(slow.is_ok());
  EXPECT_EQ(slow.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace yun::grammar
