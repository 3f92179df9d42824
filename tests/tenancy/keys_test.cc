// keys.h and model.h: key shape and randomness, SHA-256 against a known
// vector, prefixes, ids and the enum names.
//   build/tests/yun_tenancy_tests --gtest_filter='Keys*:Model*'
#include "yun/tenancy/keys.h"

#include <gtest/gtest.h>

#include <set>

#include "yun/tenancy/model.h"

namespace yun::tenancy {
namespace {

TEST(Keys, GeneratedKeysHaveTheDocumentedShapeAndDiffer) {
  std::set<std::string> seen;
  std::array<int, 128> counts{};
  for (int i = 0; i < 2000; ++i) {
    std::string k = generate_key();
    ASSERT_EQ(k.size(), 47u);
    ASSERT_TRUE(k.starts_with("yun-sk-"));
    ASSERT_TRUE(looks_like_key(k)) << k;
    seen.insert(k);
    for (char c : k.substr(7)) ++counts[static_cast<unsigned char>(c)];
  }
  EXPECT_EQ(seen.size(), 2000u);
  // 80,000 digits over 62 symbols: about 1290 each; every symbol appears and
  // none is far off (a modulo bias would favour the first 8 by ~25%).
  const std::string digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  for (char c : digits) {
    EXPECT_GT(counts[static_cast<unsigned char>(c)], 1100) << c;
    EXPECT_LT(counts[static_cast<unsigned char>(c)], 1500) << c;
  }
}

TEST(Keys, LooksLikeKeyRefusesOtherShapes) {
  std::string k = generate_key();
  EXPECT_FALSE(looks_like_key(""));
  EXPECT_FALSE(looks_like_key(k.substr(0, 46)));
  EXPECT_FALSE(looks_like_key(k + "a"));
  EXPECT_FALSE(looks_like_key("yun-pk-" + k.substr(7)));
  std::string bad = k;
  bad[20] = '-';
  EXPECT_FALSE(looks_like_key(bad));
}

TEST(Keys, HashIsHexSha256AndPrefixIsElevenCharacters) {
  EXPECT_EQ(hash_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_key(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(key_prefix("yun-sk-abc1defg"), "yun-sk-abc1");
  EXPECT_EQ(random_hex(0), "");
  EXPECT_EQ(random_hex(40).size(), 80u);
  EXPECT_NE(random_hex(16), random_hex(16));
}

TEST(Model, IdsAndNames) {
  std::string id = new_id("tn_");
  EXPECT_EQ(id.size(), 3u + 16u);
  EXPECT_TRUE(id.starts_with("tn_"));
  EXPECT_NE(new_id("key_"), new_id("key_"));
  for (auto p : {BudgetPeriod::kTotal, BudgetPeriod::kDay, BudgetPeriod::kMonth}) {
    EXPECT_EQ(parse_budget_period(budget_period_name(p)), p);
  }
  EXPECT_FALSE(parse_budget_period("week").has_value());
  EXPECT_EQ(parse_key_scope("admin"), KeyScope::kAdmin);
  EXPECT_EQ(std::string(key_scope_name(KeyScope::kInference)), "inference");
  EXPECT_FALSE(parse_key_scope("root").has_value());
}

}  // namespace
}  // namespace yun::tenancy
