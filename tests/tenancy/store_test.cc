// The Store contract (store.h), run on both backends: SQLite in a temp dir
// and PostgreSQL (a fresh schema per test; see store_fixture.h). Tenants,
// keys, exactly-once usage, query_usage groupings and ranges, spend
// counters, recent(), the audit log.
//   build/tests/yun_tenancy_tests --gtest_filter='Backends/StoreTest.*'
#include "yun/tenancy/store.h"

#include <gtest/gtest.h>

#include "store_fixture.h"
#include "yun/tenancy/keys.h"

namespace yun::tenancy {
namespace {

using test::usage;

// 2026-12-01T10:00:00Z and friends.
constexpr int64_t kDay1 = 1796119200000;
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDayMs = 24 * kHour;

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") YUN_NEED_PG();
    backend_ = std::make_unique<test::Backend>(GetParam());
    auto s = Store::open(backend_->where());
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    store_ = std::move(*s);
  }

  Tenant tenant(const std::string& name, int64_t created = 1) {
    Tenant t;
    t.id = new_id("tn_");
    t.name = name;
    t.created_ms = created;
    return t;
  }
  ApiKey key(const std::string& tenant_id, const std::string& secret) {
    ApiKey k;
    k.id = new_id("key_");
    k.tenant_id = tenant_id;
    k.hash = hash_key(secret);
    k.prefix = key_prefix(secret);
    k.name = "ci";
    k.created_ms = 5;
    return k;
  }

  std::unique_ptr<test::Backend> backend_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, OpensAtTheCurrentSchemaVersion) {
  EXPECT_EQ(store_->schema_version(), Store::kSchemaVersion);
  EXPECT_TRUE(store_->ping().is_ok());
  EXPECT_TRUE(store_->instance().starts_with("in_"));
  EXPECT_EQ(store_->describe().rfind(GetParam() == "sqlite" ? "sqlite:" : "postgres://", 0), 0u)
      << store_->describe();
  // A second open of the same database: same data, another instance id.
  Tenant t = tenant("acme");
  ASSERT_TRUE(store_->create_tenant(t).is_ok());
  auto again = Store::open(backend_->where());
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_NE((*again)->instance(), store_->instance());
  auto got = (*again)->get_tenant(t.id);
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got->value_or(Tenant{}), t);
}

TEST_P(StoreTest, TenantsRoundTripEveryField) {
  Tenant t = tenant("acme", 100);
  t.active = false;
  t.limits.requests_per_minute = 60;
  t.limits.tokens_per_minute = 100000;
  t.limits.max_concurrent = 4;
  t.limits.token_budget = 1'000'000'000'000;
  t.limits.budget_period = BudgetPeriod::kMonth;
  t.limits.max_tokens = 4096;
  t.models = {"qwen3-0.6b", "llama \"quoted\""};
  t.weight = 2.5;
  t.priority = -3;
  t.share_prefix_cache = true;
  ASSERT_TRUE(store_->create_tenant(t).is_ok());
  Tenant plain = tenant("beta", 50);
  ASSERT_TRUE(store_->create_tenant(plain).is_ok());

  auto got = store_->get_tenant(t.id);
  ASSERT_TRUE(got.is_ok() && got->has_value());
  EXPECT_EQ(**got, t);
  auto by_name = store_->find_tenant_by_name("beta");
  ASSERT_TRUE(by_name.is_ok() && by_name->has_value());
  EXPECT_EQ(**by_name, plain);
  EXPECT_FALSE(store_->get_tenant("tn_nope")->has_value());
  EXPECT_FALSE(store_->find_tenant_by_name("nope")->has_value());

  auto all = store_->list_tenants();
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], plain);  // by created_ms
  EXPECT_EQ((*all)[1], t);

  t.name = "acme-2";
  t.limits = {};
  t.models.clear();
  t.active = true;
  ASSERT_TRUE(store_->update_tenant(t).is_ok());
  EXPECT_EQ(**store_->get_tenant(t.id), t);
  Tenant ghost = tenant("ghost");
  EXPECT_EQ(store_->update_tenant(ghost).code(), StatusCode::kNotFound);
}

