// SqlStore (sql_store.h).
#include "yun/tenancy/sql_store.h"

#include "yun/tenancy/schema.h"

namespace yun::tenancy {

SqlStore::SqlStore(sql::Dialect dialect) : dialect_(dialect), instance_(new_id("in_")) {}

Status SqlStore::migrate() {
  return transaction([&]() -> Status {
    YUN_RETURN_IF_ERROR(before_migration());
    YUN_RETURN_IF_ERROR(exec_script(sql::kCreateVersionTable));
    int found = 0;
    YUN_RETURN_IF_ERROR(query(sql::kSelectVersion, {},
                              [&](const sql::Row& r) { found = static_cast<int>(r.i64(0)); }));
    if (found > kSchemaVersion) return sql::newer_schema_error(found);
    for (const Migration& m : migrations(dialect_)) {
      if (m.version <= found) continue;
      YUN_RETURN_IF_ERROR(
          exec_script(m.sql).with_context("migration to version " + std::to_string(m.version)));
    }
    if (found < kSchemaVersion) {
      YUN_RETURN_IF_ERROR(exec("DELETE FROM yun_schema", {}));
      YUN_RETURN_IF_ERROR(
          exec("INSERT INTO yun_schema(version) VALUES($1)", {int64_t{kSchemaVersion}}));
    }
    return Status::ok();
  });
}

int SqlStore::schema_version() {
  std::lock_guard lock(mu_);
  int v = known_version_;
  (void)query(sql::kSelectVersion, {}, [&](const sql::Row& r) { v = static_cast<int>(r.i64(0)); });
  return v;
}

Status SqlStore::ping() {
  std::lock_guard lock(mu_);
  return query("SELECT 1", {}, [](const sql::Row&) {});
}

Status SqlStore::create_tenant(const Tenant& t) {
  std::lock_guard lock(mu_);
  Status s = exec(sql::kInsertTenant, sql::tenant_params(t));
  if (s.code() == StatusCode::kInvalidArgument) {
    return invalid_argument("tenant name '" + t.name + "' is taken");
  }
  return s;
}

Status SqlStore::update_tenant(const Tenant& t) {
  std::lock_guard lock(mu_);
  int64_t changed = 0;
  Status s = exec(sql::kUpdateTenant, sql::tenant_params(t), &changed);
  if (s.code() == StatusCode::kInvalidArgument) {
    return invalid_argument("tenant name '" + t.name + "' is taken");
  }
  YUN_RETURN_IF_ERROR(s);
  if (changed == 0) return not_found("no tenant " + t.id);
  return Status::ok();
}

Result<std::optional<Tenant>> SqlStore::get_tenant(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<Tenant> out;
  YUN_RETURN_IF_ERROR(query(sql::kSelectTenantById, {id},
                            [&](const sql::Row& r) { out = sql::tenant_from_row(r); }));
  return out;
}

Result<std::optional<Tenant>> SqlStore::find_tenant_by_name(const std::string& name) {
  std::lock_guard lock(mu_);
  std::optional<Tenant> out;
  YUN_RETURN_IF_ERROR(query(sql::kSelectTenantByName, {name},
                            [&](const sql::Row& r) { out = sql::tenant_from_row(r); }));
  return out;
}

Result<std::vector<Tenant>> SqlStore::list_tenants() {
  std::lock_guard lock(mu_);
  std::vector<Tenant> out;
  YUN_RETURN_IF_ERROR(query(sql::kListTenants, {},
                            [&](const sql::Row& r) { out.push_back(sql::tenant_from_row(r)); }));
  return out;
}

Status SqlStore::create_key(const ApiKey& k) {
  std::lock_guard lock(mu_);
  Status s = exec(sql::kInsertKey, sql::key_params(k));
  if (s.code() == StatusCode::kNotFound) return not_found("no tenant " + k.tenant_id);
  if (s.code() == StatusCode::kInvalidArgument) {
    return invalid_argument("key " + k.id + " (or its hash) already exists");
  }
  return s;
}

Result<std::optional<ApiKey>> SqlStore::get_key(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<ApiKey> out;
  YUN_RETURN_IF_ERROR(
      query(sql::kSelectKeyById, {id}, [&](const sql::Row& r) { out = sql::key_from_row(r); }));
  return out;
}

Result<std::optional<ApiKey>> SqlStore::find_key_by_hash(const std::string& hash) {
  std::lock_guard lock(mu_);
  std::optional<ApiKey> out;
  YUN_RETURN_IF_ERROR(
      query(sql::kSelectKeyByHash, {hash}, [&](const sql::Row& r) { out = sql::key_from_row(r); }));
  return out;
}

Result<std::vector<ApiKey>> SqlStore::list_keys(const std::string& tenant_id) {
  std::lock_guard lock(mu_);
  std::vector<ApiKey> out;
  YUN_RETURN_IF_ERROR(query(sql::kListKeys, {tenant_id},
                            [&](const sql::Row& r) { out.push_back(sql::key_from_row(r)); }));
  return out;
}

Status SqlStore::revoke_key(const std::string& id, int64_t when_ms) {
  std::lock_guard lock(mu_);
  int64_t changed = 0;
  YUN_RETURN_IF_ERROR(exec(sql::kRevokeKey, {id, when_ms}, &changed));
  if (changed == 0) return not_found("no key " + id);
  return Status::ok();
}

Result<std::vector<UsageRow>> SqlStore::query_usage(const UsageQuery& q) {
  sql::Params params;
  std::string text = sql::usage_query(q, dialect_, &params);
  std::lock_guard lock(mu_);
  std::vector<UsageRow> out;
  YUN_RETURN_IF_ERROR(
      query(text, params, [&](const sql::Row& r) { out.push_back(sql::usage_row_from_row(r)); }));
  sql::sort_usage(out);
  return out;
}

Result<std::vector<SpendRow>> SqlStore::spend(const std::string& from_day,
                                              const std::string& exclude_instance) {
  std::lock_guard lock(mu_);
  std::vector<SpendRow> out;
  YUN_RETURN_IF_ERROR(query(sql::kSpend, {from_day, exclude_instance},
                            [&](const sql::Row& r) { out.push_back(sql::spend_from_row(r)); }));
  sql::sort_spend(out);
  return out;
}

Result<std::vector<SpendRow>> SqlStore::recent(int64_t since_ms,
                                               const std::string& exclude_instance) {
  std::lock_guard lock(mu_);
  std::vector<SpendRow> out;
  YUN_RETURN_IF_ERROR(query(sql::kRecent, {since_ms, exclude_instance},
                            [&](const sql::Row& r) { out.push_back(sql::spend_from_row(r)); }));
  sql::sort_spend(out);
  return out;
}

Status SqlStore::append_audit(const AuditEntry& e) {
  std::lock_guard lock(mu_);
  return exec(sql::kInsertAudit, {e.time_ms, e.actor, e.action, e.target, e.detail});
}

Result<std::vector<AuditEntry>> SqlStore::list_audit(int64_t limit) {
  std::lock_guard lock(mu_);
  std::vector<AuditEntry> out;
  YUN_RETURN_IF_ERROR(query(sql::kListAudit, {limit},
                            [&](const sql::Row& r) { out.push_back(sql::audit_from_row(r)); }));
  return out;
}

}  // namespace yun::tenancy
