// The migration steps of each dialect (schema.h): one description of the
// tables, in each database's own types.
#include "yun/tenancy/schema.h"

#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "yun/tenancy/store.h"

namespace yun::tenancy {
namespace {

// Each step is written once, in PostgreSQL's type names; SQLite's text is
// the same with its own (for_sqlite).
constexpr std::pair<std::string_view, std::string_view> kSqliteTypes[] = {
    {"BIGINT", "INTEGER"},  // SQLite's INTEGER holds 64 bits
    {"DOUBLE PRECISION", "REAL"},
    {"BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT"},
};

std::string for_sqlite(std::string sql) {
  for (auto [pg, lite] : kSqliteTypes) {
    for (size_t at = sql.find(pg); at != std::string::npos; at = sql.find(pg, at + lite.size())) {
      sql.replace(at, pg.size(), lite);
    }
  }
  return sql;
}

// Version 1.
constexpr const char* kV1 = R"(
CREATE TABLE tenants(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  active INTEGER NOT NULL,
  rpm BIGINT, tpm BIGINT, max_concurrent BIGINT, token_budget BIGINT,
  budget_period TEXT NOT NULL, max_tokens BIGINT,
  models TEXT NOT NULL,
  weight DOUBLE PRECISION NOT NULL,
  priority INTEGER NOT NULL,
  share_prefix_cache INTEGER NOT NULL,
  created_ms BIGINT NOT NULL);
CREATE TABLE api_keys(
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  scope TEXT NOT NULL,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  rpm BIGINT, tpm BIGINT, max_concurrent BIGINT, token_budget BIGINT,
  budget_period TEXT NOT NULL, max_tokens BIGINT,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  revoked_ms BIGINT NOT NULL);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);
CREATE TABLE usage(
  request_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL, key_id TEXT NOT NULL, model TEXT NOT NULL,
  prompt_tokens BIGINT NOT NULL, cached_prompt_tokens BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  finish_reason TEXT NOT NULL, http_status INTEGER NOT NULL,
  start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL,
  instance TEXT NOT NULL);
CREATE INDEX usage_end ON usage(end_ms);
CREATE INDEX usage_tenant_end ON usage(tenant_id, end_ms);
)";

// Version 2: the spend counters, filled from the usage already stored, and
// the audit log.
std::string v2(sql::Dialect d) {
  std::string day = sql::day_expr("end_ms", d);
  std::string s =
      "CREATE TABLE spend_daily(subject TEXT NOT NULL, day TEXT NOT NULL, "
      "instance TEXT NOT NULL, requests BIGINT NOT NULL, tokens BIGINT NOT NULL, "
      "PRIMARY KEY(subject, day, instance));\n";
  for (const char* subject : {"tenant_id", "key_id"}) {
    std::string tag = subject[0] == 't' ? "'t:'" : "'k:'";
    s += "INSERT INTO spend_daily(subject, day, instance, requests, tokens) SELECT " + tag +
         " || " + subject + ", " + day +
         ", instance, COUNT(*), SUM(prompt_tokens + "
         "completion_tokens) FROM usage WHERE " +
         subject + " <> '' GROUP BY 1, 2, 3;\n";
  }
  s += "CREATE TABLE audit(id BIGSERIAL PRIMARY KEY, time_ms BIGINT NOT NULL, actor TEXT NOT NULL, "
       "action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);\n";
  return d == sql::Dialect::kSqlite ? for_sqlite(std::move(s)) : s;
}

// Version 3: stored Responses (serve/response_store.h), keyed by tenant
// first so no statement can reach another tenant's rows; their items by id
// (item_reference).
constexpr const char* kV3 = R"(
CREATE TABLE responses(
  tenant_id TEXT NOT NULL,
  id TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  input_items TEXT NOT NULL,
  context TEXT NOT NULL,
  PRIMARY KEY(tenant_id, id));
CREATE INDEX responses_created ON responses(created_ms);
CREATE TABLE response_items(
  tenant_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  response_id TEXT NOT NULL,
  item TEXT NOT NULL,
  PRIMARY KEY(tenant_id, item_id));
CREATE INDEX response_items_response ON response_items(tenant_id, response_id);
)";

const std::string kSqliteV1 = for_sqlite(kV1);
const std::string kSqliteV2 = v2(sql::Dialect::kSqlite);
const std::string kPostgresV2 = v2(sql::Dialect::kPostgres);

const std::string kSqliteV3 = for_sqlite(kV3);

const std::array<Migration, 3> kSqlite = {
    {{1, kSqliteV1.c_str()}, {2, kSqliteV2.c_str()}, {3, kSqliteV3.c_str()}}};
const std::array<Migration, 3> kPostgres = {{{1, kV1}, {2, kPostgresV2.c_str()}, {3, kV3}}};
static_assert(std::tuple_size_v<decltype(kSqlite)> == Store::kSchemaVersion);
static_assert(std::tuple_size_v<decltype(kPostgres)> == Store::kSchemaVersion);

}  // namespace

std::span<const Migration> migrations(sql::Dialect d) {
  return d == sql::Dialect::kSqlite ? std::span<const Migration>(kSqlite)
                                    : std::span<const Migration>(kPostgres);
}

}  // namespace yun::tenancy
