// Byte-level behaviour of the grammar module: each input kind (regex, choice,
// GBNF, JSON Schema) compiled and matched byte by byte, without a
// vocabulary. Run: build/tests/yun_grammar_tests --gtest_filter='Bytes*'
#include <gtest/gtest.h>

#include "yun/grammar/compile.h"
#include "yun/grammar/matcher.h"

namespace yun::grammar {
namespace {

std::shared_ptr<const CompiledGrammar> must(const GrammarSpec& spec, const CompileOptions& o = {}) {
  auto r = compile(spec, nullptr, o);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? r.value() : nullptr;
}

// Whole-text match.
bool matches(const std::shared_ptr<const CompiledGrammar>& g, std::string_view text) {
  Matcher m(g);
  return m.accept_bytes(text) && m.is_complete();
}

GrammarSpec regex(std::string re) { return GrammarSpec{GrammarSpec::kRegex, std::move(re), {}}; }
GrammarSpec schema(std::string s) { return GrammarSpec{GrammarSpec::kJsonSchema, std::move(s), {}}; }

TEST(BytesRegex, LiteralsClassesQuantifiers) {
  auto g = must(regex("a[bc]+d{2,3}(x|yz)?"));
  EXPECT_TRUE(matches(g, "abdd"));
  EXPECT_TRUE(matches(g, "acbcddd"));
  EXPECT_TRUE(matches(g, "abddyz"));
  EXPECT_FALSE(matches(g, "ad"));
  EXPECT_FALSE(matches(g, "abdddd"));
  EXPECT_FALSE(matches(g, "abddy"));
}

TEST(BytesRegex, UnicodeAndNegation) {
  auto g = must(regex("[^a]é\\d"));
  EXPECT_TRUE(matches(g, "bé1"));
  EXPECT_TRUE(matches(g, "中é1"));
  EXPECT_FALSE(matches(g, "aé1"));
  EXPECT_FALSE(matches(g, "\xff\xfe" "é1"));  // not UTF-8
}

TEST(BytesRegex, EcmaScriptClassesAndSearch) {
  EXPECT_TRUE(matches(must(regex("a[^]b")), "a\nb"));
  EXPECT_FALSE(compile(regex("a[]b"), nullptr).is_ok());  // the empty class: no text matches
  EXPECT_TRUE(matches(must(regex("x{2}y{1,}z{,")), "xxyyz{,"));  // '{' without a count is literal
  auto r = compile(regex("(a*)*"), nullptr);  // a repeated group that can match empty
  ASSERT_FALSE(r.is_ok());
}

TEST(BytesRegex, UnsupportedConstructsNameThemselves) {
  for (const char* re : {"(?=a)b", "(a)\\1", "a\\bc", "a++"}) {
    auto r = compile(regex(re), nullptr);
    ASSERT_FALSE(r.is_ok()) << re;
    EXPECT_NE(r.status().message().find("not supported"), std::string::npos) << r.status().message();
  }
}

TEST(BytesChoice, ExactlyOne) {
  auto g = must(GrammarSpec{GrammarSpec::kChoice, "", {"yes", "no", "maybe"}});
  EXPECT_TRUE(matches(g, "no"));
  EXPECT_FALSE(matches(g, "n"));
  EXPECT_FALSE(matches(g, "yesno"));
}

TEST(BytesEbnf, GbnfGrammar) {
  auto g = must(GrammarSpec{GrammarSpec::kEbnf, R"G(
    root ::= "(" list ")"    # a list
    list ::= item ("," item)*
    item ::= [0-9]+ | "x" )G", {}});
  EXPECT_TRUE(matches(g, "(1,22,x)"));
  EXPECT_FALSE(matches(g, "(1,)"));
  auto left = compile(GrammarSpec{GrammarSpec::kEbnf, "root ::= root \"a\" | \"b\"", {}}, nullptr);
  ASSERT_FALSE(left.is_ok());
  EXPECT_NE(left.status().message().find("left recursion"), std::string::npos);
  auto undef = compile(GrammarSpec{GrammarSpec::kEbnf, "root ::= foo", {}}, nullptr);
  ASSERT_FALSE(undef.is_ok());
  EXPECT_NE(undef.status().message().find("foo"), std::string::npos);
}

TEST(BytesJson, ObjectWithRequiredAndOptional) {
  auto g = must(schema(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},
      "c":{"type":"boolean"}},"required":["b"],"additionalProperties":false})"));
  EXPECT_TRUE(matches(g, R"({"b":"x"})"));
  EXPECT_TRUE(matches(g, R"({"a":-12,"b":"x","c":true})"));
  EXPECT_TRUE(matches(g, "{ \"a\": 1, \"b\": \"\"}"));
  EXPECT_FALSE(matches(g, R"({"a":1})"));
  EXPECT_FALSE(matches(g, R"({"b":"x","a":1})"));  // schema order
  EXPECT_FALSE(matches(g, R"({"b":"x","d":1})"));
}

TEST(BytesJson, IntegerBounds) {
  auto g = must(schema(R"({"type":"integer","minimum":-15,"maximum":130})"));
  for (int v = -40; v <= 200; ++v) EXPECT_EQ(matches(g, std::to_string(v)), v >= -15 && v <= 130) << v;
  EXPECT_FALSE(matches(g, "007"));
  auto pos = must(schema(R"({"type":"integer","exclusiveMinimum":0})"));
  EXPECT_TRUE(matches(pos, "1"));
  EXPECT_TRUE(matches(pos, "123456789012"));
  EXPECT_FALSE(matches(pos, "0"));
  EXPECT_FALSE(matches(pos, "-3"));
}

TEST(BytesJson, NumberBounds) {
  auto g = must(schema(R"({"type":"number","minimum":-2,"exclusiveMaximum":3})"));
  for (const char* ok : {"-2", "-2.0", "-1.5", "0", "2.999", "-0.5", "1"}) EXPECT_TRUE(matches(g, ok)) << ok;
  for (const char* bad : {"-2.1", "3", "3.0", "-3", "4.5", "1e2"}) EXPECT_FALSE(matches(g, bad)) << bad;
}

TEST(BytesJson, UnsupportedKeywordIsNamed) {
  for (const char* kw : {"uniqueItems", "multipleOf", "patternProperties", "not"}) {
    std::string s = std::string(R"({"type":"object","properties":{"x":{")") + kw + R"(":true}}})";
    auto r = compile(schema(s), nullptr);
    ASSERT_FALSE(r.is_ok()) << kw;
    EXPECT_NE(r.status().message().find(kw), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("#/properties/x"), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace yun::grammar
