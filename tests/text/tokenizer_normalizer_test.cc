// Normalizer: the NFC fast path (which normalizes only the regions around
// non-inert code points) must equal utf8proc's whole-string NFC.
#include "yun/text/normalizer.h"

#include <cstdlib>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <utf8proc.h>

#include "yun/base/utf8.h"

namespace yun::text {
namespace {

std::string reference_nfc(const std::string& s) {
  utf8proc_uint8_t* out = nullptr;
  auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                        utf8proc_ssize_t(s.size()), &out,
                        utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  std::string r(reinterpret_cast<char*>(out), size_t(n));
  std::free(out);
  return r;
}

TEST(TokenizerNormalizer, NfcMatchesUtf8procOnRandomTrickyText) {
  auto n = Normalizer::from_json(nlohmann::json{{"type", "NFC"}});
  ASSERT_TRUE(n);
  const char32_t pool[] = {
      'a', 'e', 'A', '>', '<', '=', ' ', '\n', 0x301, 0x308, 0x327, 0x338, 0x323, 0x302,
      0xE9, 0xC5, 0x212B, 0x1E0B, 0x1E63, 0x1100, 0x1161, 0x11A8, 0xAC00, 0xD4DB, 0x4E00,
      0x65E5, 0x3099, 0x304B, 0x30AB, 0x09C7, 0x09BE, 0x0B47, 0x0B3E, 0x0CBF, 0x0CD5, 0x1F600,
      0x2ADC, 0xF900, 0x0344, 0x0F73, 0x1D15E, 0x05B8, 0x05D0, 0x0627, 0x0653, 0x0CC6, 0x0CC2};
  std::mt19937 rng(7);
  std::string out;
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    size_t len = 1 + rng() % 12;
    for (size_t i = 0; i < len; ++i) append_utf8(s, pool[rng() % (sizeof(pool) / sizeof(pool[0]))]);
    n->apply(s, out);
    ASSERT_EQ(out, reference_nfc(s)) << "round " << round;
  }
}

TEST(TokenizerNormalizer, SequenceAndNull) {
  auto none = Normalizer::from_json(nullptr);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto seq = Normalizer::from_json(nlohmann::json::parse(
      R"({"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "Lowercase"}]})"));
  ASSERT_TRUE(seq);
  std::string out;
  seq->apply("\xC3\x89T\xC3\xA9", out);  // "ÉTé"
  EXPECT_EQ(out, "e\xCC\x81te\xCC\x81");
  auto bad = Normalizer::from_json(nlohmann::json{{"type", "Replace"}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("Replace"), std::string::npos);
}

}  // namespace
}  // namespace yun::text
