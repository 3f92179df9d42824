// The JSON shapes of the tenancy model, one place for `yun admin` and the
// admin API: tenants, keys (never a secret or hash), usage rows and audit
// entries. Unset limits are null; times are unix milliseconds.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "yun/tenancy/model.h"

namespace yun::tenancy {

nlohmann::ordered_json limits_json(const Limits& l);
nlohmann::ordered_json tenant_json(const Tenant& t);
// "active", "revoked" or "expired" at `now_ms`.
const char* key_state(const ApiKey& k, int64_t now_ms);
nlohmann::ordered_json key_json(const ApiKey& k, int64_t now_ms);
nlohmann::ordered_json usage_row_json(const UsageRow& r);
nlohmann::ordered_json audit_json(const AuditEntry& e);

}  // namespace yun::tenancy
