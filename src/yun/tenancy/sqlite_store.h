// SqliteStore: the embedded Store (store.h), one SQLite file in WAL mode.
//
// One connection behind a mutex, its prepared statements cached. Writers
// wait for a lock up to busy_timeout, then fail with kUnavailable; so do a
// full disk, a read-only file and IO errors (the message is SQLite's).
// Foreign keys are on; synchronous=FULL, so a committed batch survives a
// power loss.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "yun/tenancy/sql_common.h"
#include "yun/tenancy/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace yun::tenancy {

struct SqliteOptions {
  std::chrono::milliseconds busy_timeout{2000};
  // A cap on the database's size in pages (0: SQLite's own, about 4 TiB of
  // 4 KiB pages); past it writes fail as on a full disk: kUnavailable.
  int64_t max_page_count = 0;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if missing) the database at `path` and migrates it.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                   SqliteOptions options = {});
  ~SqliteStore() override;

  int schema_version() override;
  const std::string& instance() const override { return instance_; }
  std::string describe() const override { return "sqlite:" + path_; }
  Status ping() override;

  Status create_tenant(const Tenant& t) override;
  Status update_tenant(const Tenant& t) override;
  Result<std::optional<Tenant>> get_tenant(const std::string& id) override;
  Result<std::optional<Tenant>> find_tenant_by_name(const std::string& name) override;
  Result<std::vector<Tenant>> list_tenants() override;

  Status create_key(const ApiKey& k) override;
  Result<std::optional<ApiKey>> get_key(const std::string& id) override;
  Result<std::optional<ApiKey>> find_key_by_hash(const std::string& hash) override;
  Result<std::vector<ApiKey>> list_keys(const std::string& tenant_id) override;
  Status revoke_key(const std::string& id, int64_t when_ms) override;

  Status append_usage(std::span<const UsageRecord> records) override;
  Result<std::vector<UsageRow>> query_usage(const UsageQuery& q) override;
  Result<std::vector<SpendRow>> spend(const std::string& from_day,
                                      const std::string& exclude_instance) override;
  Result<std::vector<SpendRow>> recent(int64_t since_ms,
                                       const std::string& exclude_instance) override;

  Status append_audit(const AuditEntry& e) override;
  Result<std::vector<AuditEntry>> list_audit(int64_t limit) override;

 private:
  SqliteStore(sqlite3* db, std::string path);
  Status migrate();  // REQUIRES: mu_ held (or not yet shared)
  // The cached statement for `sql` ($n placeholders), reset and bound.
  Result<sqlite3_stmt*> prepare(const std::string& sql, const sql::Params& params);
  // Runs a statement to completion; *changes: rows it changed.
  Status exec(const std::string& sql, const sql::Params& params, int* changes = nullptr);
  // Runs a query, calling `row` for each result row.
  template <typename F>
  Status query(const std::string& sql, const sql::Params& params, F&& row);
  Status exec_script(const char* sql);  // several statements, no parameters
  Status error(int rc, const std::string& what);

  sqlite3* db_;  // guarded by mu_
  std::string path_, instance_;
  std::mutex mu_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;  // guarded by mu_
  int version_ = 0;                                       // guarded by mu_
};

}  // namespace yun::tenancy
