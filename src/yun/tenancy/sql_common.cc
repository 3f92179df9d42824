// The statements and row codecs both stores share (sql_common.h).
#include "yun/tenancy/sql_common.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <tuple>

#include "yun/tenancy/store.h"

namespace yun::tenancy::sql {
namespace {

// Limits occupy 6 columns: rpm, tpm, max_concurrent, token_budget,
// budget_period, max_tokens.
Param opt(const std::optional<int64_t>& v) { return v ? Param(*v) : Param(nullptr); }

void add_limits(Params& p, const Limits& l) {
  p.push_back(opt(l.requests_per_minute));
  p.push_back(opt(l.tokens_per_minute));
  p.push_back(opt(l.max_concurrent));
  p.push_back(opt(l.token_budget));
  p.push_back(std::string(budget_period_name(l.budget_period)));
  p.push_back(opt(l.max_tokens));
}

std::optional<int64_t> opt_at(const Row& r, int c) {
  if (r.is_null(c)) return std::nullopt;
  return r.i64(c);
}

Limits limits_at(const Row& r, int c) {
  Limits l;
  l.requests_per_minute = opt_at(r, c);
  l.tokens_per_minute = opt_at(r, c + 1);
  l.max_concurrent = opt_at(r, c + 2);
  l.token_budget = opt_at(r, c + 3);
  l.budget_period = parse_budget_period(r.text(c + 4)).value_or(BudgetPeriod::kTotal);
  l.max_tokens = opt_at(r, c + 5);
  return l;
}

std::string models_json(const std::vector<std::string>& models) {
  return nlohmann::json(models).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::string> models_from_json(const std::string& text) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& m : j) {
    if (m.is_string()) out.push_back(m.get<std::string>());
  }
  return out;
}

#define YUN_LIMIT_COLS "rpm, tpm, max_concurrent, token_budget, budget_period, max_tokens"
#define YUN_TENANT_COLS                              \
  "id, name, active, " YUN_LIMIT_COLS                \
  ", models, weight, priority, share_prefix_cache, " \
  "created_ms"
#define YUN_KEY_COLS                                                                       \
  "id, tenant_id, scope, name, hash, prefix, " YUN_LIMIT_COLS ", created_ms, expires_ms, " \
                                                              "revoked_ms"
#define YUN_USAGE_COLS                                                          \
  "request_id, tenant_id, key_id, model, prompt_tokens, cached_prompt_tokens, " \
  "completion_tokens, finish_reason, http_status, start_ms, end_ms, instance"

}  // namespace

