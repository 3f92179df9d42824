// PostgresStore: the shared Store (store.h) on PostgreSQL through libpq, so
// that replicas see one state.
//
// The methods both backends share are SqlStore's (sql_store.h); this is
// the connection under them.
//
// One connection behind SqlStore's mutex; values only ever travel as parameters
// (PQexecParams). A statement that finds the connection lost resets it
// (PQreset) and runs once more: safe, as every statement is one transaction
// and usage inserts are idempotent. Migrations run in one transaction under
// a transaction-level advisory lock, so replicas starting together migrate
// once. A lock wait longer than lock_timeout, a lost server and a full disk
// are kUnavailable; a unique or foreign key violation kInvalidArgument /
// kNotFound.
//
// The tables live in the connection's search_path (a URL may set it:
// ...?options=-csearch_path%3Dmyschema). Only built with YUN_HAVE_POSTGRES.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "yun/tenancy/sql_common.h"
#include "yun/tenancy/sql_store.h"

struct pg_conn;
struct pg_result;

namespace yun::tenancy {

struct PostgresOptions {
  std::chrono::milliseconds lock_timeout{2000};
  int connect_timeout_s = 5;  // unless the URL sets connect_timeout
};

class PostgresStore final : public SqlStore {
 public:
  // `url`: a libpq URI (postgres://user:pw@host:port/db?...).
  static Result<std::unique_ptr<PostgresStore>> open(const std::string& url,
                                                     PostgresOptions options = {});
  ~PostgresStore() override;

  std::string describe() const override { return describe_; }
  // The server process id of the current connection (tests end it with
  // pg_terminate_backend to check that the store reconnects).
  int backend_pid();
  // A whole batch in one statement (json_to_recordset), spend counters
  // included.
  Status append_usage(std::span<const UsageRecord> records) override;

 private:
  PostgresStore(pg_conn* conn, PostgresOptions options);
  Status setup_session();  // REQUIRES: mu_ held; after every (re)connect
  // Runs one statement; `rows` gets each row. *affected: rows changed.
  // Outside a transaction, retries once on a fresh connection when the
  // connection was lost.
  template <typename F>
  Status run(const std::string& sql, const sql::Params& params, F&& rows,
             int64_t* affected = nullptr);
  Status exec(const std::string& sql, const sql::Params& params,
              int64_t* affected = nullptr) override;
  Status query(const std::string& sql, const sql::Params& params, const RowFn& row) override;
  Status exec_script(const std::string& sql) override;  // no retry
  // BEGIN … COMMIT; inside it no statement reconnects (a new connection
  // would not be in the transaction).
  Status transaction(const std::function<Status()>& body) override;
  // Replicas starting together: the second waits for the first's commit.
  Status before_migration() override;

  pg_conn* conn_;  // guarded by mu_
  PostgresOptions options_;
  std::string describe_;
  bool in_transaction_ = false;  // guarded by mu_
};

}  // namespace yun::tenancy
