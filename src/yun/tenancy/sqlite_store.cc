// SqliteStore (sqlite_store.h).
#include "yun/tenancy/sqlite_store.h"

#include "yun/tenancy/utc_time.h"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

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
  // Several processes opening one new file at once: switching it to WAL and
  // migrating can meet SQLITE_BUSY without the busy handler being asked
  // (SQLite returns it at once where waiting could deadlock), so the whole
  // set-up is retried, with jitter, for up to busy_timeout.
  auto deadline = std::chrono::steady_clock::now() + options.busy_timeout;
  std::minstd_rand jitter(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(db)));
  while (true) {
    Status st =
        s->exec_script("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    if (st.is_ok() && options.max_page_count > 0) {
      st = s->exec_script("PRAGMA max_page_count=" + std::to_string(options.max_page_count));
    }
    if (st.is_ok()) st = s->migrate().with_context(path);
    if (st.is_ok()) break;
    bool busy = st.message().find("locked") != std::string::npos ||
                st.message().find("busy") != std::string::npos;
    if (!busy || std::chrono::steady_clock::now() >= deadline) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + jitter() % 20));
  }
  s->known_version_ = kSchemaVersion;
  return s;
}

SqliteStore::SqliteStore(sqlite3* db, std::string path)
    : SqlStore(sql::Dialect::kSqlite), db_(db), path_(std::move(path)) {}

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

Status SqliteStore::exec_script(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
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

Status SqliteStore::exec(const std::string& text, const sql::Params& params, int64_t* changed) {
  YUN_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare(text, params));
  ResetOnExit reset{s};
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) return error(rc, "sqlite");
  if (changed) *changed = sqlite3_changes(db_);
  return Status::ok();
}

Status SqliteStore::query(const std::string& text, const sql::Params& params, const RowFn& row) {
  YUN_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare(text, params));
  ResetOnExit reset{s};
  StmtRow r(s);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) row(r);
  if (rc != SQLITE_DONE) return error(rc, "sqlite");
  return Status::ok();
}

Status SqliteStore::transaction(const std::function<Status()>& body) {
  YUN_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE", {}));
  Status s = body();
  if (s.is_ok()) s = exec("COMMIT", {});
  if (!s.is_ok() && !sqlite3_get_autocommit(db_)) (void)exec("ROLLBACK", {});
  return s;
}

Status SqliteStore::append_usage(std::span<const UsageRecord> records) {
  if (records.empty()) return Status::ok();
  std::lock_guard lock(mu_);
  return transaction([&]() -> Status {
    for (const UsageRecord& u : records) {
      int64_t inserted = 0;
      YUN_RETURN_IF_ERROR(exec(sql::kInsertUsage, sql::usage_params(u), &inserted));
      if (inserted == 0) continue;  // a repeat: already counted
      std::string day = utc_day(u.end_ms);
      for (const std::string& subject : sql::spend_subjects(u)) {
        YUN_RETURN_IF_ERROR(exec(sql::kAddSpend, {subject, day, u.instance, u.total_tokens()}));
      }
    }
    return Status::ok();
  });
}

}  // namespace yun::tenancy
