// The mask over the whole Qwen3 vocabulary equals a direct check of every
// token (Matcher::token_allowed) at states that exercise each path of the
// mask cache: free and bounded strings (the plain-text chains, at the start,
// in the middle, at the bound), a string ending mid-character, escapes, a
// format, structure between values, and a second matcher that reuses the
// cached entries from another context.
// Run: build/tests/yun_grammar_tests --gtest_filter='MaskExact*'
#include <gtest/gtest.h>

#include "grammar/grammar_test_util.h"
#include "yun/grammar/compile.h"

namespace yun::grammar {
namespace {

using testing::bit;
using testing::qwen;

void expect_exact(Matcher& m, const std::string& context) {
  const auto& v = *qwen().vocab;
  std::vector<uint32_t> mask(v.mask_words());
  m.fill_mask(mask.data());
  int mismatches = 0;
  size_t allowed = 0;
  for (int32_t id = 0; id < v.n_vocab(); ++id) {
    bool want = m.token_allowed(id);
    allowed += want;
    if (bit(mask, id) != want && ++mismatches <= 5) {
      ADD_FAILURE() << "after '" << context << "': token " << id << " '" << v.bytes(id) << "' mask "
                    << bit(mask, id) << " direct " << want;
    }
  }
  EXPECT_EQ(mismatches, 0) << context;
  EXPECT_GT(allowed, 0u) << context;
}

TEST(MaskExact, WholeVocabularyAtEachKindOfState) {
  if (!qwen().vocab) GTEST_SKIP() << "no tokenizer";
  auto g = compile(GrammarSpec{GrammarSpec::kJsonSchema, R"({"type":"object","properties":{
      "s":{"type":"string","maxLength":30},"t":{"type":"string"},"e":{"type":"string","format":"email"},
      "n":{"type":"array","items":{"type":"number"}}},"required":["s","t"],"additionalProperties":false})", {}},
                   qwen().vocab);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  const std::string a29(29, 'a'), a30(30, 'a');
  for (std::string prefix : {std::string("{"), std::string("{\"s\":\""), std::string("{\"s\":\"abcdefghij"),
                             "{\"s\":\"" + a29, "{\"s\":\"" + a30, std::string("{\"s\":\"\xC3"),
                             std::string("{\"s\":\"x\",\"t\":\""), std::string("{\"s\":\"x\",\"t\":\"ab\\"),
                             std::string("{\"s\":\"x\",\"t\":\"ab\xe4\xb8"), std::string("{\"s\":\"x\",\"t\":\"y\""),
                             std::string("{\"s\":\"x\",\"t\":\"y\",\"e\":\"a.b"),
                             std::string("{\"s\":\"x\",\"t\":\"y\",\"n\":[1.5"), std::string("{\"s\":\"x\",\"t\":\"y\",\"n\":[")}) {
    Matcher m(g.value());
    ASSERT_TRUE(m.accept_bytes(prefix)) << prefix;
    expect_exact(m, prefix);
  }
  // Entries computed above are reused from a new matcher.
  Matcher again(g.value());
  ASSERT_TRUE(again.accept_bytes("{\"s\":\"zz\",\"t\":\"12345"));
  expect_exact(again, "reuse");
}

}  // namespace
}  // namespace yun::grammar
