// The query strings of the admin API: a target's parameters, and the usage
// report's filters (GET /admin/v1/usage, GET /v1/usage). Strict: an unknown
// parameter or a malformed value is a 400 naming it.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "yun/serve/api_error.h"
#include "yun/tenancy/model.h"

namespace yun::serve {

// Parameters of a target ("/x?a=1&b=%20"): '+' and %XX decoded, a malformed
// escape kept as is; a repeated name keeps the last value.
std::map<std::string, std::string> query_params(const std::string& target);

// A UTC day "YYYY-MM-DD" or unix seconds -> unix ms; nullopt when neither.
std::optional<int64_t> parse_time(const std::string& s);

// tenant, key, model, from, to (parse_time), group_by (day, hour, key,
// comma-separated), format (json | csv).
std::optional<ApiError> usage_query(const std::map<std::string, std::string>& p,
                                    tenancy::UsageQuery& q, bool& csv);

}  // namespace yun::serve
