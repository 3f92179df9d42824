// IncrementalDetokenizer: deltas never split a UTF-8 character and always
// concatenate to Tokenizer::decode of the same ids.
#include "yun/text/detokenizer.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tokenizer_test_util.h"
#include "yun/base/utf8.h"

namespace yun {
namespace {

void check_stream(const std::shared_ptr<const Tokenizer>& tok, const std::vector<int32_t>& ids,
                  bool skip_special) {
  IncrementalDetokenizer d(tok, skip_special);
  std::string all;
  for (int32_t id : ids) {
    std::string delta = d.push(id);
    ASSERT_TRUE(is_valid_utf8(delta));
    all += delta;
  }
  std::string tail = d.finish();
  ASSERT_TRUE(is_valid_utf8(tail));
  all += tail;
  EXPECT_EQ(all, tok->decode(ids, skip_special));
  EXPECT_EQ(d.text(), all);
}

TEST(Detokenizer, RandomIdSequencesMatchDecode) {
  YUN_REQUIRE_QWEN3_TOKENIZER(tok);
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> any(0, tok->vocab_size() - 1);
  for (int round = 0; round < 300; ++round) {
    std::vector<int32_t> ids(size_t(1 + rng() % 40));
    for (auto& id : ids) id = any(rng);
    check_stream(tok, ids, round % 2 == 0);
  }
}

TEST(Detokenizer, ByteTokensAssembleCharacters) {
  YUN_REQUIRE_QWEN3_TOKENIZER(tok);
  // Single-byte tokens: the ids of the bytes of "€" and "🦊", split apart.
  std::string text = "a\xE2\x82\xAC\xF0\x9F\xA6\x8A" "b";
  std::vector<int32_t> ids;
  // The id whose bytes are exactly one given byte.
  std::vector<int32_t> byte_id(256, -1);
  for (int32_t id = 0; id < tok->vocab_size(); ++id) {
    std::string b = tok->token_bytes(id);
    if (b.size() == 1 && byte_id[uint8_t(b[0])] < 0) byte_id[uint8_t(b[0])] = id;
  }
  for (char c : text) {
    ASSERT_GE(byte_id[uint8_t(c)], 0);
    ids.push_back(byte_id[uint8_t(c)]);
  }
  IncrementalDetokenizer d(tok, false);
  std::vector<std::string> deltas;
  for (int32_t id : ids) deltas.push_back(d.push(id));
  EXPECT_EQ(deltas[0], "a");
  EXPECT_EQ(deltas[1], "");
  EXPECT_EQ(deltas[2], "");
  EXPECT_EQ(deltas[3], "\xE2\x82\xAC");
  EXPECT_EQ(deltas[6], "");
  EXPECT_EQ(deltas[7], "\xF0\x9F\xA6\x8A");
  EXPECT_EQ(deltas[8], "b");
  EXPECT_EQ(d.finish(), "");
  // An unfinished character at the end becomes U+FFFD on finish().
  IncrementalDetokenizer e(tok, false);
  EXPECT_EQ(e.push(byte_id[0xE2]), "");
  EXPECT_EQ(e.finish(), "\xEF\xBF\xBD");
  check_stream(tok, {byte_id[0xE2], byte_id[0x82], byte_id['x'], byte_id[0xAC]}, false);
}

TEST(Detokenizer, SkipsSpecialTokens) {
  YUN_REQUIRE_QWEN3_TOKENIZER(tok);
  auto ids = tok->encode("<|im_start|>assistant\n你好<|im_end|>");
  check_stream(tok, ids, true);
  check_stream(tok, ids, false);
  IncrementalDetokenizer d(tok, true);
  EXPECT_EQ(d.push(151644), "");
}

TEST(Detokenizer, EncodedTextRoundTrips) {
  YUN_REQUIRE_QWEN3_TOKENIZER(tok);
  const std::string text = "Streaming 流式输出 with emoji 👩‍👩‍👧 and accents: café, naïve.";
  auto ids = tok->encode(text);
  IncrementalDetokenizer d(tok, false);
  std::string all;
  for (int32_t id : ids) all += d.push(id);
  all += d.finish();
  EXPECT_EQ(all, text);
}

}  // namespace
}  // namespace yun