TEST_P(StoreTest, DuplicateTenantNameIsInvalidArgument) {
  ASSERT_TRUE(store_->create_tenant(tenant("acme")).is_ok());
  Status s = store_->create_tenant(tenant("acme"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  EXPECT_NE(s.message().find("acme"), std::string::npos) << s.message();
  Tenant b = tenant("beta");
  ASSERT_TRUE(store_->create_tenant(b).is_ok());
  b.name = "acme";
  EXPECT_EQ(store_->update_tenant(b).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->list_tenants()->size(), 2u);
}

TEST_P(StoreTest, KeysByIdHashTenantAndRevocation) {
  Tenant a = tenant("a"), b = tenant("b");
  ASSERT_TRUE(store_->create_tenant(a).is_ok());
  ASSERT_TRUE(store_->create_tenant(b).is_ok());
  std::string secret = generate_key();
  ApiKey k1 = key(a.id, secret);
  k1.scope = KeyScope::kAdmin;
  k1.limits.requests_per_minute = 10;
  k1.expires_ms = 99;
  ApiKey k2 = key(a.id, generate_key());
  ApiKey k3 = key(b.id, generate_key());
  for (const auto& k : {k1, k2, k3}) ASSERT_TRUE(store_->create_key(k).is_ok());

  EXPECT_EQ(**store_->get_key(k1.id), k1);
  auto found = store_->find_key_by_hash(hash_key(secret));
  ASSERT_TRUE(found.is_ok() && found->has_value());
  EXPECT_EQ(**found, k1);
  EXPECT_FALSE(store_->find_key_by_hash(hash_key("yun-sk-other"))->has_value());
  EXPECT_EQ(store_->list_keys(a.id)->size(), 2u);
  EXPECT_EQ(store_->list_keys(b.id)->size(), 1u);
  EXPECT_EQ(store_->list_keys("")->size(), 3u);

  // The same hash twice, and a key of no tenant, are refused.
  ApiKey dup = key(a.id, secret);
  EXPECT_EQ(store_->create_key(dup).code(), StatusCode::kInvalidArgument);
  ApiKey orphan = key("tn_missing", generate_key());
  EXPECT_EQ(store_->create_key(orphan).code(), StatusCode::kNotFound);

  ASSERT_TRUE(store_->revoke_key(k1.id, 1234).is_ok());
  ASSERT_TRUE(store_->revoke_key(k1.id, 9999).is_ok());       // keeps the first time
  auto revoked = store_->find_key_by_hash(hash_key(secret));  // still found: the caller decides
  ASSERT_TRUE(revoked.is_ok() && revoked->has_value());
  EXPECT_EQ((*revoked)->revoked_ms, 1234);
  EXPECT_EQ(store_->revoke_key("key_missing", 1).code(), StatusCode::kNotFound);
  EXPECT_EQ((**store_->get_key(k2.id)).revoked_ms, 0);
}

TEST_P(StoreTest, UsageIsExactlyOnceWithinAndAcrossBatches) {
  std::vector<UsageRecord> first = {usage("r1", "tn_a", "key_1", "m", 10, 5, kDay1),
                                    usage("r2", "tn_a", "key_1", "m", 20, 5, kDay1),
                                    usage("r1", "tn_a", "key_1", "m", 999, 999, kDay1)};
  ASSERT_TRUE(store_->append_usage(first).is_ok());
  std::vector<UsageRecord> second = {usage("r2", "tn_a", "key_1", "m", 777, 0, kDay1),
                                     usage("r3", "tn_a", "key_2", "m", 1, 1, kDay1)};
  ASSERT_TRUE(store_->append_usage(second).is_ok());
  ASSERT_TRUE(store_->append_usage(second).is_ok());  // a whole batch again
  ASSERT_TRUE(store_->append_usage({}).is_ok());

  auto t = test::totals(*store_);
  EXPECT_EQ(t.requests, 3);
  EXPECT_EQ(t.tokens, 15 + 25 + 2);  // the first record of each id counts
  auto spend = store_->spend("", "");
  ASSERT_TRUE(spend.is_ok());
  ASSERT_EQ(spend->size(), 3u);
  EXPECT_EQ((*spend)[0].subject, "k:key_1");
  EXPECT_EQ((*spend)[0].requests, 2);
  EXPECT_EQ((*spend)[0].tokens, 40);
  EXPECT_EQ((*spend)[1].subject, "k:key_2");
  EXPECT_EQ((*spend)[1].tokens, 2);
  EXPECT_EQ((*spend)[2].subject, "t:tn_a");
  EXPECT_EQ((*spend)[2].requests, 3);
  EXPECT_EQ((*spend)[2].tokens, 42);
}

TEST_P(StoreTest, QueryUsageGroupsAndRanges) {
  std::vector<UsageRecord> rs = {
      usage("a1", "tn_a", "key_1", "m1", 10, 1, kDay1),
      usage("a2", "tn_a", "key_2", "m1", 20, 2, kDay1 + kHour),
      usage("a3", "tn_a", "key_1", "m2", 30, 3, kDay1 + kDayMs),
      usage("b1", "tn_b", "key_9", "m1", 40, 4, kDay1 + kDayMs + 2 * kHour),
  };
  rs[0].cached_prompt_tokens = 7;
  ASSERT_TRUE(store_->append_usage(rs).is_ok());

  auto by_model = store_->query_usage({});
  ASSERT_TRUE(by_model.is_ok()) << by_model.status().to_string();
  std::vector<UsageRow> want = {
      {"tn_a", "m1", "", "", 2, 30, 7, 3},
      {"tn_a", "m2", "", "", 1, 30, 0, 3},
      {"tn_b", "m1", "", "", 1, 40, 0, 4},
  };
  EXPECT_EQ(*by_model, want);

  UsageQuery q;
  q.tenant_id = "tn_a";
  q.by_key = true;
  auto by_key = store_->query_usage(q);
  ASSERT_TRUE(by_key.is_ok());
  want = {{"tn_a", "m1", "key_1", "", 1, 10, 7, 1},
          {"tn_a", "m1", "key_2", "", 1, 20, 0, 2},
          {"tn_a", "m2", "key_1", "", 1, 30, 0, 3}};
  EXPECT_EQ(*by_key, want);

  q = {};
  q.bucket = UsageQuery::kDay;
  q.model = "m1";
  auto by_day = store_->query_usage(q);
  ASSERT_TRUE(by_day.is_ok());
  want = {{"tn_a", "m1", "", "2026-12-01", 2, 30, 7, 3},
          {"tn_b", "m1", "", "2026-12-02", 1, 40, 0, 4}};
  EXPECT_EQ(*by_day, want);

  q = {};
  q.bucket = UsageQuery::kHour;
  q.key_id = "key_1";
  auto by_hour = store_->query_usage(q);
  ASSERT_TRUE(by_hour.is_ok());
  want = {{"tn_a", "m1", "", "2026-12-01T10", 1, 10, 7, 1},
          {"tn_a", "m2", "", "2026-12-02T10", 1, 30, 0, 3}};
  EXPECT_EQ(*by_hour, want);

  // [from, to): the second day only, then an empty range.
  q = {};
  q.from_ms = kDay1 + kDayMs;
  q.to_ms = kDay1 + kDayMs + 2 * kHour;
  auto range = store_->query_usage(q);
  ASSERT_TRUE(range.is_ok());
  want = {{"tn_a", "m2", "", "", 1, 30, 0, 3}};
  EXPECT_EQ(*range, want);
  q.from_ms = q.to_ms;
  EXPECT_TRUE(store_->query_usage(q)->empty());
}

TEST_P(StoreTest, SpendCountsPerDayFromDayAndExcludesAnInstance) {
  ASSERT_TRUE(store_
                  ->append_usage(std::vector<UsageRecord>{
                      usage("d1", "tn_a", "key_1", "m", 100, 0, kDay1, "in_me"),
                      usage("d2", "tn_a", "key_1", "m", 10, 0, kDay1 + kDayMs, "in_me"),
                      usage("d3", "tn_a", "", "m", 1, 0, kDay1 + kDayMs, "in_other"),
                  })
                  .is_ok());
  auto all = store_->spend("", "");
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].subject, "t:tn_a");
  EXPECT_EQ((*all)[1].tokens, 111);

  auto from = store_->spend("2026-12-02", "");
  ASSERT_TRUE(from.is_ok());
  ASSERT_EQ(from->size(), 2u);
  EXPECT_EQ((*from)[0].subject, "k:key_1");
  EXPECT_EQ((*from)[0].tokens, 10);
  EXPECT_EQ((*from)[1].requests, 2);
  EXPECT_EQ((*from)[1].tokens, 11);

  auto others = store_->spend("", "in_me");
  ASSERT_TRUE(others.is_ok());
  ASSERT_EQ(others->size(), 1u);  // d3 has no key
  EXPECT_EQ((*others)[0].subject, "t:tn_a");
  EXPECT_EQ((*others)[0].requests, 1);
  EXPECT_EQ((*others)[0].tokens, 1);
  EXPECT_TRUE(store_->spend("2026-12-03", "")->empty());
}

