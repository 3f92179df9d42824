// The admin API's query strings: decoding, and the usage filters' strictness.
#include "yun/serve/admin_query.h"

#include <gtest/gtest.h>

namespace yun::serve {
namespace {

TEST(AdminQuery, DecodesParameters) {
  auto p = query_params("/x?a=1&b=%41%2c+c&empty=&flag&bad=%zz&a=2");
  EXPECT_EQ(p["a"], "2");
  EXPECT_EQ(p["b"], "A, c");
  EXPECT_EQ(p["empty"], "");
  EXPECT_TRUE(p.count("flag"));
  EXPECT_EQ(p["bad"], "%zz");
  EXPECT_TRUE(query_params("/x").empty());
  EXPECT_TRUE(query_params("/x?").empty());
}

TEST(AdminQuery, ParsesTimes) {
  EXPECT_EQ(parse_time("2026-12-01"), 1796083200000);
  EXPECT_EQ(parse_time("1796083200"), 1796083200000);
  EXPECT_FALSE(parse_time("2026-13-01"));
  EXPECT_FALSE(parse_time("2026-02-30"));
  EXPECT_FALSE(parse_time("yesterday"));
  EXPECT_FALSE(parse_time("-5"));
  EXPECT_FALSE(parse_time(""));
}

TEST(AdminQuery, UsageFiltersAreStrict) {
  tenancy::UsageQuery q;
  bool csv = false;
  EXPECT_FALSE(usage_query({{"tenant", "tn_1"}, {"group_by", "day,key"}, {"format", "csv"},
                            {"from", "2026-12-01"}},
                           q, csv));
  EXPECT_EQ(*q.tenant_id, "tn_1");
  EXPECT_EQ(q.bucket, tenancy::UsageQuery::kDay);
  EXPECT_TRUE(q.by_key);
  EXPECT_TRUE(csv);
  EXPECT_EQ(q.from_ms, 1796083200000);
  auto e = usage_query({{"group_by", "week"}}, q, csv);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "group_by");
  e = usage_query({{"tenat", "x"}}, q, csv);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "tenat");
  EXPECT_TRUE(usage_query({{"from", "soon"}}, q, csv));
  EXPECT_TRUE(usage_query({{"format", "xml"}}, q, csv));
}

}  // namespace
}  // namespace yun::serve
