// PostgresStore (postgres_store.h).
#include "yun/tenancy/postgres_store.h"

#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <unordered_set>

namespace yun::tenancy {
namespace {

using sql::Dialect;

struct ClearResult {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ClearResult>;

class PgRow final : public sql::Row {
 public:
  PgRow(const PGresult* r, int row) : r_(r), row_(row) {}
  bool is_null(int c) const override { return PQgetisnull(r_, row_, c) != 0; }
  int64_t i64(int c) const override {
    const char* v = PQgetvalue(r_, row_, c);
    return v ? std::strtoll(v, nullptr, 10) : 0;
  }
  double f64(int c) const override {
    const char* v = PQgetvalue(r_, row_, c);
    return v ? std::strtod(v, nullptr) : 0;
  }
  std::string text(int c) const override {
    return std::string(PQgetvalue(r_, row_, c), PQgetlength(r_, row_, c));
  }

 private:
  const PGresult* r_;
  int row_;
};

// libpq's messages end in a newline and may span lines: one line of it.
std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return s;
}

// The Status of a failed statement: constraint violations are the caller's
// fault; everything else (lost server, lock timeout, disk full, shutdown)
// is kUnavailable, except a statement the server cannot parse (a bug).
Status pg_error(pg_conn* conn, const PGresult* r, const std::string& what) {
  const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string msg = primary ? trim(primary) : "";
  if (msg.empty()) msg = trim(PQerrorMessage(conn));
  msg = what + ": " + msg;
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string code = state ? state : "";
  if (code == "23503") return not_found(msg);
  if (code.starts_with("23")) return invalid_argument(msg);
  if (code.starts_with("42")) return internal_error(msg);
  return unavailable(msg);
}

void ignore_notice(void*, const char*) {}

// Text-format parameters for PQexecParams.
struct TextParams {
  std::vector<std::string> storage;
  std::vector<const char*> values;
  explicit TextParams(const sql::Params& params) : storage(params.size()), values(params.size()) {
    for (size_t i = 0; i < params.size(); ++i) {
      const sql::Param& p = params[i];
      if (std::holds_alternative<std::nullptr_t>(p)) {
        values[i] = nullptr;
        continue;
      }
      if (auto* v = std::get_if<int64_t>(&p)) storage[i] = std::to_string(*v);
      if (auto* d = std::get_if<double>(&p)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", *d);
        storage[i] = buf;
      }
      if (auto* t = std::get_if<std::string>(&p)) storage[i] = *t;
      values[i] = storage[i].c_str();
    }
  }
};

// A batch of usage records as one JSON parameter (json_to_recordset), so a
// whole batch is one statement and one round trip. PostgreSQL text cannot
// hold NUL; invalid UTF-8 is replaced rather than refused, so no record can
// block the ledger.
std::string usage_json(std::span<const UsageRecord> records) {
  nlohmann::json arr = nlohmann::json::array();
  std::unordered_set<std::string> seen;
  auto clean = [](std::string s) {
    std::erase(s, '\0');
    return s;
  };
  for (const UsageRecord& u : records) {
    if (!seen.insert(u.request_id).second) continue;  // the first record of an id wins
    arr.push_back({{"request_id", clean(u.request_id)},
                   {"tenant_id", clean(u.tenant_id)},
                   {"key_id", clean(u.key_id)},
                   {"model", clean(u.model)},
                   {"prompt_tokens", u.prompt_tokens},
                   {"cached_prompt_tokens", u.cached_prompt_tokens},
                   {"completion_tokens", u.completion_tokens},
                   {"finish_reason", clean(u.finish_reason)},
                   {"http_status", u.http_status},
                   {"start_ms", u.start_ms},
                   {"end_ms", u.end_ms},
                   {"instance", clean(u.instance)}});
  }
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

#define YUN_PG_USAGE_COLS                                                       \
  "request_id, tenant_id, key_id, model, prompt_tokens, cached_prompt_tokens, " \
  "completion_tokens, finish_reason, http_status, start_ms, end_ms, instance"

std::string append_usage_sql() {
  return "WITH ins AS ("
         " INSERT INTO usage(" YUN_PG_USAGE_COLS
         ")"
         " SELECT " YUN_PG_USAGE_COLS
         " FROM json_to_recordset($1::json) AS r("
         "  request_id text, tenant_id text, key_id text, model text, prompt_tokens bigint,"
         "  cached_prompt_tokens bigint, completion_tokens bigint, finish_reason text,"
         "  http_status integer, start_ms bigint, end_ms bigint, instance text)"
         " ON CONFLICT (request_id) DO NOTHING"
         " RETURNING tenant_id, key_id, instance, end_ms, prompt_tokens + completion_tokens AS "
         "tokens"
         "), sub AS ("
         " SELECT 't:' || tenant_id AS subject, end_ms, instance, tokens FROM ins WHERE tenant_id "
         "<> ''"
         " UNION ALL"
         " SELECT 'k:' || key_id AS subject, end_ms, instance, tokens FROM ins WHERE key_id <> ''"
         ") INSERT INTO spend_daily(subject, day, instance, requests, tokens)"
         " SELECT subject, " +
         sql::day_expr("end_ms", Dialect::kPostgres) +
         ", instance, COUNT(*), SUM(tokens) FROM sub GROUP BY 1, 2, 3"
         " ON CONFLICT (subject, day, instance) DO UPDATE SET"
         " requests = spend_daily.requests + EXCLUDED.requests,"
         " tokens = spend_daily.tokens + EXCLUDED.tokens";
}

}  // namespace

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& url,
                                                           PostgresOptions options) {
  // Defaults first: the URL (expanded from dbname) overrides them.
  std::string timeout = std::to_string(options.connect_timeout_s);
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), "yun", url.c_str(), nullptr};
  pg_conn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!conn) return unavailable("postgres: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = trim(PQerrorMessage(conn));
    PQfinish(conn);
    // libpq's messages name host and port, never the password.
    return unavailable("cannot connect to PostgreSQL: " + msg);
  }
  std::unique_ptr<PostgresStore> s(new PostgresStore(conn, options));
  std::lock_guard lock(s->mu_);
  YUN_RETURN_IF_ERROR(s->setup_session());
  YUN_RETURN_IF_ERROR(s->migrate());
  return s;
}

