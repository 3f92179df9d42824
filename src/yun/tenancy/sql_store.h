// SqlStore: the Store (store.h) methods whose logic is the same on SQLite
// and PostgreSQL, written once over three primitives that each backend
// provides: run a statement (-> the rows it changed), run a query (-> a
// callback per row) and run a body in one transaction. It holds the one
// mutex that makes every method thread-safe and the instance id, and runs
// the migrations (schema.h) for both.
//
// A backend keeps only what differs: opening and describing its
// connection, reconnecting, its statement cache, how its errors map to a
// Status (the messages below rely on kInvalidArgument for a unique and
// kNotFound for a foreign key violation), append_usage (SQLite inserts
// record by record in a transaction, PostgreSQL a whole batch in one
// statement) and whatever its migration needs first (PostgreSQL's lock).
#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "yun/tenancy/sql_common.h"
#include "yun/tenancy/store.h"

namespace yun::tenancy {

class SqlStore : public Store {
 public:
  const std::string& instance() const final { return instance_; }
  int schema_version() final;
  Status ping() final;

  Status create_tenant(const Tenant& t) final;
  Status update_tenant(const Tenant& t) final;
  Result<std::optional<Tenant>> get_tenant(const std::string& id) final;
  Result<std::optional<Tenant>> find_tenant_by_name(const std::string& name) final;
  Result<std::vector<Tenant>> list_tenants() final;

  Status create_key(const ApiKey& k) final;
  Result<std::optional<ApiKey>> get_key(const std::string& id) final;
  Result<std::optional<ApiKey>> find_key_by_hash(const std::string& hash) final;
  Result<std::vector<ApiKey>> list_keys(const std::string& tenant_id) final;
  Status revoke_key(const std::string& id, int64_t when_ms) final;

  Result<std::vector<UsageRow>> query_usage(const UsageQuery& q) final;
  Result<std::vector<SpendRow>> spend(const std::string& from_day,
                                      const std::string& exclude_instance) final;
  Result<std::vector<SpendRow>> recent(int64_t since_ms, const std::string& exclude_instance) final;

  Status put_response(const ResponseRow& r) final;
  Result<std::optional<ResponseRow>> get_response(const std::string& tenant_id,
                                                  const std::string& id) final;
  Result<bool> delete_response(const std::string& tenant_id, const std::string& id) final;
  Result<std::optional<std::string>> find_response_item(const std::string& tenant_id,
                                                        const std::string& item_id) final;
  Result<int64_t> purge_responses(int64_t before_ms) final;

  Status append_audit(const AuditEntry& e) final;
  Result<std::vector<AuditEntry>> list_audit(int64_t limit) final;

 protected:
  explicit SqlStore(sql::Dialect dialect);  // a fresh random instance id

  using RowFn = std::function<void(const sql::Row&)>;

  // The primitives. REQUIRES: mu_ held (or the store not yet shared).
  // Runs one statement ($n placeholders, sql_common.h); *changed: the rows
  // it changed.
  virtual Status exec(const std::string& sql, const sql::Params& params,
                      int64_t* changed = nullptr) = 0;
  // Runs one query, calling `row` for each result row.
  virtual Status query(const std::string& sql, const sql::Params& params, const RowFn& row) = 0;
  // Several statements, no parameters (the migration steps).
  virtual Status exec_script(const std::string& sql) = 0;
  // Runs `body` in one transaction: commits when it returns ok, otherwise
  // (or when the commit fails) rolls back; returns body's or the commit's
  // Status.
  virtual Status transaction(const std::function<Status()>& body) = 0;
  // The first statement of migrate()'s transaction (none by default).
  virtual Status before_migration() { return Status::ok(); }

  // Takes the database from its stored schema version to kSchemaVersion in
  // one transaction; refuses a newer one. REQUIRES: mu_ held (or the store
  // not yet shared).
  Status migrate();

  std::mutex mu_;
  // What schema_version() answers when the database cannot be asked.
  int known_version_ = 0;  // guarded by mu_

 private:
  // A query by a unique column: its row, decoded, or nullopt. Takes mu_.
  template <typename T>
  Result<std::optional<T>> the_row(const std::string& sql, const sql::Params& params,
                                   T (*decode)(const sql::Row&));
  // A query's rows, decoded, in its order. Takes mu_.
  template <typename T>
  Result<std::vector<T>> all_rows(const std::string& sql, const sql::Params& params,
                                  T (*decode)(const sql::Row&));

  sql::Dialect dialect_;
  std::string instance_;
};

}  // namespace yun::tenancy
