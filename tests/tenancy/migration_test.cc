// Schema versions: a version-1 database (made by step 1 of the real
// migration list, filled with rows) opened with Store::open migrates to
// the current version with its data intact and its spend counters
// backfilled; a database newer than this yun is refused and left alone.
// Both backends.
//   build/tests/yun_tenancy_tests --gtest_filter='Backends/MigrationTest.*'
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store_fixture.h"
#include "yun/tenancy/schema.h"
#include "yun/tenancy/store.h"

namespace yun::tenancy {
namespace {

constexpr int64_t kDay1 = 1796119200000;  // 2026-12-01T10:00Z
constexpr int64_t kDayMs = 86'400'000;

// What a yun at schema version 1 held: one tenant, one key, three usage rows.
std::string v1_rows() {
  std::string d1 = std::to_string(kDay1), d2 = std::to_string(kDay1 + kDayMs);
  return "INSERT INTO tenants VALUES('tn_old', 'old', 1, 60, NULL, NULL, 1000, 'month', NULL, "
         "'[\"m\"]', 1.5, 2, 0, 7);"
         "INSERT INTO api_keys VALUES('key_old', 'tn_old', 'inference', 'k', 'hash1', "
         "'yun-sk-abcd', "
         "NULL, NULL, NULL, NULL, 'total', NULL, 8, 0, 0);"
         "INSERT INTO usage VALUES('u1', 'tn_old', 'key_old', 'm', 10, 0, 5, 'stop', 200, 1, " +
         d1 +
         ", 'in_a');"
         "INSERT INTO usage VALUES('u2', 'tn_old', 'key_old', 'm', 20, 0, 5, 'stop', 200, 1, " +
         d1 +
         ", 'in_b');"
         "INSERT INTO usage VALUES('u3', 'tn_old', '', 'm', 30, 0, 5, 'length', 200, 1, " +
         d2 + ", 'in_a');";
}

class MigrationTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") YUN_NEED_PG();
    backend_ = std::make_unique<test::Backend>(GetParam());
  }

  // Runs statements on the raw database, outside any Store.
  void raw(const std::string& sql) {
    if (backend_->postgres()) {
#ifdef YUN_HAVE_POSTGRES
      test::PgConn c(backend_->where());
      ASSERT_TRUE(c.ok()) << c.error();
      c.exec(sql);
#endif
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(backend_->dir()->db().c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
    sqlite3_close(db);
  }
  sql::Dialect dialect() const {
    return backend_->postgres() ? sql::Dialect::kPostgres : sql::Dialect::kSqlite;
  }

  std::unique_ptr<test::Backend> backend_;
};

TEST_P(MigrationTest, VersionOneMigratesWithDataAndBackfilledCounters) {
  ASSERT_EQ(migrations(dialect())[0].version, 1);
  raw(std::string(migrations(dialect())[0].sql) + ";" + sql::kCreateVersionTable +
      "; INSERT INTO yun_schema(version) VALUES(1);" + v1_rows());

  auto opened = Store::open(backend_->where());
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  Store& s = **opened;
  EXPECT_EQ(s.schema_version(), Store::kSchemaVersion);

  auto t = s.get_tenant("tn_old");
  ASSERT_TRUE(t.is_ok() && t->has_value());
  EXPECT_EQ((*t)->name, "old");
  EXPECT_EQ((*t)->limits.requests_per_minute, 60);
  EXPECT_EQ((*t)->limits.budget_period, BudgetPeriod::kMonth);
  EXPECT_EQ((*t)->models, std::vector<std::string>{"m"});
  EXPECT_EQ((*t)->weight, 1.5);
  auto k = s.find_key_by_hash("hash1");
  ASSERT_TRUE(k.is_ok() && k->has_value());
  EXPECT_EQ((*k)->tenant_id, "tn_old");
  EXPECT_EQ(test::totals(s).requests, 3);

  // The counters v2 adds hold the usage v1 had, per day and instance.
  auto spend = s.spend("", "");
  ASSERT_TRUE(spend.is_ok()) << spend.status().to_string();
  ASSERT_EQ(spend->size(), 2u);
  EXPECT_EQ((*spend)[0].subject, "k:key_old");
  EXPECT_EQ((*spend)[0].requests, 2);
  EXPECT_EQ((*spend)[0].tokens, 40);
  EXPECT_EQ((*spend)[1].subject, "t:tn_old");
  EXPECT_EQ((*spend)[1].requests, 3);
  EXPECT_EQ((*spend)[1].tokens, 75);
  auto day2 = s.spend("2026-12-02", "");
  ASSERT_EQ(day2->size(), 1u);
  EXPECT_EQ((*day2)[0].tokens, 35);
  auto not_a = s.spend("", "in_a");
  ASSERT_EQ(not_a->size(), 2u);
  EXPECT_EQ((*not_a)[1].tokens, 25);

  // New records add to the backfilled counters; the old ids stay exactly-once.
  std::vector<UsageRecord> more = {
      test::usage("u1", "tn_old", "key_old", "m", 999, 0, kDay1),
      test::usage("u4", "tn_old", "key_old", "m", 1, 1, kDay1, "in_a")};
  ASSERT_TRUE(s.append_usage(more).is_ok());
  auto after = s.spend("2026-12-01", "");
  ASSERT_TRUE(after.is_ok());
  EXPECT_EQ((*after)[1].requests, 4);
  EXPECT_EQ((*after)[1].tokens, 77);
  // The audit log exists now.
  ASSERT_TRUE(s.append_audit({0, 1, "cli", "tenant.update", "tn_old", "{}"}).is_ok());
  EXPECT_EQ(s.list_audit(10)->size(), 1u);
  // And the stored Responses v3 adds.
  ResponseRow row{"resp_1", "tn_old", 5, "completed", "{}", "[]", "[]", {{"msg_1", "{}"}}};
  ASSERT_TRUE(s.put_response(row).is_ok());
  EXPECT_TRUE(s.get_response("tn_old", "resp_1")->has_value());

  // Opening again does not migrate twice.
  auto again = Store::open(backend_->where());
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ((*again)->spend("", "")->at(1).tokens, 77);
}

TEST_P(MigrationTest, NewerSchemaIsRefusedAndLeftAlone) {
  raw(std::string(sql::kCreateVersionTable) + "; INSERT INTO yun_schema(version) VALUES(4);");
  auto opened = Store::open(backend_->where());
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(opened.status().message().find("schema version 4 is newer than this yun (3)"),
            std::string::npos)
      << opened.status().message();
  // Nothing was created: a later CREATE TABLE tenants still works.
  raw("CREATE TABLE tenants(x INTEGER)");
}

INSTANTIATE_TEST_SUITE_P(Backends, MigrationTest, ::testing::Values("sqlite", "postgres"),
                         test::backend_name);

}  // namespace
}  // namespace yun::tenancy
