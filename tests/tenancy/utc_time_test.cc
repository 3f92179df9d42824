// The tenancy calendar: the day a record counts in, and the day parser the
// admin API and `yun admin` share.
#include "yun/tenancy/utc_time.h"

#include <gtest/gtest.h>

namespace yun::tenancy {
namespace {

TEST(UtcTime, DayOfUnixMs) {
  EXPECT_EQ(utc_day(1796083200000), "2026-12-01");      // midnight
  EXPECT_EQ(utc_day(1796083200000 - 1), "2026-11-30");  // a millisecond before
  EXPECT_EQ(utc_day(0), "1970-01-01");
}

TEST(UtcTime, ParsesRealDaysOnly) {
  EXPECT_EQ(parse_utc_day("2026-12-01"), 1796083200000);
  EXPECT_EQ(parse_utc_day("2024-02-29"), 1709164800000);
  EXPECT_FALSE(parse_utc_day("2026-02-29"));
  EXPECT_FALSE(parse_utc_day("2026-02-30"));
  EXPECT_FALSE(parse_utc_day("2026-13-01"));
  EXPECT_FALSE(parse_utc_day("2026-1-01x"));
  EXPECT_FALSE(parse_utc_day("+026-01-01"));
  EXPECT_FALSE(parse_utc_day("2026-12-01 "));
  EXPECT_FALSE(parse_utc_day(""));
  for (const char* d : {"2026-12-01", "2024-02-29", "1999-12-31"}) {
    EXPECT_EQ(utc_day(*parse_utc_day(d)), d);
  }
}

}  // namespace
}  // namespace yun::tenancy