PostgresStore::PostgresStore(pg_conn* conn, PostgresOptions options)
    : SqlStore(Dialect::kPostgres), conn_(conn), options_(options) {
  PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
  const char* host = PQhost(conn_);
  const char* port = PQport(conn_);
  describe_ = std::string("postgres://") + PQuser(conn_) + "@" + (host ? host : "") + ":" +
              (port ? port : "") + "/" + PQdb(conn_);
}

PostgresStore::~PostgresStore() { PQfinish(conn_); }

Status PostgresStore::setup_session() {
  std::string lock_timeout = std::to_string(options_.lock_timeout.count()) + "ms";
  const char* v[] = {lock_timeout.c_str()};
  ResultPtr r(PQexecParams(conn_, "SELECT set_config('lock_timeout', $1, false)", 1, nullptr, v,
                           nullptr, nullptr, 0));
  if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) return pg_error(conn_, r.get(), "postgres");
  return Status::ok();
}

template <typename F>
Status PostgresStore::run(const std::string& text, const sql::Params& params, F&& rows,
                          int64_t* affected) {
  TextParams tp(params);
  for (int attempt = in_transaction_ ? 1 : 0;; ++attempt) {
    if (!in_transaction_ && PQstatus(conn_) == CONNECTION_BAD) {
      PQreset(conn_);
      if (PQstatus(conn_) != CONNECTION_OK) return pg_error(conn_, nullptr, "postgres: reconnect");
      YUN_RETURN_IF_ERROR(setup_session());
    }
    ResultPtr r(PQexecParams(conn_, text.c_str(), static_cast<int>(tp.values.size()), nullptr,
                             tp.values.data(), nullptr, nullptr, 0));
    ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
      for (int i = 0, n = PQntuples(r.get()); i < n; ++i) rows(PgRow(r.get(), i));
      if (affected) *affected = std::strtoll(PQcmdTuples(r.get()), nullptr, 10);
      return Status::ok();
    }
    // The connection broke under the statement: once more on a new one.
    if (PQstatus(conn_) == CONNECTION_BAD && attempt == 0) continue;
    return pg_error(conn_, r.get(), "postgres");
  }
}

Status PostgresStore::exec(const std::string& text, const sql::Params& params, int64_t* affected) {
  return run(
      text, params, [](const sql::Row&) {}, affected);
}

Status PostgresStore::query(const std::string& text, const sql::Params& params, const RowFn& row) {
  return run(text, params, row);
}

Status PostgresStore::exec_script(const std::string& text) {
  ResultPtr r(PQexec(conn_, text.c_str()));
  ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::ok();
  return pg_error(conn_, r.get(), "postgres");
}

Status PostgresStore::transaction(const std::function<Status()>& body) {
  YUN_RETURN_IF_ERROR(exec_script("BEGIN"));
  in_transaction_ = true;
  Status s = body();
  if (s.is_ok()) s = exec_script("COMMIT");
  in_transaction_ = false;
  if (!s.is_ok() && PQtransactionStatus(conn_) != PQTRANS_IDLE) (void)exec_script("ROLLBACK");
  return s;
}

Status PostgresStore::before_migration() {
  return exec_script(
      "SELECT pg_advisory_xact_lock(hashtextextended('yun.tenancy.migrate.' || "
      "COALESCE(current_schema(), ''), 0))");
}

int PostgresStore::backend_pid() {
  std::lock_guard lock(mu_);
  return PQbackendPID(conn_);
}

Status PostgresStore::append_usage(std::span<const UsageRecord> records) {
  if (records.empty()) return Status::ok();
  static const std::string kSql = append_usage_sql();
  std::string batch = usage_json(records);
  std::lock_guard lock(mu_);
  return exec(kSql, {std::move(batch)});
}

}  // namespace yun::tenancy