std::string for_dialect(std::string_view sql, Dialect d) {
  std::string out(sql);
  if (d == Dialect::kSqlite) {
    for (size_t i = 0; i + 1 < out.size(); ++i) {
      if (out[i] == '$' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '?';
    }
  }
  return out;
}


std::string day_expr(const std::string& col, Dialect d) {
  if (d == Dialect::kSqlite) return "strftime('%Y-%m-%d', " + col + " / 1000, 'unixepoch')";
  return "to_char(to_timestamp(" + col + " / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
}

std::string hour_expr(const std::string& col, Dialect d) {
  if (d == Dialect::kSqlite) return "strftime('%Y-%m-%dT%H', " + col + " / 1000, 'unixepoch')";
  return "to_char(to_timestamp(" + col + " / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24')";
}

std::vector<std::string> spend_subjects(const UsageRecord& r) {
  std::vector<std::string> s;
  if (!r.tenant_id.empty()) s.push_back("t:" + r.tenant_id);
  if (!r.key_id.empty()) s.push_back("k:" + r.key_id);
  return s;
}

const char* const kInsertTenant = "INSERT INTO tenants(" YUN_TENANT_COLS
                                  ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
                                  "$13, $14)";
const char* const kUpdateTenant =
    "UPDATE tenants SET name = $2, active = $3, rpm = $4, tpm = $5, max_concurrent = $6, "
    "token_budget = $7, budget_period = $8, max_tokens = $9, models = $10, weight = $11, "
    "priority = $12, share_prefix_cache = $13, created_ms = $14 WHERE id = $1";
const char* const kSelectTenantById = "SELECT " YUN_TENANT_COLS " FROM tenants WHERE id = $1";
const char* const kSelectTenantByName = "SELECT " YUN_TENANT_COLS " FROM tenants WHERE name = $1";
const char* const kListTenants = "SELECT " YUN_TENANT_COLS " FROM tenants ORDER BY created_ms, id";

Params tenant_params(const Tenant& t) {
  Params p{t.id, t.name, int64_t{t.active ? 1 : 0}};
  add_limits(p, t.limits);
  p.push_back(models_json(t.models));
  p.push_back(t.weight);
  p.push_back(int64_t{t.priority});
  p.push_back(int64_t{t.share_prefix_cache ? 1 : 0});
  p.push_back(t.created_ms);
  return p;
}

Tenant tenant_from_row(const Row& r) {
  Tenant t;
  t.id = r.text(0);
  t.name = r.text(1);
  t.active = r.i64(2) != 0;
  t.limits = limits_at(r, 3);
  t.models = models_from_json(r.text(9));
  t.weight = r.f64(10);
  t.priority = static_cast<int32_t>(r.i64(11));
  t.share_prefix_cache = r.i64(12) != 0;
  t.created_ms = r.i64(13);
  return t;
}

const char* const kInsertKey = "INSERT INTO api_keys(" YUN_KEY_COLS
                               ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                               "$14, $15)";
const char* const kSelectKeyById = "SELECT " YUN_KEY_COLS " FROM api_keys WHERE id = $1";
const char* const kSelectKeyByHash = "SELECT " YUN_KEY_COLS " FROM api_keys WHERE hash = $1";
const char* const kListKeys = "SELECT " YUN_KEY_COLS
                              " FROM api_keys WHERE $1 = '' OR tenant_id = $1 "
                              "ORDER BY created_ms, id";
const char* const kRevokeKey =
    "UPDATE api_keys SET revoked_ms = CASE WHEN revoked_ms = 0 THEN $2 ELSE revoked_ms END "
    "WHERE id = $1";

Params key_params(const ApiKey& k) {
  Params p{k.id, k.tenant_id, std::string(key_scope_name(k.scope)), k.name, k.hash, k.prefix};
  add_limits(p, k.limits);
  p.push_back(k.created_ms);
  p.push_back(k.expires_ms);
  p.push_back(k.revoked_ms);
  return p;
}

ApiKey key_from_row(const Row& r) {
  ApiKey k;
  k.id = r.text(0);
  k.tenant_id = r.text(1);
  k.scope = parse_key_scope(r.text(2)).value_or(KeyScope::kInference);
  k.name = r.text(3);
  k.hash = r.text(4);
  k.prefix = r.text(5);
  k.limits = limits_at(r, 6);
  k.created_ms = r.i64(12);
  k.expires_ms = r.i64(13);
  k.revoked_ms = r.i64(14);
  return k;
}

const char* const kInsertUsage = "INSERT INTO usage(" YUN_USAGE_COLS
                                 ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
                                 "ON CONFLICT(request_id) DO NOTHING";

Params usage_params(const UsageRecord& u) {
  return Params{u.request_id,
                u.tenant_id,
                u.key_id,
                u.model,
                u.prompt_tokens,
                u.cached_prompt_tokens,
                u.completion_tokens,
                u.finish_reason,
                int64_t{u.http_status},
                u.start_ms,
                u.end_ms,
                u.instance};
}

const char* const kAddSpend =
    "INSERT INTO spend_daily(subject, day, instance, requests, tokens) VALUES($1, $2, $3, 1, $4) "
    "ON CONFLICT(subject, day, instance) DO UPDATE SET requests = spend_daily.requests + 1, "
    "tokens = spend_daily.tokens + excluded.tokens";
const char* const kSpend =
    "SELECT subject, SUM(requests), SUM(tokens) FROM spend_daily "
    "WHERE day >= $1 AND ($2 = '' OR instance <> $2) GROUP BY subject";
const char* const kRecent =
    "SELECT subject, COUNT(*), SUM(tokens) FROM ("
    " SELECT 't:' || tenant_id AS subject, prompt_tokens + completion_tokens AS tokens FROM usage"
    "  WHERE end_ms >= $1 AND ($2 = '' OR instance <> $2) AND tenant_id <> ''"
    " UNION ALL"
    " SELECT 'k:' || key_id AS subject, prompt_tokens + completion_tokens AS tokens FROM usage"
    "  WHERE end_ms >= $1 AND ($2 = '' OR instance <> $2) AND key_id <> ''"
    ") s GROUP BY subject";

SpendRow spend_from_row(const Row& r) { return SpendRow{r.text(0), r.i64(1), r.i64(2)}; }

void sort_spend(std::vector<SpendRow>& rows) {
  std::sort(rows.begin(), rows.end(),
            [](const SpendRow& a, const SpendRow& b) { return a.subject < b.subject; });
}

std::string usage_query(const UsageQuery& q, Dialect d, Params* params) {
  std::string period = "''";
  if (q.bucket == UsageQuery::kDay) period = day_expr("end_ms", d);
  if (q.bucket == UsageQuery::kHour) period = hour_expr("end_ms", d);
  std::string key = q.by_key ? "key_id" : "''";
  std::string sql = "SELECT tenant_id, model, " + key + ", " + period +
                    ", COUNT(*), SUM(prompt_tokens), SUM(cached_prompt_tokens), "
                    "SUM(completion_tokens) FROM usage WHERE end_ms >= $1 AND end_ms < $2";
  params->push_back(q.from_ms);
  params->push_back(q.to_ms);
  auto filter = [&](const char* col, const std::optional<std::string>& v) {
    if (!v) return;
    params->push_back(*v);
    sql += std::string(" AND ") + col + " = $" + std::to_string(params->size());
  };
  filter("tenant_id", q.tenant_id);
  filter("key_id", q.key_id);
  filter("model", q.model);
  sql += " GROUP BY 1, 2, 3, 4";
  return for_dialect(sql, d);
}

UsageRow usage_row_from_row(const Row& r) {
  UsageRow u;
  u.tenant_id = r.text(0);
  u.model = r.text(1);
  u.key_id = r.text(2);
  u.period = r.text(3);
  u.requests = r.i64(4);
  u.prompt_tokens = r.i64(5);
  u.cached_prompt_tokens = r.i64(6);
  u.completion_tokens = r.i64(7);
  return u;
}

void sort_usage(std::vector<UsageRow>& rows) {
  auto k = [](const UsageRow& u) { return std::tie(u.tenant_id, u.model, u.key_id, u.period); };
  std::sort(rows.begin(), rows.end(),
            [&](const UsageRow& a, const UsageRow& b) { return k(a) < k(b); });
}

const char* const kInsertAudit =
    "INSERT INTO audit(time_ms, actor, action, target, detail) VALUES($1, $2, $3, $4, $5)";
const char* const kListAudit =
    "SELECT id, time_ms, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT $1";

const char* const kUpsertResponse =
    "INSERT INTO responses(tenant_id, id, created_ms, status, body, input_items, context) "
    "VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT(tenant_id, id) DO UPDATE SET "
    "created_ms = excluded.created_ms, status = excluded.status, body = excluded.body, "
    "input_items = excluded.input_items, context = excluded.context";
const char* const kSelectResponse =
    "SELECT tenant_id, id, created_ms, status, body, input_items, context FROM responses "
    "WHERE tenant_id = $1 AND id = $2";
const char* const kDeleteResponse = "DELETE FROM responses WHERE tenant_id = $1 AND id = $2";
const char* const kDeleteResponseItems =
    "DELETE FROM response_items WHERE tenant_id = $1 AND response_id = $2";
const char* const kInsertResponseItem =
    "INSERT INTO response_items(tenant_id, item_id, response_id, item) VALUES($1, $2, $3, $4) "
    "ON CONFLICT(tenant_id, item_id) DO NOTHING";
const char* const kSelectResponseItem =
    "SELECT item FROM response_items WHERE tenant_id = $1 AND item_id = $2";
const char* const kPurgeResponseItems =
    "DELETE FROM response_items WHERE EXISTS (SELECT 1 FROM responses r WHERE "
    "r.tenant_id = response_items.tenant_id AND r.id = response_items.response_id AND "
    "r.created_ms < $1)";
const char* const kPurgeResponses = "DELETE FROM responses WHERE created_ms < $1";

ResponseRow response_from_row(const Row& r) {
  ResponseRow out;
  out.tenant_id = r.text(0);
  out.id = r.text(1);
  out.created_ms = r.i64(2);
  out.status = r.text(3);
  out.body = r.text(4);
  out.input_items = r.text(5);
  out.context = r.text(6);
  return out;
}

AuditEntry audit_from_row(const Row& r) {
  return AuditEntry{r.i64(0), r.i64(1), r.text(2), r.text(3), r.text(4), r.text(5)};
}

const char* const kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS yun_schema(version INTEGER NOT NULL)";
const char* const kSelectVersion = "SELECT COALESCE(MAX(version), 0) FROM yun_schema";

Status newer_schema_error(int found) {
  return invalid_argument("schema version " + std::to_string(found) + " is newer than this yun (" +
                          std::to_string(Store::kSchemaVersion) + ")");
}

}  // namespace yun::tenancy::sql
