// The migration steps of each dialect (schema.h). The two lists describe
// the same tables in each database's own types.
#include "yun/tenancy/schema.h"

#include <array>
#include <string>

#include "yun/tenancy/store.h"

namespace yun::tenancy {
namespace {

// Version 1.
constexpr const char* kSqliteV1 = R"(
CREATE TABLE tenants(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  active INTEGER NOT NULL,
  rpm INTEGER, tpm INTEGER, max_concurrent INTEGER, token_budget INTEGER,
  budget_period TEXT NOT NULL, max_tokens INTEGER,
  models TEXT NOT NULL,
  weight REAL NOT NULL,
  priority INTEGER NOT NULL,
  share_prefix_cache INTEGER NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE TABLE api_keys(
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  scope TEXT NOT NULL,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  rpm INTEGER, tpm INTEGER, max_concurrent INTEGER, token_budget INTEGER,
  budget_period TEXT NOT NULL, max_tokens INTEGER,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  revoked_ms INTEGER NOT NULL);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);
CREATE TABLE usage(
  request_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL, key_id TEXT NOT NULL, model TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL, cached_prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  finish_reason TEXT NOT NULL, http_status INTEGER NOT NULL,
  start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
  instance TEXT NOT NULL);
CREATE INDEX usage_end ON usage(end_ms);
CREATE INDEX usage_tenant_end ON usage(tenant_id, end_ms);
)";

constexpr const char* kPostgresV1 = R"(
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
  bool pg = d == sql::Dialect::kPostgres;
  std::string i64 = pg ? "BIGINT" : "INTEGER";
  std::string day = sql::day_expr("end_ms", d);
  std::string s =
      "CREATE TABLE spend_daily(subject TEXT NOT NULL, day TEXT NOT NULL, "
      "instance TEXT NOT NULL, requests " +
      i64 + " NOT NULL, tokens " + i64 + " NOT NULL, PRIMARY KEY(subject, day, instance));\n";
  for (const char* subject : {"tenant_id", "key_id"}) {
    std::string tag = subject[0] == 't' ? "'t:'" : "'k:'";
    s += "INSERT INTO spend_daily(subject, day, instance, requests, tokens) SELECT " + tag +
         " || " + subject + ", " + day +
         ", instance, COUNT(*), SUM(prompt_tokens + "
         "completion_tokens) FROM usage WHERE " +
         subject + " <> '' GROUP BY 1, 2, 3;\n";
  }
  s += pg ? "CREATE TABLE audit(id BIGSERIAL PRIMARY KEY, "
          : "CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, ";
  s += "time_ms " + i64 +
       " NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, "
       "target TEXT NOT NULL, detail TEXT NOT NULL);\n";
  return s;
}

const std::string kSqliteV2 = v2(sql::Dialect::kSqlite);
const std::string kPostgresV2 = v2(sql::Dialect::kPostgres);

const std::array<Migration, 2> kSqlite = {{{1, kSqliteV1}, {2, kSqliteV2.c_str()}}};
const std::array<Migration, 2> kPostgres = {{{1, kPostgresV1}, {2, kPostgresV2.c_str()}}};
static_assert(std::tuple_size_v<decltype(kSqlite)> == Store::kSchemaVersion);
static_assert(std::tuple_size_v<decltype(kPostgres)> == Store::kSchemaVersion);

}  // namespace

std::span<const Migration> migrations(sql::Dialect d) {
  return d == sql::Dialect::kSqlite ? std::span<const Migration>(kSqlite)
                                    : std::span<const Migration>(kPostgres);
}

}  // namespace yun::tenancy
