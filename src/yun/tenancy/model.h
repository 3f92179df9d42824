// The tenancy data model: tenants, their API keys, usage records and the
// audit log, as the stores (store.h) keep them and the admin API shows them.
//
// Ids are opaque strings made by new_id() ("tn_…", "key_…"). A key's secret
// is never stored: only its SHA-256 (hex) and a short visible prefix
// ("yun-sk-abc1"). Times are unix milliseconds (0: unset).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace yun::tenancy {

enum class BudgetPeriod { kTotal, kDay, kMonth };
const char* budget_period_name(BudgetPeriod p);  // "total", "day", "month"
std::optional<BudgetPeriod> parse_budget_period(const std::string& s);

// Every limit is optional (unset: no limit). Tokens count prompt + completion.
struct Limits {
  std::optional<int64_t> requests_per_minute;
  std::optional<int64_t> tokens_per_minute;
  std::optional<int64_t> max_concurrent;
  std::optional<int64_t> token_budget;  // per budget_period
  BudgetPeriod budget_period = BudgetPeriod::kTotal;
  std::optional<int64_t> max_tokens;  // cap on a request's max_tokens
  bool operator==(const Limits&) const = default;
};

struct Tenant {
  std::string id;    // "tn_…"
  std::string name;  // unique among tenants
  bool active = true;  // false: suspended (its keys get 403)
  Limits limits;
  std::vector<std::string> models;  // allowed model names; empty: all
  double weight = 1.0;              // fair-share weight in the engine (> 0)
  int32_t priority = 0;             // higher runs first among waiting tenants
  // Opt in to sharing prefix-cache entries with other tenants (a common
  // system prompt); off by default (a per-tenant cache salt).
  bool share_prefix_cache = false;
  int64_t created_ms = 0;
  bool operator==(const Tenant&) const = default;
};

enum class KeyScope { kInference, kAdmin };
const char* key_scope_name(KeyScope s);  // "inference", "admin"
std::optional<KeyScope> parse_key_scope(const std::string& s);

struct ApiKey {
  std::string id;         // "key_…"
  std::string tenant_id;  // the tenant it bills to
  KeyScope scope = KeyScope::kInference;
  std::string name;       // free text
  std::string hash;       // hex SHA-256 of the full key (keys.h)
  std::string prefix;     // the visible start, e.g. "yun-sk-abc1"
  Limits limits;          // per-key limits (on top of the tenant's)
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // 0: never
  int64_t revoked_ms = 0;  // 0: not revoked
  bool operator==(const ApiKey&) const = default;
};

// One per generation request that reached the engine (n > 1 and several
// prompts included: counts are summed). request_id is unique: a store keeps
// the first record of an id and ignores repeats, so retries are exactly-once.
struct UsageRecord {
  std::string request_id;
  std::string tenant_id, key_id, model;
  int64_t prompt_tokens = 0, cached_prompt_tokens = 0, completion_tokens = 0;
  std::string finish_reason;  // "stop", "length", "tool_calls", "abort", "error"
  int32_t http_status = 200;
  int64_t start_ms = 0, end_ms = 0;
  std::string instance;  // the replica that served it (Store::open's instance id)
  int64_t total_tokens() const { return prompt_tokens + completion_tokens; }
  bool operator==(const UsageRecord&) const = default;
};

struct AuditEntry {
  int64_t id = 0;       // assigned by the store (increasing)
  int64_t time_ms = 0;
  std::string actor;    // the key id that acted ("cli" for `yun admin`)
  std::string action;   // "tenant.create", "key.create", "key.revoke", ...
  std::string target;   // the id acted on
  std::string detail;   // JSON text (never a key secret)
  bool operator==(const AuditEntry&) const = default;
};

// Aggregated usage (the admin API's /usage). Rows are per tenant and model,
// plus per key / per day / per hour when asked.
struct UsageQuery {
  std::optional<std::string> tenant_id, key_id, model;
  int64_t from_ms = 0;                 // end_ms >= from_ms
  int64_t to_ms = INT64_MAX;           // end_ms < to_ms
  bool by_key = false;
  enum Bucket { kNone, kDay, kHour } bucket = kNone;  // UTC
};
struct UsageRow {
  std::string tenant_id, model;
  std::string key_id;  // by_key only
  std::string period;  // kDay: "2026-12-01"; kHour: "2026-12-01T13"; else ""
  int64_t requests = 0, prompt_tokens = 0, cached_prompt_tokens = 0, completion_tokens = 0;
  bool operator==(const UsageRow&) const = default;
};

// Token totals per subject for quota decisions: subject is "t:<tenant id>" or
// "k:<key id>".
struct SpendRow {
  std::string subject;
  int64_t requests = 0;
  int64_t tokens = 0;  // prompt + completion
};

// One stored Response (serve/response_store.h), tenant-scoped: the
// Response object, its request's input items and the items of the
// previous_response_id chain before them (each a JSON text), and every
// input and output item that has an id (for item_reference), as
// (item id, item JSON text).
struct ResponseRow {
  std::string id, tenant_id;
  int64_t created_ms = 0;
  std::string status;  // the Response's: completed, incomplete, failed
  std::string body, input_items, context;
  std::vector<std::pair<std::string, std::string>> items;
  // What the row costs to hold (the text sizes), for in-memory bounds.
  size_t bytes() const;
  bool operator==(const ResponseRow&) const = default;
};

// A new random id with `prefix` ("tn_", "key_"): prefix + 16 hex digits.
std::string new_id(const std::string& prefix);

}  // namespace yun::tenancy
