// SqlStore (sql_store.h).
#include "yun/tenancy/sql_store.h"

#include "yun/tenancy/schema.h"

namespace yun::tenancy {

SqlStore::SqlStore(sql::Dialect dialect) : dialect_(dialect), instance_(new_id("in_")) {}

template <typename T>
Result<std::optional<T>> SqlStore::the_row(const std::string& sql, const sql::Params& params,
                                           T (*decode)(const sql::Row&)) {
  std::lock_guard lock(mu_);
  std::optional<T> out;
  YUN_RETURN_IF_ERROR(query(sql, params, [&](const sql::Row& r) { out = decode(r); }));
  return out;
}

template <typename T>
Result<std::vector<T>> SqlStore::all_rows(const std::string& sql, const sql::Params& params,
                                          T (*decode)(const sql::Row&)) {
  std::lock_guard lock(mu_);
  std::vector<T> out;
  YUN_RETURN_IF_ERROR(query(sql, params, [&](const sql::Row& r) { out.push_back(decode(r)); }));
  return out;
}

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
  return the_row(sql::kSelectTenantById, {id}, sql::tenant_from_row);
}

Result<std::optional<Tenant>> SqlStore::find_tenant_by_name(const std::string& name) {
  return the_row(sql::kSelectTenantByName, {name}, sql::tenant_from_row);
}

Result<std::vector<Tenant>> SqlStore::list_tenants() {
  return all_rows(sql::kListTenants, {}, sql::tenant_from_row);
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
  return the_row(sql::kSelectKeyById, {id}, sql::key_from_row);
}

Result<std::optional<ApiKey>> SqlStore::find_key_by_hash(const std::string& hash) {
  return the_row(sql::kSelectKeyByHash, {hash}, sql::key_from_row);
}

Result<std::vector<ApiKey>> SqlStore::list_keys(const std::string& tenant_id) {
  return all_rows(sql::kListKeys, {tenant_id}, sql::key_from_row);
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
  YUN_ASSIGN_OR_RETURN(std::vector<UsageRow> rows, all_rows(text, params, sql::usage_row_from_row));
  sql::sort_usage(rows);
  return rows;
}

Result<std::vector<SpendRow>> SqlStore::spend(const std::string& from_day,
                                              const std::string& exclude_instance) {
  YUN_ASSIGN_OR_RETURN(std::vector<SpendRow> rows,
                       all_rows(sql::kSpend, {from_day, exclude_instance}, sql::spend_from_row));
  sql::sort_spend(rows);
  return rows;
}

Result<std::vector<SpendRow>> SqlStore::recent(int64_t since_ms,
                                               const std::string& exclude_instance) {
  YUN_ASSIGN_OR_RETURN(std::vector<SpendRow> rows,
                       all_rows(sql::kRecent, {since_ms, exclude_instance}, sql::spend_from_row));
  sql::sort_spend(rows);
  return rows;
}

Status SqlStore::put_response(const ResponseRow& r) {
  std::lock_guard lock(mu_);
  return transaction([&]() -> Status {
    YUN_RETURN_IF_ERROR(exec(sql::kUpsertResponse, {r.tenant_id, r.id, r.created_ms, r.status,
                                                    r.body, r.input_items, r.context}));
    YUN_RETURN_IF_ERROR(exec(sql::kDeleteResponseItems, {r.tenant_id, r.id}));
    for (const auto& [item_id, item] : r.items) {
      YUN_RETURN_IF_ERROR(exec(sql::kInsertResponseItem, {r.tenant_id, item_id, r.id, item}));
    }
    return Status::ok();
  });
}

Result<std::optional<ResponseRow>> SqlStore::get_response(const std::string& tenant_id,
                                                          const std::string& id) {
  return the_row(sql::kSelectResponse, {tenant_id, id}, sql::response_from_row);
}

Result<bool> SqlStore::delete_response(const std::string& tenant_id, const std::string& id) {
  std::lock_guard lock(mu_);
  int64_t changed = 0;
  YUN_RETURN_IF_ERROR(transaction([&]() -> Status {
    YUN_RETURN_IF_ERROR(exec(sql::kDeleteResponse, {tenant_id, id}, &changed));
    return exec(sql::kDeleteResponseItems, {tenant_id, id});
  }));
  return changed > 0;
}

namespace {
std::string item_text(const sql::Row& r) { return r.text(0); }
}  // namespace

Result<std::optional<std::string>> SqlStore::find_response_item(const std::string& tenant_id,
                                                                const std::string& item_id) {
  return the_row(sql::kSelectResponseItem, {tenant_id, item_id}, item_text);
}

Result<int64_t> SqlStore::purge_responses(int64_t before_ms) {
  std::lock_guard lock(mu_);
  int64_t changed = 0;
  YUN_RETURN_IF_ERROR(transaction([&]() -> Status {
    YUN_RETURN_IF_ERROR(exec(sql::kPurgeResponseItems, {before_ms}));
    return exec(sql::kPurgeResponses, {before_ms}, &changed);
  }));
  return changed;
}

Status SqlStore::append_audit(const AuditEntry& e) {
  std::lock_guard lock(mu_);
  return exec(sql::kInsertAudit, {e.time_ms, e.actor, e.action, e.target, e.detail});
}

Result<std::vector<AuditEntry>> SqlStore::list_audit(int64_t limit) {
  return all_rows(sql::kListAudit, {limit}, sql::audit_from_row);
}

}  // namespace yun::tenancy
