// SqliteStore (sqlite_store.h).
#include "yun/tenancy/sqlite_store.h"

#include <sqlite3.h>

#include <filesystem>

#include "yun/tenancy/schema.h"

namespace yun::tenancy {
namespace {

using sql::Dialect;

class StmtRow final : public sql::Row {
 public:
  explicit StmtRow(sqlite3_stmt* s) : s_(s) {}
  bool is_null(int c) const override { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  int64_t i64(int c) const override { return sqlite3_column_int64(s_, c); }
  double f64(int c) const override { return sqlite3_column_double(s_, c); }
  std::string text(int c) const override {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string(p, sqlite3_column_bytes(s_, c)) : std::string();
  }

 private:
  sqlite3_stmt* s_;
};

// Resets a cached statement when a call is done with it (so it holds no
// read transaction open).
struct ResetOnExit {
  sqlite3_stmt* s;
  ~ResetOnExit() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       SqliteOptions options) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return unavailable("cannot open " + path + ": " + msg);
  }
  std::unique_ptr<SqliteStore> s(new SqliteStore(db, path));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  YUN_RETURN_IF_ERROR(
      s->exec_script("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  if (options.max_page_count > 0) {
    std::string pragma = "PRAGMA max_page_count=" + std::to_string(options.max_page_count);
    YUN_RETURN_IF_ERROR(s->exec_script(pragma.c_str()));
  }
  YUN_RETURN_IF_ERROR(s->migrate().with_context(path));
  return s;
}

SqliteStore::SqliteStore(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)), instance_(new_id("in_")) {}

SqliteStore::~SqliteStore() {
  for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Status SqliteStore::error(int rc, const std::string& what) {
  std::string msg = what + ": " + sqlite3_errmsg(db_);
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return not_found(msg);
      return invalid_argument(msg);
    case SQLITE_ERROR:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
      return internal_error(msg);
    default:  // busy, locked, full, read-only, IO error, corrupt, cannot open
      return unavailable(msg);
  }
}

Status SqliteStore::exec_script(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::ok();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  Status s = error(rc, "sqlite");
  return Status(s.code(), "sqlite: " + msg);
}

Result<sqlite3_stmt*> SqliteStore::prepare(const std::string& text, const sql::Params& params) {
  auto it = stmts_.find(text);
  if (it == stmts_.end()) {
    std::string native = sql::for_dialect(text, Dialect::kSqlite);
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, native.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) return error(rc, "prepare");
    it = stmts_.emplace(text, s).first;
  }
  sqlite3_stmt* s = it->second;
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i + 1), rc = SQLITE_OK;
    const sql::Param& p = params[i];
    if (auto* v = std::get_if<int64_t>(&p))
      rc = sqlite3_bind_int64(s, idx, *v);
    else if (auto* d = std::get_if<double>(&p))
      rc = sqlite3_bind_double(s, idx, *d);
    else if (auto* t = std::get_if<std::string>(&p))
      rc = sqlite3_bind_text(s, idx, t->data(), static_cast<int>(t->size()), SQLITE_STATIC);
    else
      rc = sqlite3_bind_null(s, idx);
    if (rc != SQLITE_OK) return error(rc, "bind");
  }
  return s;
}

Status SqliteStore::exec(const std::string& text, const sql::Params& params, int* changes) {
  YUN_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare(text, params));
  ResetOnExit reset{s};
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) return error(rc, "sqlite");
  if (changes) *changes = sqlite3_changes(db_);
  return Status::ok();
}

template <typename F>
Status SqliteStore::query(const std::string& text, const sql::Params& params, F&& row) {
  YUN_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare(text, params));
  ResetOnExit reset{s};
  StmtRow r(s);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) row(r);
  if (rc != SQLITE_DONE) return error(rc, "sqlite");
  return Status::ok();
}

