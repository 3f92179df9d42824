// SQLite specifics: a database locked by another connection's write
// transaction makes writes kUnavailable (reads go on, WAL), and the store
// recovers once the lock is released; a full database is kUnavailable and
// its failed batch leaves nothing half-written; an unusable state directory is
// kUnavailable; a postgres URL without libpq support is kUnimplemented.
//   build/tests/yun_tenancy_tests --gtest_filter='SqliteStore*'
#include "yun/tenancy/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store_fixture.h"

namespace yun::tenancy {
namespace {

TEST(SqliteStore, LockedDatabaseIsUnavailableThenRecovers) {
  test::TempDir dir;
  auto opened = SqliteStore::open(dir.db(), {std::chrono::milliseconds(100)});
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  auto& s = **opened;
  ASSERT_TRUE(s.append_usage(std::vector{test::usage("r0", "tn_a", "", "m", 1, 1, 1000)}).is_ok());

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(dir.db().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);

  auto t0 = std::chrono::steady_clock::now();
  Status st = s.append_usage(std::vector{test::usage("r1", "tn_a", "", "m", 1, 1, 1000)});
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.to_string();
  EXPECT_NE(st.message().find("locked"), std::string::npos) << st.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0,
            std::chrono::seconds(2));  // busy_timeout, not forever
  Tenant t;
  t.id = "tn_x";
  t.name = "x";
  EXPECT_EQ(s.create_tenant(t).code(), StatusCode::kUnavailable);
  EXPECT_EQ(test::totals(s).requests, 1);  // reads still work

  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  ASSERT_TRUE(s.append_usage(std::vector{test::usage("r1", "tn_a", "", "m", 1, 1, 1000)}).is_ok());
  EXPECT_TRUE(s.create_tenant(t).is_ok());
  EXPECT_EQ(test::totals(s).requests, 2);
  EXPECT_EQ(s.spend("", "")->at(0).requests, 2);
}

TEST(SqliteStore, FullDatabaseIsUnavailableAndKeepsWhatItHad) {
  test::TempDir dir;
  auto opened = SqliteStore::open(dir.db(), {.max_page_count = 40});
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  auto& s = **opened;
  Status st;
  int64_t stored = 0;
  for (int batch = 0; batch < 1000 && st.is_ok(); ++batch) {
    std::vector<UsageRecord> rs;
    for (int i = 0; i < 50; ++i) {
      std::string id(40, 'x');
      id.append(std::to_string(batch * 50 + i));
      rs.push_back(test::usage(id, "tn_a", "key_a", "m", 1, 1, 1000));
    }
    st = s.append_usage(rs);
    if (st.is_ok()) stored += 50;
  }
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.to_string();
  EXPECT_NE(st.message().find("full"), std::string::npos) << st.message();
  EXPECT_GT(stored, 0);
  // The failed batch left nothing behind: usage and counters agree.
  EXPECT_EQ(test::totals(s).requests, stored);
  EXPECT_EQ(s.spend("", "")->at(0).requests, stored);
}

TEST(SqliteStore, UnusableStateDirectoryIsUnavailable) {
  test::TempDir dir;
  std::string file = dir.str() + "/plain-file";
  FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  auto s = Store::open(file + "/state");  // a directory under a file
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable) << s.status().to_string();
  auto garbage = dir.str() + "/bad";
  std::filesystem::create_directories(garbage);
  f = std::fopen((garbage + "/yun.db").c_str(), "w");
  std::fputs("this is not a database, but it is long enough to look like one to a reader.......",
             f);
  std::fclose(f);
  auto g = Store::open(garbage);
  ASSERT_FALSE(g.is_ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnavailable) << g.status().to_string();
}

TEST(SqliteStore, DescribeNamesTheFile) {
  test::TempDir dir;
  auto s = Store::open(dir.str());
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ((*s)->describe(), "sqlite:" + dir.db());
}

#ifndef YUN_HAVE_POSTGRES
TEST(Store, PostgresUrlWithoutLibpqIsUnimplemented) {
  auto s = Store::open("postgres://localhost/yun");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnimplemented);
}
#endif

}  // namespace
}  // namespace yun::tenancy
