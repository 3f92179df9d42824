// Store: where tenancy state lives. Two implementations behind one
// interface: SQLite (embedded, the default, a file under --state-dir, WAL
// mode) and PostgreSQL (--db postgres://…, so replicas share one state).
// The schema is versioned; open() migrates an older schema forward in one
// transaction (and refuses a newer one with a clear error).
//
// Errors are values: kInvalidArgument for a duplicate name or a bad
// argument, kNotFound for an unknown id, kUnavailable when the database is
// locked, full or gone (the caller answers 503 and retries later). Every
// method is thread-safe (one connection behind a mutex); none is meant for
// an IO or engine thread when the store is PostgreSQL (a round trip).
//
// Usage records are exactly-once by request_id: append_usage() inserts the
// records of a batch in one transaction, skips ids already stored, and adds
// the new ones' tokens to per-day spend counters (per tenant and per key,
// and per instance, so a replica can tell its own spend from the others').
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/tenancy/model.h"

namespace yun::tenancy {

class Store {
 public:
  virtual ~Store() = default;

  // `where`: "postgres://…" or "postgresql://…" (a libpq URI) opens
  // PostgreSQL; anything else is a state directory (created if missing)
  // holding yun.db. Migrates the schema. Each open() gets a fresh random
  // instance id (instance()).
  static Result<std::unique_ptr<Store>> open(const std::string& where);

  // 1: tenants, keys, usage; 2: + per-day spend counters (backfilled) and the audit log;
  // 3: + stored Responses and their items.
  static constexpr int kSchemaVersion = 3;
  virtual int schema_version() = 0;  // of the open database
  virtual const std::string& instance() const = 0;
  virtual std::string describe() const = 0;  // "sqlite:/path/yun.db" / "postgres://host/db" (no password)
  virtual Status ping() = 0;                  // a trivial query; kUnavailable when gone

  // Tenants. create: kInvalidArgument when the name is taken.
  virtual Status create_tenant(const Tenant& t) = 0;
  virtual Status update_tenant(const Tenant& t) = 0;  // by id; kNotFound
  virtual Result<std::optional<Tenant>> get_tenant(const std::string& id) = 0;
  virtual Result<std::optional<Tenant>> find_tenant_by_name(const std::string& name) = 0;
  virtual Result<std::vector<Tenant>> list_tenants() = 0;  // by created_ms, then id

  // Keys. find_key_by_hash returns revoked and expired keys too (the caller
  // decides); list_keys with "" lists every tenant's.
  virtual Status create_key(const ApiKey& k) = 0;
  virtual Result<std::optional<ApiKey>> get_key(const std::string& id) = 0;
  virtual Result<std::optional<ApiKey>> find_key_by_hash(const std::string& hash) = 0;
  virtual Result<std::vector<ApiKey>> list_keys(const std::string& tenant_id) = 0;
  virtual Status revoke_key(const std::string& id, int64_t when_ms) = 0;  // kNotFound

  // Usage. One transaction per call; ids already stored are skipped.
  virtual Status append_usage(std::span<const UsageRecord> records) = 0;
  virtual Result<std::vector<UsageRow>> query_usage(const UsageQuery& q) = 0;
  // Spend per subject ("t:<tenant>", "k:<key>") from the per-day counters,
  // days (UTC, "YYYY-MM-DD") >= from_day ("" : all), not counting records
  // of `exclude_instance` ("" : count all).
  virtual Result<std::vector<SpendRow>> spend(const std::string& from_day,
                                              const std::string& exclude_instance) = 0;
  // Requests and tokens per subject of records with end_ms >= since_ms, not
  // counting `exclude_instance`'s (other replicas' last minute, for
  // per-minute limits).
  virtual Result<std::vector<SpendRow>> recent(int64_t since_ms,
                                               const std::string& exclude_instance) = 0;

  // Stored Responses (serve/response_store.h), always by (tenant, id): a
  // tenant never reads, finds or deletes another tenant's. put_response
  // replaces a row of the same id (and its items) in one transaction; an
  // item id the tenant already has stays with the row that stored it first
  // (an item_reference copied into a later request's input is not re-owned).
  virtual Status put_response(const ResponseRow& r) = 0;
  virtual Result<std::optional<ResponseRow>> get_response(
      const std::string& tenant_id,
      const std::string& id) = 0;  // items not read
  // False when there was no such row.
  virtual Result<bool> delete_response(const std::string& tenant_id, const std::string& id) = 0;
  // The JSON text of the tenant's item `item_id`; nullopt when none.
  virtual Result<std::optional<std::string>> find_response_item(const std::string& tenant_id,
                                                                const std::string& item_id) = 0;
  // Deletes every row (and its items) created before `before_ms`; how many.
  virtual Result<int64_t> purge_responses(int64_t before_ms) = 0;

  // Audit log of admin actions, newest first.
  virtual Status append_audit(const AuditEntry& e) = 0;  // e.id ignored
  virtual Result<std::vector<AuditEntry>> list_audit(int64_t limit) = 0;
};

}  // namespace yun::tenancy