Status SqliteStore::migrate() {
  YUN_RETURN_IF_ERROR(exec_script("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    YUN_RETURN_IF_ERROR(exec_script(sql::kCreateVersionTable));
    int found = 0;
    YUN_RETURN_IF_ERROR(query(sql::kSelectVersion, {},
                              [&](const sql::Row& r) { found = static_cast<int>(r.i64(0)); }));
    if (found > kSchemaVersion) return sql::newer_schema_error(found);
    for (const Migration& m : migrations(Dialect::kSqlite)) {
      if (m.version <= found) continue;
      YUN_RETURN_IF_ERROR(
          exec_script(m.sql).with_context("migration to version " + std::to_string(m.version)));
    }
    if (found < kSchemaVersion) {
      YUN_RETURN_IF_ERROR(exec_script("DELETE FROM yun_schema"));
      YUN_RETURN_IF_ERROR(
          exec("INSERT INTO yun_schema(version) VALUES($1)", {int64_t{kSchemaVersion}}));
    }
    return Status::ok();
  };
  Status s = body();
  if (!s.is_ok()) {
    if (!sqlite3_get_autocommit(db_)) (void)exec_script("ROLLBACK");
    return s;
  }
  YUN_RETURN_IF_ERROR(exec_script("COMMIT"));
  version_ = kSchemaVersion;
  return Status::ok();
}

int SqliteStore::schema_version() {
  std::lock_guard lock(mu_);
  int v = version_;
  (void)query(sql::kSelectVersion, {}, [&](const sql::Row& r) { v = static_cast<int>(r.i64(0)); });
  return v;
}

Status SqliteStore::ping() {
  std::lock_guard lock(mu_);
  return query("SELECT 1", {}, [](const sql::Row&) {});
}

Status SqliteStore::create_tenant(const Tenant& t) {
  std::lock_guard lock(mu_);
  Status s = exec(sql::kInsertTenant, sql::tenant_params(t));
  if (s.code() == StatusCode::kInvalidArgument) {
    return invalid_argument("tenant name '" + t.name + "' is taken");
  }
  return s;
}

Status SqliteStore::update_tenant(const Tenant& t) {
  std::lock_guard lock(mu_);
  int changes = 0;
  Status s = exec(sql::kUpdateTenant, sql::tenant_params(t), &changes);
  if (s.code() == StatusCode::kInvalidArgument) {
    return invalid_argument("tenant name '" + t.name + "' is taken");
  }
  YUN_RETURN_IF_ERROR(s);
  if (changes == 0) return not_found("no tenant " + t.id);
  return Status::ok();
}

Result<std::optional<Tenant>> SqliteStore::get_tenant(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<Tenant> out;
  YUN_RETURN_IF_ERROR(query(sql::kSelectTenantById, {id},
                            [&](const sql::Row& r) { out = sql::tenant_from_row(r); }));
  return out;
}

Result<std::optional<Tenant>> SqliteStore::find_tenant_by_name(const std::string& name) {
  std::lock_guard lock(mu_);
  std::optional<Tenant> out;
  YUN_RETURN_IF_ERROR(query(sql::kSelectTenantByName, {name},
                            [&](const sql::Row& r) { out = sql::tenant_from_row(r); }));
  return out;
}

Result<std::vector<Tenant>> SqliteStore::list_tenants() {
  std::lock_guard lock(mu_);
  std::vector<Tenant> out;
  YUN_RETURN_IF_ERROR(query(sql::kListTenants, {},
                            [&](const sql::Row& r) { out.push_back(sql::tenant_from_row(r)); }));
  return out;
}

Status SqliteStore::create_key(const ApiKey& k) {
  std::lock_guard lock(mu_);
  Status s = exec(sql::kInsertKey, sql::key_params(k));
  if (s.code() == StatusCode::kNotFound) return not_found("no tenant " + k.tenant_id);
  if (s.code() == StatusCode::kInvalidArgument) {
    return invalid_argument("key " + k.id + " (or its hash) already exists");
  }
  return s;
}

Result<std::optional<ApiKey>> SqliteStore::get_key(const std::string& id) {
  std::lock_guard lock(mu_);
  std::optional<ApiKey> out;
  YUN_RETURN_IF_ERROR(
      query(sql::kSelectKeyById, {id}, [&](const sql::Row& r) { out = sql::key_from_row(r); }));
  return out;
}

Result<std::optional<ApiKey>> SqliteStore::find_key_by_hash(const std::string& hash) {
  std::lock_guard lock(mu_);
  std::optional<ApiKey> out;
  YUN_RETURN_IF_ERROR(
      query(sql::kSelectKeyByHash, {hash}, [&](const sql::Row& r) { out = sql::key_from_row(r); }));
  return out;
}

Result<std::vector<ApiKey>> SqliteStore::list_keys(const std::string& tenant_id) {
  std::lock_guard lock(mu_);
  std::vector<ApiKey> out;
  YUN_RETURN_IF_ERROR(query(sql::kListKeys, {tenant_id},
                            [&](const sql::Row& r) { out.push_back(sql::key_from_row(r)); }));
  return out;
}

Status SqliteStore::revoke_key(const std::string& id, int64_t when_ms) {
  std::lock_guard lock(mu_);
  int changes = 0;
  YUN_RETURN_IF_ERROR(exec(sql::kRevokeKey, {id, when_ms}, &changes));
  if (changes == 0) return not_found("no key " + id);
  return Status::ok();
}

Status SqliteStore::append_usage(std::span<const UsageRecord> records) {
  if (records.empty()) return Status::ok();
  std::lock_guard lock(mu_);
  YUN_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE", {}));
  auto body = [&]() -> Status {
    for (const UsageRecord& u : records) {
      int inserted = 0;
      YUN_RETURN_IF_ERROR(exec(sql::kInsertUsage, sql::usage_params(u), &inserted));
      if (inserted == 0) continue;  // a repeat: already counted
      std::string day = sql::utc_day(u.end_ms);
      for (const std::string& subject : sql::spend_subjects(u)) {
        YUN_RETURN_IF_ERROR(exec(sql::kAddSpend, {subject, day, u.instance, u.total_tokens()}));
      }
    }
    return exec("COMMIT", {});
  };
  Status s = body();
  if (!s.is_ok() && !sqlite3_get_autocommit(db_)) (void)exec("ROLLBACK", {});
  return s;
}

Result<std::vector<UsageRow>> SqliteStore::query_usage(const UsageQuery& q) {
  sql::Params params;
  std::string text = sql::usage_query(q, Dialect::kSqlite, &params);
  std::lock_guard lock(mu_);
  std::vector<UsageRow> out;
  YUN_RETURN_IF_ERROR(
      query(text, params, [&](const sql::Row& r) { out.push_back(sql::usage_row_from_row(r)); }));
  sql::sort_usage(out);
  return out;
}

Result<std::vector<SpendRow>> SqliteStore::spend(const std::string& from_day,
                                                 const std::string& exclude_instance) {
  std::lock_guard lock(mu_);
  std::vector<SpendRow> out;
  YUN_RETURN_IF_ERROR(query(sql::kSpend, {from_day, exclude_instance},
                            [&](const sql::Row& r) { out.push_back(sql::spend_from_row(r)); }));
  sql::sort_spend(out);
  return out;
}

Result<std::vector<SpendRow>> SqliteStore::recent(int64_t since_ms,
                                                  const std::string& exclude_instance) {
  std::lock_guard lock(mu_);
  std::vector<SpendRow> out;
  YUN_RETURN_IF_ERROR(query(sql::kRecent, {since_ms, exclude_instance},
                            [&](const sql::Row& r) { out.push_back(sql::spend_from_row(r)); }));
  sql::sort_spend(out);
  return out;
}

Status SqliteStore::append_audit(const AuditEntry& e) {
  std::lock_guard lock(mu_);
  return exec(sql::kInsertAudit, {e.time_ms, e.actor, e.action, e.target, e.detail});
}

Result<std::vector<AuditEntry>> SqliteStore::list_audit(int64_t limit) {
  std::lock_guard lock(mu_);
  std::vector<AuditEntry> out;
  YUN_RETURN_IF_ERROR(query(sql::kListAudit, {limit},
                            [&](const sql::Row& r) { out.push_back(sql::audit_from_row(r)); }));
  return out;
}

}  // namespace yun::tenancy