TEST_P(StoreTest, RecentCountsSinceATimeWithoutAnInstance) {
  ASSERT_TRUE(store_
                  ->append_usage(std::vector<UsageRecord>{
                      usage("x1", "tn_a", "key_1", "m", 5, 5, 1000, "in_me"),
                      usage("x2", "tn_a", "key_1", "m", 1, 2, 2000, "in_b"),
                      usage("x3", "tn_b", "key_2", "m", 3, 0, 3000, "in_b"),
                  })
                  .is_ok());
  auto r = store_->recent(2000, "");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].subject, "k:key_1");
  EXPECT_EQ((*r)[0].requests, 1);
  EXPECT_EQ((*r)[0].tokens, 3);
  EXPECT_EQ((*r)[3].subject, "t:tn_b");
  EXPECT_EQ((*r)[3].tokens, 3);
  auto mine_excluded = store_->recent(0, "in_b");
  ASSERT_TRUE(mine_excluded.is_ok());
  ASSERT_EQ(mine_excluded->size(), 2u);
  EXPECT_EQ((*mine_excluded)[1].subject, "t:tn_a");
  EXPECT_EQ((*mine_excluded)[1].tokens, 10);
  EXPECT_TRUE(store_->recent(3001, "")->empty());
}

TEST_P(StoreTest, AuditIsNewestFirstWithIncreasingIds) {
  for (int i = 0; i < 5; ++i) {
    AuditEntry e{0,
                 100 + i,
                 "cli",
                 "tenant.create",
                 "tn_" + std::to_string(i),
                 "{\"name\":\"t" + std::to_string(i) + "\"}"};
    ASSERT_TRUE(store_->append_audit(e).is_ok());
  }
  auto last3 = store_->list_audit(3);
  ASSERT_TRUE(last3.is_ok());
  ASSERT_EQ(last3->size(), 3u);
  EXPECT_EQ((*last3)[0].target, "tn_4");
  EXPECT_EQ((*last3)[0].detail, "{\"name\":\"t4\"}");
  EXPECT_EQ((*last3)[0].time_ms, 104);
  EXPECT_EQ((*last3)[2].target, "tn_2");
  EXPECT_GT((*last3)[0].id, (*last3)[1].id);
  EXPECT_GT((*last3)[1].id, (*last3)[2].id);
  EXPECT_EQ(store_->list_audit(100)->size(), 5u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"),
                         test::backend_name);

}  // namespace
}  // namespace yun::tenancy
