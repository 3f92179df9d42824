// BpeModel after it is moved (as BpeModel::build's Result and the tokenizer
// move it): the string -> id map must still find its keys. Found by
// fuzz_model_dir (fuzz/corpus/model_dir/crash-bpe-map-after-move): the map
// pointed at the moved-from vector, so a non-byte-level encode or a
// token_to_id read freed memory.
// Run: build/tests/yun_text_tests --gtest_filter='BpeMove*'
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "yun/text/bpe.h"
#include "yun/text/tokenizer.h"

namespace yun {
namespace {

TEST(BpeMove, MapFindsKeysAfterMoves) {
  text::BpeOptions opts;
  opts.byte_level = false;  // initial symbols come from the map
  auto built = text::BpeModel::build({{"a", 0}, {"b", 1}, {"ab", 2}}, {{"a", "b"}}, opts);
  ASSERT_TRUE(built.is_ok()) << built.status().to_string();
  text::BpeModel moved(std::move(built).value());
  text::BpeModel again;
  again = std::move(moved);
  EXPECT_EQ(again.find("ab"), 2);
  EXPECT_EQ(again.find("b"), 1);
  EXPECT_EQ(again.find("zz"), -1);
  std::vector<int32_t> ids;
  again.encode_word("abab", ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{2, 2}));
}

TEST(BpeMove, NonByteLevelTokenizerEncodes) {
  // No pre_tokenizer: the initial symbols are looked up in the map.
  auto tok = Tokenizer::from_json(
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})", "");
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  EXPECT_EQ((*tok)->encode("abab"), (std::vector<int32_t>{2, 2}));
  EXPECT_EQ((*tok)->token_to_id("ab"), 2);
}

}  // namespace
}  // namespace yun
