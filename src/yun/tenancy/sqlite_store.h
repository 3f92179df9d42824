// SqliteStore: the embedded Store (store.h), one SQLite file in WAL mode.
// The methods both backends share are SqlStore's (sql_store.h); this is
// the connection under them.
//
// One connection behind SqlStore's mutex, its prepared statements cached. Writers
// wait for a lock up to busy_timeout, then fail with kUnavailable; so do a
// full disk, a read-only file and IO errors (the message is SQLite's).
// Foreign keys are on; synchronous=FULL, so a committed batch survives a
// power loss.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "yun/tenancy/sql_common.h"
#include "yun/tenancy/sql_store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace yun::tenancy {

struct SqliteOptions {
  std::chrono::milliseconds busy_timeout{2000};
  // A cap on the database's size in pages (0: SQLite's own, about 4 TiB of
  // 4 KiB pages); past it writes fail as on a full disk: kUnavailable.
  int64_t max_page_count = 0;
};

class SqliteStore final : public SqlStore {
 public:
  // Opens (creating if missing) the database at `path` and migrates it.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                   SqliteOptions options = {});
  ~SqliteStore() override;

  std::string describe() const override { return "sqlite:" + path_; }
  // Records one by one in a transaction (BEGIN IMMEDIATE), each new one's
  // tokens added to its spend counters.
  Status append_usage(std::span<const UsageRecord> records) override;

 private:
  SqliteStore(sqlite3* db, std::string path);
  // The cached statement for `sql` ($n placeholders), reset and bound.
  Result<sqlite3_stmt*> prepare(const std::string& sql, const sql::Params& params);
  Status exec(const std::string& sql, const sql::Params& params,
              int64_t* changed = nullptr) override;
  Status query(const std::string& sql, const sql::Params& params, const RowFn& row) override;
  Status exec_script(const std::string& sql) override;
  Status transaction(const std::function<Status()>& body) override;
  Status error(int rc, const std::string& what);

  sqlite3* db_;  // guarded by mu_
  std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;  // guarded by mu_
};

}  // namespace yun::tenancy
