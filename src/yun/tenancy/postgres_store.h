// PostgresStore: the shared Store (store.h) on PostgreSQL through libpq, so
// that replicas see one state.
//
// One connection behind a mutex; values only ever travel as parameters
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
#include <memory>
#include <mutex>
#include <string>

#include "yun/tenancy/sql_common.h"
#include "yun/tenancy/store.h"

struct pg_conn;
struct pg_result;

namespace yun::tenancy {

struct PostgresOptions {
  std::chrono::milliseconds lock_timeout{2000};
  int connect_timeout_s = 5;  // unless the URL sets connect_timeout
};

class PostgresStore final : public Store {
 public:
  // `url`: a libpq URI (postgres://user:pw@host:port/db?...).
  static Result<std::unique_ptr<PostgresStore>> open(const std::string& url,
                                                     PostgresOptions options = {});
  ~PostgresStore() override;

  int schema_version() override;
  const std::string& instance() const override { return instance_; }
  std::string describe() const override { return describe_; }
  Status ping() override;
  // The server process id of the current connection (tests end it with
  // pg_terminate_backend to check that the store reconnects).
  int backend_pid();

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
  PostgresStore(pg_conn* conn, PostgresOptions options);
  Status setup_session();  // REQUIRES: mu_ held; after every (re)connect
  Status migrate();
  // Runs one statement; `rows` gets each row. *affected: rows changed.
  // Retries once on a fresh connection when the connection was lost.
  template <typename F>
  Status run(const std::string& sql, const sql::Params& params, F&& rows,
             int64_t* affected = nullptr);
  Status exec(const std::string& sql, const sql::Params& params, int64_t* affected = nullptr);
  Status exec_script(const std::string& sql);  // no parameters, no retry (transactions)

  pg_conn* conn_;  // guarded by mu_
  PostgresOptions options_;
  std::string instance_, describe_;
  std::mutex mu_;
};

}  // namespace yun::tenancy
