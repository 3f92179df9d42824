// The Ledger (ledger.h) on both backends: 10,000 records from 4 threads
// committed exactly once; a record committed within about the flush
// interval; a store that fails (its table locked by another connection)
// turns healthy() false, and after the lock goes every record is there
// once; drain on destruction; records after shutdown are dropped and
// counted. LedgerBench prints the ledger's write rate (not asserted).
//   build/tests/yun_tenancy_tests --gtest_filter='*Ledger*'
#include "yun/tenancy/ledger.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <thread>

#include "store_fixture.h"
#include "yun/tenancy/sqlite_store.h"
#ifdef YUN_HAVE_POSTGRES
#include "yun/tenancy/postgres_store.h"
#endif

namespace yun::tenancy {
namespace {

using namespace std::chrono_literals;
using test::usage;

// "<prefix><i>" (a request id; built without `literal + string`, which
// GCC 12 misreports under -Wrestrict).
std::string rid(const char* prefix, int i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

// Holds a write lock on the backend's usage table from another connection
// while it lives (release() ends it early).
class WriteBlocker {
 public:
  explicit WriteBlocker(test::Backend& b) {
    if (!b.postgres()) {
      EXPECT_EQ(sqlite3_open(b.dir()->db().c_str(), &lite_), SQLITE_OK);
      EXPECT_EQ(sqlite3_exec(lite_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
      return;
    }
#ifdef YUN_HAVE_POSTGRES
    pg_ = std::make_unique<test::PgConn>(test::pg_url());
    pg_->exec("BEGIN");
    pg_->exec("LOCK TABLE " + b.pg()->name() + ".usage IN ACCESS EXCLUSIVE MODE");
#endif
  }
  ~WriteBlocker() { release(); }
  void release() {
    if (lite_) {
      sqlite3_exec(lite_, "COMMIT", nullptr, nullptr, nullptr);
      sqlite3_close(lite_);
      lite_ = nullptr;
    }
#ifdef YUN_HAVE_POSTGRES
    if (pg_) {
      pg_->exec("COMMIT");
      pg_.reset();
    }
#endif
  }

 private:
  sqlite3* lite_ = nullptr;
#ifdef YUN_HAVE_POSTGRES
  std::unique_ptr<test::PgConn> pg_;
#endif
};

class LedgerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") YUN_NEED_PG();
    backend_ = std::make_unique<test::Backend>(GetParam());
    // Short lock waits, so a blocked store fails fast.
    if (backend_->postgres()) {
#ifdef YUN_HAVE_POSTGRES
      auto s = PostgresStore::open(backend_->where(), {.lock_timeout = 100ms});
      ASSERT_TRUE(s.is_ok()) << s.status().to_string();
      store_ = std::move(*s);
#endif
    } else {
      auto s = SqliteStore::open(backend_->dir()->db(), {.busy_timeout = 100ms});
      ASSERT_TRUE(s.is_ok()) << s.status().to_string();
      store_ = std::move(*s);
    }
  }

  static bool wait_for(const std::function<bool()>& f, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (f()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return f();
  }

  std::unique_ptr<test::Backend> backend_;
  std::unique_ptr<Store> store_;
};

TEST_P(LedgerTest, TenThousandRecordsFromFourThreadsCommitExactlyOnce) {
  Ledger ledger(store_.get());
  std::atomic<int64_t> seen{0};
  ledger.set_on_commit(
      [&](std::span<const UsageRecord> b) { seen += static_cast<int64_t>(b.size()); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2500; ++i) {
        std::string id = rid(rid("r", t).append("-").c_str(), i);
        ledger.record(usage(id, "tn_" + std::to_string(t), "key_" + std::to_string(t), "m", 3, 2,
                            1796119200000 + i));
        // Every 100th record is given twice (a retried request): still once.
        if (i % 100 == 0) ledger.record(usage(id, "tn_x", "key_x", "m", 1000, 0, 1));
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(ledger.flush(30s));
  LedgerStats st = ledger.stats();
  EXPECT_EQ(st.committed, 10'100);
  EXPECT_EQ(st.pending, 0);
  EXPECT_EQ(st.failures, 0);
  EXPECT_TRUE(st.healthy);
  EXPECT_EQ(seen.load(), 10'100);
  auto t = test::totals(*store_);
  EXPECT_EQ(t.requests, 10'000);
  EXPECT_EQ(t.tokens, 50'000);
  auto spend = store_->spend("", "");
  ASSERT_TRUE(spend.is_ok());
  ASSERT_EQ(spend->size(), 8u);  // k:key_0..3, t:tn_0..3; nothing for tn_x
  for (const auto& row : *spend) {
    EXPECT_EQ(row.requests, 2500) << row.subject;
    EXPECT_EQ(row.tokens, 12'500) << row.subject;
  }
}

TEST_P(LedgerTest, ARecordIsCommittedWithinAboutTheFlushInterval) {
  Ledger ledger(store_.get());  // flush_interval 100 ms
  std::chrono::steady_clock::duration worst{};
  for (int i = 0; i < 5; ++i) {
    std::string id = rid("lat", i);
    auto t0 = std::chrono::steady_clock::now();
    ledger.record(usage(id, "tn_a", "", "m", 1, 1, 1000 + i));
    ASSERT_TRUE(wait_for([&] { return test::totals(*store_).requests == i + 1; }, 5s));
    worst = std::max(worst, std::chrono::steady_clock::now() - t0);
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(worst).count();
  std::printf("[ ledger ] %s: slowest record() -> committed: %lld ms\n", GetParam().c_str(),
              static_cast<long long>(ms));
  EXPECT_LT(worst, 2s);
}

TEST_P(LedgerTest, FailureTurnsUnhealthyThenRecoversWithoutLossOrDuplicates) {
  Ledger ledger(store_.get(), {.flush_interval = 20ms});
  for (int i = 0; i < 100; ++i) ledger.record(usage(rid("a", i), "tn_a", "", "m", 1, 0, 5));
  ASSERT_TRUE(ledger.flush(10s));
  {
    WriteBlocker block(*backend_);
    for (int i = 0; i < 300; ++i) ledger.record(usage(rid("b", i), "tn_a", "", "m", 1, 0, 5));
    ASSERT_TRUE(wait_for([&] { return !ledger.healthy(); }, 10s));
    LedgerStats st = ledger.stats();
    EXPECT_GE(st.failures, 1);
    EXPECT_EQ(st.pending, 300);
    EXPECT_FALSE(st.last_error.empty());
    EXPECT_FALSE(ledger.flush(50ms));
    // Records keep queueing while the store is down (repeats among them).
    for (int i = 0; i < 200; ++i) ledger.record(usage(rid("c", i), "tn_a", "", "m", 1, 0, 5));
    for (int i = 0; i < 50; ++i) ledger.record(usage(rid("a", i), "tn_a", "", "m", 9, 0, 5));
  }
  ASSERT_TRUE(ledger.flush(20s));
  EXPECT_TRUE(ledger.healthy());
  LedgerStats st = ledger.stats();
  EXPECT_EQ(st.pending, 0);
  EXPECT_EQ(st.last_error, "");
  EXPECT_EQ(st.committed, 650);
  auto t = test::totals(*store_);
  EXPECT_EQ(t.requests, 600);
  EXPECT_EQ(t.tokens, 600);
  auto spend = store_->spend("", "");
  ASSERT_EQ(spend->size(), 1u);
  EXPECT_EQ((*spend)[0].requests, 600);
}

TEST_P(LedgerTest, CommittedCallbacksRunAfterTheirTransactionOrAfterCommitWait) {
  // A long flush interval: a record with a callback is committed at once anyway.
  Ledger ledger(store_.get(), {.flush_interval = 60s, .commit_wait = 300ms});
  std::atomic<int> yes{0}, no{0};
  auto cb = [&](bool ok) { (ok ? yes : no) += 1; };
  auto t0 = std::chrono::steady_clock::now();
  ledger.record(usage(rid("w", 0), "tn_a", "", "m", 1, 0, 5), cb);
  ASSERT_TRUE(wait_for([&] { return yes == 1; }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(test::totals(*store_).requests, 1);  // committed before the callback ran
  {
    WriteBlocker block(*backend_);
    t0 = std::chrono::steady_clock::now();
    ledger.record(usage(rid("w", 1), "tn_a", "", "m", 1, 0, 5), cb);
    ASSERT_TRUE(wait_for([&] { return no == 1; }, 10s));  // told false after commit_wait
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
    EXPECT_EQ(yes, 1);
  }
  ASSERT_TRUE(ledger.flush(20s));  // still committed once the store is back
  EXPECT_EQ(test::totals(*store_).requests, 2);
  EXPECT_EQ(yes, 1);
  EXPECT_EQ(no, 1);  // each callback runs once
}

TEST_P(LedgerTest, DestructionDrainsTheQueue) {
  {
    Ledger ledger(store_.get(), {.flush_interval = 60s});
    for (int i = 0; i < 1000; ++i) ledger.record(usage(rid("d", i), "tn_a", "", "m", 1, 1, 5));
  }
  EXPECT_EQ(test::totals(*store_).requests, 1000);
}

TEST_P(LedgerTest, WhatCannotBeCommittedAtShutdownIsCountedAsDropped) {
  Ledger ledger(store_.get(), {.flush_interval = 10ms});
  WriteBlocker block(*backend_);
  for (int i = 0; i < 10; ++i) ledger.record(usage(rid("e", i), "tn_a", "", "m", 1, 1, 5));
  ledger.drain(300ms);
  LedgerStats st = ledger.stats();
  EXPECT_EQ(st.dropped, 10);
  EXPECT_EQ(st.pending, 0);
  ledger.record(usage("late", "tn_a", "", "m", 1, 1, 5));  // after drain: dropped too
  EXPECT_EQ(ledger.stats().dropped, 11);
  block.release();
  EXPECT_EQ(test::totals(*store_).requests, 0);
}

TEST_P(LedgerTest, TooManyPendingRecordsTurnUnhealthyUntilCommitted) {
  Ledger ledger(store_.get(), {.flush_interval = 60s, .max_batch = 2000, .max_pending = 5});
  for (int i = 0; i < 10; ++i) ledger.record(usage(rid("p", i), "tn_a", "", "m", 1, 1, 5));
  EXPECT_FALSE(ledger.healthy());  // nothing dropped, but admission should stop
  ASSERT_TRUE(ledger.flush(10s));
  EXPECT_TRUE(ledger.healthy());
  EXPECT_EQ(test::totals(*store_).requests, 10);
}

#ifdef YUN_HAVE_POSTGRES
TEST(PostgresLedger, SurvivesATerminatedBackend) {
  YUN_NEED_PG();
  test::PgSchema schema;
  auto opened = PostgresStore::open(schema.url());
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  PostgresStore& s = **opened;
  Ledger ledger(&s);
  for (int i = 0; i < 100; ++i) ledger.record(usage(rid("f", i), "tn_a", "", "m", 1, 1, 5));
  ASSERT_TRUE(ledger.flush(10s));
  schema.admin().exec("SELECT pg_terminate_backend($1)", {std::to_string(s.backend_pid())});
  for (int i = 100; i < 200; ++i) ledger.record(usage(rid("f", i), "tn_a", "", "m", 1, 1, 5));
  ASSERT_TRUE(ledger.flush(10s));
  EXPECT_TRUE(ledger.healthy());
  EXPECT_EQ(test::totals(s).requests, 200);
}
#endif

INSTANTIATE_TEST_SUITE_P(Backends, LedgerTest, ::testing::Values("sqlite", "postgres"),
                         test::backend_name);

// Records per second through the ledger into a real store (printed; the
// target on SQLite is >= 10,000/s). Not a pass/fail check.
void print_rate(Store* store, const char* what) {
  constexpr int kRecords = 50'000;
  Ledger ledger(store);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRecords; ++i) {
    ledger.record(usage(rid("bench", i), "tn_" + std::to_string(i % 50),
                        "key_" + std::to_string(i % 200), "m", 100, 50, 1796119200000 + i));
  }
  ASSERT_TRUE(ledger.flush(120s));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ ledger ] %s: %d records in %.3f s: %.0f records/s (%lld transactions)\n", what,
              kRecords, s, kRecords / s, static_cast<long long>(ledger.stats().batches));
}

TEST(LedgerBench, SqliteWriteRate) {
  test::TempDir dir;
  auto s = Store::open(dir.str());
  ASSERT_TRUE(s.is_ok());
  print_rate(s->get(), "sqlite");
  EXPECT_EQ(test::totals(**s).requests, 50'000);
}

#ifdef YUN_HAVE_POSTGRES
TEST(LedgerBench, PostgresWriteRate) {
  YUN_NEED_PG();
  test::PgSchema schema;
  auto s = Store::open(schema.url());
  ASSERT_TRUE(s.is_ok());
  print_rate(s->get(), "postgres");
  EXPECT_EQ(test::totals(**s).requests, 50'000);
}
#endif

}  // namespace
}  // namespace yun::tenancy
