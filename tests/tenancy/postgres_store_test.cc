// PostgreSQL specifics, on the server of YUN_TEST_PG_URL (a fresh schema
// per test): the store reconnects after its backend is terminated; a lock
// held past lock_timeout is kUnavailable and the store recovers after it;
// replicas opening at once migrate once (advisory lock); describe() never
// shows the password; an unreachable server is kUnavailable.
//   build/tests/yun_tenancy_tests --gtest_filter='PostgresStore*'
#include <gtest/gtest.h>

#include <thread>

#include "store_fixture.h"

#ifdef YUN_HAVE_POSTGRES
#include "yun/tenancy/postgres_store.h"

namespace yun::tenancy {
namespace {

using test::usage;

TEST(PostgresStore, ReconnectsAfterItsBackendIsTerminated) {
  YUN_NEED_PG();
  test::PgSchema schema;
  auto opened = PostgresStore::open(schema.url());
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  auto& s = **opened;
  ASSERT_TRUE(s.append_usage(std::vector{usage("r1", "tn_a", "k", "m", 1, 1, 1000)}).is_ok());
  int pid = s.backend_pid();
  EXPECT_EQ(schema.admin().exec("SELECT pg_terminate_backend($1)", {std::to_string(pid)}), "t");
  // Wait for the server to end it.
  for (int i = 0; i < 200; ++i) {
    if (schema.admin().exec("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                            {std::to_string(pid)}) == "0")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Status st = s.append_usage(std::vector{usage("r2", "tn_a", "k", "m", 1, 1, 1000)});
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  EXPECT_NE(s.backend_pid(), pid);
  EXPECT_EQ(test::totals(s).requests, 2);
  EXPECT_TRUE(s.ping().is_ok());
}

TEST(PostgresStore, LockTimeoutIsUnavailableThenRecovers) {
  YUN_NEED_PG();
  test::PgSchema schema;
  auto opened = PostgresStore::open(schema.url(), {.lock_timeout = std::chrono::milliseconds(100)});
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  auto& s = **opened;
  test::PgConn locker(test::pg_url());
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE " + schema.name() + ".usage IN ACCESS EXCLUSIVE MODE");
  Status st = s.append_usage(std::vector{usage("r1", "tn_a", "k", "m", 1, 1, 1000)});
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.to_string();
  EXPECT_NE(st.message().find("lock"), std::string::npos) << st.message();
  locker.exec("COMMIT");
  ASSERT_TRUE(s.append_usage(std::vector{usage("r1", "tn_a", "k", "m", 1, 1, 1000)}).is_ok());
  EXPECT_EQ(test::totals(s).requests, 1);
}

TEST(PostgresStore, ReplicasOpeningAtOnceMigrateOnce) {
  YUN_NEED_PG();
  test::PgSchema schema;
  constexpr int kReplicas = 6;
  std::vector<Status> results(kReplicas);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] {
      auto s = Store::open(schema.url());
      results[i] = s.status();
      if (s.is_ok() && (*s)->schema_version() != Store::kSchemaVersion) {
        results[i] = internal_error("wrong version");
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_TRUE(r.is_ok()) << r.to_string();
  EXPECT_EQ(schema.admin().exec("SELECT count(*) FROM " + schema.name() + ".yun_schema"), "1");
}

TEST(PostgresStore, DescribeNeverShowsThePassword) {
  YUN_NEED_PG();
  test::PgSchema schema;
  auto s = Store::open(schema.url() + "&password=hunter2-secret");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  std::string d = (*s)->describe();
  EXPECT_TRUE(d.starts_with("postgres://")) << d;
  EXPECT_EQ(d.find("hunter2"), std::string::npos) << d;
  EXPECT_NE(d.find("/yun"), std::string::npos) << d;
}

TEST(PostgresStore, UnreachableServerIsUnavailable) {
  auto s = Store::open("postgresql:///yun?host=/nonexistent-yun-socket-dir&port=1&password=pw-xyz");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable) << s.status().to_string();
  EXPECT_EQ(s.status().message().find("pw-xyz"), std::string::npos);
}

}  // namespace
}  // namespace yun::tenancy
#endif
