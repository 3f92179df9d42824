// Real databases for the tenancy tests: a fresh SQLite state directory in a
// temp dir, or a fresh schema in the PostgreSQL server named by
// YUN_TEST_PG_URL (scripts/pg-test-server.sh starts one; scripts/test.sh
// exports it). Without YUN_TEST_PG_URL the PostgreSQL tests skip, unless
// YUN_REQUIRE_PG=1, which makes them fail (CI never skips them silently).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "yun/tenancy/keys.h"
#include "yun/tenancy/store.h"

#ifdef YUN_HAVE_POSTGRES
#include <libpq-fe.h>
#endif

namespace yun::tenancy::test {

inline std::string pg_url() {
  const char* v = std::getenv("YUN_TEST_PG_URL");
  return v ? v : "";
}
inline bool pg_required() {
  const char* v = std::getenv("YUN_REQUIRE_PG");
  return v && std::string(v) == "1";
}

// In a test body or SetUp: skip (or fail under YUN_REQUIRE_PG=1) without a server.
#ifdef YUN_HAVE_POSTGRES
#define YUN_NEED_PG()                                                                       \
  do {                                                                                      \
    if (::yun::tenancy::test::pg_url().empty()) {                                           \
      if (::yun::tenancy::test::pg_required()) {                                            \
        FAIL() << "YUN_REQUIRE_PG=1 but YUN_TEST_PG_URL is unset";                          \
      }                                                                                     \
      GTEST_SKIP() << "no PostgreSQL (set YUN_TEST_PG_URL, see scripts/pg-test-server.sh)"; \
    }                                                                                       \
  } while (0)
#else
#define YUN_NEED_PG()                                                         \
  do {                                                                        \
    if (::yun::tenancy::test::pg_required()) FAIL() << "built without libpq"; \
    GTEST_SKIP() << "built without PostgreSQL support";                       \
  } while (0)
#endif

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() / ("yun-tenancy-" + random_hex(8));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string db() const { return (path_ / "yun.db").string(); }

 private:
  std::filesystem::path path_;
};

#ifdef YUN_HAVE_POSTGRES
// A plain libpq connection for the test's own statements (setup, locks,
// pg_terminate_backend).
class PgConn {
 public:
  explicit PgConn(const std::string& url) : c_(PQconnectdb(url.c_str())) {
    PQsetNoticeProcessor(
        c_, [](void*, const char*) {}, nullptr);
  }
  ~PgConn() { PQfinish(c_); }
  bool ok() const { return PQstatus(c_) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(c_); }
  // Runs `sql` (parameters as text); returns the first value of the first
  // row ("" when none). Fails the test on an error.
  std::string exec(const std::string& sql, const std::vector<std::string>& params = {}) {
    std::vector<const char*> v;
    for (const auto& p : params) v.push_back(p.c_str());
    // PQexec runs several statements; PQexecParams one, with parameters.
    PGresult* r = params.empty() ? PQexec(c_, sql.c_str())
                                 : PQexecParams(c_, sql.c_str(), static_cast<int>(v.size()),
                                                nullptr, v.data(), nullptr, nullptr, 0);
    std::string out;
    auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
    } else if (st == PGRES_TUPLES_OK && PQntuples(r) > 0) {
      out = PQgetvalue(r, 0, 0);
    }
    PQclear(r);
    return out;
  }

 private:
  PGconn* c_;
};

// A fresh schema for one test, dropped at the end; url() opens a store in it.
class PgSchema {
 public:
  PgSchema() : admin_(pg_url()), name_("t_" + random_hex(6)) {
    if (!admin_.ok()) {
      ADD_FAILURE() << "cannot connect to " << pg_url() << ": " << admin_.error();
      return;
    }
    admin_.exec("CREATE SCHEMA " + name_);
  }
  ~PgSchema() {
    if (admin_.ok()) admin_.exec("DROP SCHEMA " + name_ + " CASCADE");
  }
  const std::string& name() const { return name_; }
  std::string url() const {
    std::string u = pg_url();
    return u + (u.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + name_;
  }
  PgConn& admin() { return admin_; }

 private:
  PgConn admin_;
  std::string name_;
};
#endif

// A backend under test: "sqlite" or "postgres"; where() is what Store::open takes.
class Backend {
 public:
  explicit Backend(const std::string& kind) : kind_(kind) {
    if (kind_ == "sqlite") dir_ = std::make_unique<TempDir>();
#ifdef YUN_HAVE_POSTGRES
    if (kind_ == "postgres") pg_ = std::make_unique<PgSchema>();
#endif
  }
  bool postgres() const { return kind_ == "postgres"; }
  std::string where() const {
#ifdef YUN_HAVE_POSTGRES
    if (pg_) return pg_->url();
#endif
    return dir_->str();
  }
  TempDir* dir() { return dir_.get(); }
#ifdef YUN_HAVE_POSTGRES
  PgSchema* pg() { return pg_.get(); }
#endif

 private:
  std::string kind_;
  std::unique_ptr<TempDir> dir_;
#ifdef YUN_HAVE_POSTGRES
  std::unique_ptr<PgSchema> pg_;
#endif
};

// A usage record with the given id, tenant, key, model, tokens and end time.
inline UsageRecord usage(const std::string& id, const std::string& tenant, const std::string& key,
                         const std::string& model, int64_t prompt, int64_t completion,
                         int64_t end_ms, const std::string& instance = "in_test") {
  UsageRecord u;
  u.request_id = id;
  u.tenant_id = tenant;
  u.key_id = key;
  u.model = model;
  u.prompt_tokens = prompt;
  u.completion_tokens = completion;
  u.finish_reason = "stop";
  u.start_ms = end_ms - 10;
  u.end_ms = end_ms;
  u.instance = instance;
  return u;
}

// Total requests and tokens the store holds (query_usage over everything).
struct Totals {
  int64_t requests = 0, tokens = 0;
};
inline Totals totals(Store& s) {
  Totals t;
  auto rows = s.query_usage({});
  EXPECT_TRUE(rows.is_ok()) << rows.status().to_string();
  if (!rows.is_ok()) return t;
  for (const auto& r : *rows) {
    t.requests += r.requests;
    t.tokens += r.prompt_tokens + r.completion_tokens;
  }
  return t;
}

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace yun::tenancy::test
