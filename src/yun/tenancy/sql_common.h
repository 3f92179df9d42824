// What the SQLite and PostgreSQL stores share: the statements (written once,
// with $1..$n placeholders; for_dialect() turns them into SQLite's ?1..?n),
// the column order of each table, how a row becomes a Tenant / ApiKey /
// AuditEntry and a value becomes statement parameters, the query_usage()
// builder. (The UTC day a record counts in is utc_time.h's.)
//
// Values only ever travel as parameters: the few statements built at run
// time (query_usage) vary in their shape (grouping, which filters), never by
// splicing a value into the text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "yun/base/status.h"
#include "yun/tenancy/model.h"

namespace yun::tenancy::sql {

enum class Dialect { kSqlite, kPostgres };

using Param = std::variant<std::nullptr_t, int64_t, double, std::string>;
using Params = std::vector<Param>;

// One result row, as each backend reads it.
class Row {
 public:
  virtual ~Row() = default;
  virtual bool is_null(int col) const = 0;
  virtual int64_t i64(int col) const = 0;
  virtual double f64(int col) const = 0;
  virtual std::string text(int col) const = 0;
};

// "$1" -> "?1" for SQLite (digits after '$'); PostgreSQL's text unchanged.
std::string for_dialect(std::string_view sql, Dialect d);

// SQL for the same of an integer ms column (the backfill and query_usage).
std::string day_expr(const std::string& col, Dialect d);
std::string hour_expr(const std::string& col, Dialect d);

// The spend-counter subjects of a record ("t:<tenant>", "k:<key>"); an empty
// id has none.
std::vector<std::string> spend_subjects(const UsageRecord& r);

// Tenants: 14 columns.
extern const char* const kInsertTenant;
extern const char* const kUpdateTenant;  // $1 id, then the other columns
extern const char* const kSelectTenantById;
extern const char* const kSelectTenantByName;
extern const char* const kListTenants;
Params tenant_params(const Tenant& t);
Tenant tenant_from_row(const Row& r);

// Keys: 15 columns.
extern const char* const kInsertKey;
extern const char* const kSelectKeyById;
extern const char* const kSelectKeyByHash;
extern const char* const kListKeys;   // $1 tenant id or ''
extern const char* const kRevokeKey;  // $1 id, $2 when_ms (a revoked key keeps its first time)
Params key_params(const ApiKey& k);
ApiKey key_from_row(const Row& r);

// Usage, one record (SQLite's path; PostgreSQL inserts a batch at once).
extern const char* const kInsertUsage;
Params usage_params(const UsageRecord& u);
extern const char* const kAddSpend;  // $1 subject, $2 day, $3 instance, $4 tokens
extern const char* const kSpend;     // $1 from_day, $2 exclude_instance
extern const char* const kRecent;    // $1 since_ms, $2 exclude_instance
SpendRow spend_from_row(const Row& r);
void sort_spend(std::vector<SpendRow>& rows);

// query_usage: the statement for `q` (its parameters appended to *params),
// and its rows (columns: tenant, model, key, period, requests, prompt,
// cached, completion).
std::string usage_query(const UsageQuery& q, Dialect d, Params* params);
UsageRow usage_row_from_row(const Row& r);
void sort_usage(std::vector<UsageRow>& rows);

// Audit.
extern const char* const kInsertAudit;  // $1 time, $2 actor, $3 action, $4 target, $5 detail
extern const char* const kListAudit;    // $1 limit
AuditEntry audit_from_row(const Row& r);

// Stored Responses (tenant-scoped: every statement takes the tenant first).
extern const char* const
    kUpsertResponse;  // $1 tenant, $2 id, $3 created, $4 status, $5 body, $6 input, $7 context
extern const char* const kSelectResponse;       // $1 tenant, $2 id
extern const char* const kDeleteResponse;       // $1 tenant, $2 id
extern const char* const kDeleteResponseItems;  // $1 tenant, $2 response id
extern const char* const kInsertResponseItem;   // $1 tenant, $2 item id, $3 response id, $4 item
extern const char* const kSelectResponseItem;   // $1 tenant, $2 item id
extern const char* const kPurgeResponseItems;   // $1 before_ms
extern const char* const kPurgeResponses;       // $1 before_ms
ResponseRow response_from_row(const Row& r);    // kSelectResponse's columns

// The schema's version table (both dialects).
extern const char* const kCreateVersionTable;
extern const char* const kSelectVersion;
// "schema version N is newer than this yun (M)".
Status newer_schema_error(int found);

}  // namespace yun::tenancy::sql
