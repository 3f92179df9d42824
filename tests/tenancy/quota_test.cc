// QuotaGate on a fake clock: each limit admits up to its value and rejects
// the next with the right code and Retry-After; settle replaces the
// reservation with the real count; other replicas' usage counts.
#include "yun/tenancy/quota.h"

#include <gtest/gtest.h>

#include <variant>

namespace yun::tenancy {
namespace {

// 2026-12-01T10:00:00Z
constexpr int64_t kStart = 1796119200000;

struct Fixture {
  int64_t now = kStart;
  QuotaGate gate{[this] { return now; }};
  Subject tenant{"t:a", {}}, key{"k:a1", {}};
  std::variant<Reservation, Rejection> admit(int64_t tokens = 10, RateHeaders* h = nullptr) {
    return gate.admit(tenant, key, tokens, h);
  }
};

bool admitted(const std::variant<Reservation, Rejection>& r) {
  return std::holds_alternative<Reservation>(r);
}
const Rejection& rejected(const std::variant<Reservation, Rejection>& r) {
  return std::get<Rejection>(r);
}

TEST(QuotaGate, NoLimitsAdmitsEverything) {
  Fixture f;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(admitted(f.admit(1000000)));
}

TEST(QuotaGate, RequestsPerMinuteSlidingWindow) {
  Fixture f;
  f.tenant.limits.requests_per_minute = 3;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(admitted(f.admit()));
    f.now += 10'000;  // t = 0, 10, 20 s
  }
  auto r = f.admit();  // t = 30 s: 3 in the last minute
  ASSERT_FALSE(admitted(r));
  EXPECT_EQ(rejected(r).code, Rejection::kRateLimited);
  EXPECT_EQ(rejected(r).retry_after_s, 30);  // the t = 0 request leaves the window at 60 s
  EXPECT_NE(rejected(r).message.find("3 requests per minute"), std::string::npos);
  f.now = kStart + 60'000;  // the first one has aged out
  EXPECT_TRUE(admitted(f.admit()));
  EXPECT_FALSE(admitted(f.admit()));
}

TEST(QuotaGate, KeyLimitIndependentOfTenant) {
  Fixture f;
  f.key.limits.requests_per_minute = 1;
  ASSERT_TRUE(admitted(f.admit()));
  EXPECT_NE(rejected(f.admit()).message.find("this key"), std::string::npos);
  Subject other{"k:a2", {}};
  other.limits.requests_per_minute = 1;
  EXPECT_TRUE(admitted(f.gate.admit(f.tenant, other, 10)));
}

TEST(QuotaGate, TokensPerMinuteSettlesToRealCount) {
  Fixture f;
  f.tenant.limits.tokens_per_minute = 1000;
  auto a = f.admit(600);
  ASSERT_TRUE(admitted(a));
  EXPECT_FALSE(admitted(f.admit(600)));        // 600 reserved + 600 > 1000
  f.gate.settle(std::get<Reservation>(a), 50);  // it used 50
  EXPECT_TRUE(admitted(f.admit(600)));          // 50 + 600 <= 1000
  auto never = f.admit(5000);
  ASSERT_FALSE(admitted(never));
  EXPECT_EQ(rejected(never).retry_after_s, 0);  // can never fit
}

TEST(QuotaGate, ConcurrencyFreedBySettle) {
  Fixture f;
  f.tenant.limits.max_concurrent = 2;
  auto a = f.admit(), b = f.admit();
  ASSERT_TRUE(admitted(a) && admitted(b));
  auto c = f.admit();
  ASSERT_FALSE(admitted(c));
  EXPECT_EQ(rejected(c).code, Rejection::kRateLimited);
  f.gate.settle(std::get<Reservation>(a), 5);
  EXPECT_TRUE(admitted(f.admit()));
}

TEST(QuotaGate, BudgetExactWithReservations) {
  Fixture f;
  f.tenant.limits.token_budget = 100;
  f.tenant.limits.budget_period = BudgetPeriod::kTotal;
  auto a = f.admit(60);
  ASSERT_TRUE(admitted(a));
  auto b = f.admit(60);  // 60 reserved + 60 > 100
  ASSERT_FALSE(admitted(b));
  EXPECT_EQ(rejected(b).code, Rejection::kInsufficientQuota);
  EXPECT_EQ(rejected(b).retry_after_s, 0);  // a total budget never resets
  f.gate.settle(std::get<Reservation>(a), 30);
  auto c = f.admit(70);  // 30 used + 70 = 100
  ASSERT_TRUE(admitted(c));
  f.gate.settle(std::get<Reservation>(c), 70);
  EXPECT_FALSE(admitted(f.admit(1)));
}

TEST(QuotaGate, DailyBudgetResetsAtUtcMidnight) {
  Fixture f;
  f.tenant.limits.token_budget = 10;
  f.tenant.limits.budget_period = BudgetPeriod::kDay;
  auto a = f.admit(10);
  f.gate.settle(std::get<Reservation>(a), 10);
  auto r = f.admit(1);
  ASSERT_FALSE(admitted(r));
  EXPECT_EQ(rejected(r).retry_after_s, 14 * 3600);  // 10:00 -> 24:00
  f.now += 14 * 3600 * 1000LL;
  EXPECT_TRUE(admitted(f.admit(10)));
}

TEST(QuotaGate, OtherReplicasCount) {
  Fixture f;
  f.tenant.limits.token_budget = 100;
  f.tenant.limits.requests_per_minute = 5;
  OthersUsage o;
  o.total_tokens["t:a"] = 95;
  o.minute_requests["t:a"] = 4;
  f.gate.set_others(o);
  EXPECT_FALSE(admitted(f.admit(10)));  // 95 + 10 > 100
  auto a = f.admit(5);
  ASSERT_TRUE(admitted(a));
  EXPECT_FALSE(admitted(f.admit(0)));  // 4 + 1 requests this minute
}

TEST(QuotaGate, RateHeadersShowTheTighterSubject) {
  Fixture f;
  f.tenant.limits.requests_per_minute = 100;
  f.key.limits.requests_per_minute = 10;
  f.tenant.limits.tokens_per_minute = 1000;
  RateHeaders h;
  ASSERT_TRUE(admitted(f.admit(100, &h)));
  EXPECT_EQ(*h.limit_requests, 10);
  EXPECT_EQ(*h.remaining_requests, 9);
  EXPECT_EQ(*h.limit_tokens, 1000);
  EXPECT_EQ(*h.remaining_tokens, 900);
  auto headers = h.to_headers();
  ASSERT_EQ(headers.size(), 6u);
  EXPECT_EQ(headers[0].first, "x-ratelimit-limit-requests");
  EXPECT_EQ(headers[1].second, "9");
}

TEST(QuotaGate, RejectionReservesNothing) {
  Fixture f;
  f.key.limits.max_concurrent = 0;  // the key check fails after the tenant's passed
  f.tenant.limits.max_concurrent = 1;
  EXPECT_FALSE(admitted(f.admit()));
  f.key.limits.max_concurrent.reset();
  EXPECT_TRUE(admitted(f.admit()));  // the tenant's one slot was not taken by the rejection
}

TEST(QuotaGate, DayAndMonthNames) {
  EXPECT_EQ(QuotaGate::day_of(kStart), "2026-12-01");
  EXPECT_EQ(QuotaGate::month_of(kStart), "2026-12");
}

}  // namespace
}  // namespace yun::tenancy
