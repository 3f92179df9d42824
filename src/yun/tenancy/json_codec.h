// JSON (and CSV) forms of the tenancy model, for the admin API and
// `yun admin`. Reading is strict: an unknown field, a wrong type or a
// negative limit is kInvalidArgument naming the field, so a typo in a limit
// never silently means "no limit". A key's hash never appears in output.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/tenancy/model.h"

namespace yun::tenancy {

using Json = nlohmann::ordered_json;

Json limits_to_json(const Limits& l);
Json tenant_to_json(const Tenant& t);
// "active", "revoked" or "expired" at now_ms.
const char* key_state(const ApiKey& k, int64_t now_ms);
// id, tenant, scope, name, prefix, times, status (key_state at now_ms; 0: now).
Json key_to_json(const ApiKey& k, int64_t now_ms = 0);
Json usage_row_to_json(const UsageRow& r, const UsageQuery& q);
Json audit_to_json(const AuditEntry& e);
// One header line, then one line per row (RFC 4180 quoting).
std::string usage_rows_to_csv(const std::vector<UsageRow>& rows, const UsageQuery& q);

// Applies the limits present in `v` (an object) to `limits`.
Status limits_from_json(const Json& v, Limits& limits);
// Applies the fields present in `j` to `t` (a create starts from Tenant{};
// an update from the stored tenant). Fields: name, limits {…}, models,
// weight, priority, share_prefix_cache, status ("active" | "suspended").
// A limit given as null is removed.
Status tenant_from_json(const Json& j, Tenant& t);

}  // namespace yun::tenancy
