#include "yun/tenancy/json_codec.h"

#include "yun/tenancy/utc_time.h"

#include <cmath>

namespace yun::tenancy {
namespace {

void put_opt(Json& j, const char* k, const std::optional<int64_t>& v) {
  j[k] = v ? Json(*v) : Json(nullptr);
}

Status read_limit(const Json& v, const std::string& field, std::optional<int64_t>& out) {
  if (v.is_null()) {
    out.reset();
    return Status();
  }
  if (!v.is_number_integer() && !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>())) {
    return invalid_argument(field + " must be an integer or null");
  }
  double d = v.get<double>();
  if (d < 0) return invalid_argument(field + " must be >= 0");
  if (d > 9.0e18) return invalid_argument(field + " is too large");
  out = v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(d);
  return Status();
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

}  // namespace

Json limits_to_json(const Limits& l) {
  Json j = Json::object();
  put_opt(j, "requests_per_minute", l.requests_per_minute);
  put_opt(j, "tokens_per_minute", l.tokens_per_minute);
  put_opt(j, "max_concurrent", l.max_concurrent);
  put_opt(j, "token_budget", l.token_budget);
  j["budget_period"] = budget_period_name(l.budget_period);
  put_opt(j, "max_tokens", l.max_tokens);
  return j;
}

Json tenant_to_json(const Tenant& t) {
  Json j;
  j["id"] = t.id;
  j["object"] = "tenant";
  j["name"] = t.name;
  j["status"] = t.active ? "active" : "suspended";
  j["limits"] = limits_to_json(t.limits);
  j["models"] = t.models;
  j["weight"] = t.weight;
  j["priority"] = t.priority;
  j["share_prefix_cache"] = t.share_prefix_cache;
  j["created_at"] = t.created_ms / 1000;
  return j;
}

const char* key_state(const ApiKey& k, int64_t now_ms) {
  if (k.revoked_ms != 0) return "revoked";
  if (k.expires_ms != 0 && k.expires_ms <= now_ms) return "expired";
  return "active";
}

Json key_to_json(const ApiKey& k, int64_t now_ms) {
  if (now_ms == 0) now_ms = unix_ms_now();
  Json j;
  j["id"] = k.id;
  j["object"] = "api_key";
  j["tenant"] = k.tenant_id;
  j["scope"] = key_scope_name(k.scope);
  j["name"] = k.name;
  j["prefix"] = k.prefix;
  j["created_at"] = k.created_ms / 1000;
  j["expires_at"] = k.expires_ms ? Json(k.expires_ms / 1000) : Json(nullptr);
  j["revoked_at"] = k.revoked_ms ? Json(k.revoked_ms / 1000) : Json(nullptr);
  j["limits"] = limits_to_json(k.limits);
  j["status"] = key_state(k, now_ms);
  return j;
}

Json usage_row_to_json(const UsageRow& r, const UsageQuery& q) {
  Json j;
  j["tenant"] = r.tenant_id;
  if (q.by_key) j["key"] = r.key_id;
  j["model"] = r.model;
  if (q.bucket == UsageQuery::kDay) j["date"] = r.period;
  if (q.bucket == UsageQuery::kHour) j["hour"] = r.period;
  j["requests"] = r.requests;
  j["prompt_tokens"] = r.prompt_tokens;
  j["cached_prompt_tokens"] = r.cached_prompt_tokens;
  j["completion_tokens"] = r.completion_tokens;
  j["total_tokens"] = r.prompt_tokens + r.completion_tokens;
  return j;
}

std::string usage_rows_to_csv(const std::vector<UsageRow>& rows, const UsageQuery& q) {
  std::string out = "tenant,";
  if (q.by_key) out += "key,";
  out += "model,";
  if (q.bucket == UsageQuery::kDay) out += "date,";
  if (q.bucket == UsageQuery::kHour) out += "hour,";
  out += "requests,prompt_tokens,cached_prompt_tokens,completion_tokens,total_tokens\r\n";
  for (auto& r : rows) {
    out += csv_field(r.tenant_id) + ",";
    if (q.by_key) out += csv_field(r.key_id) + ",";
    out += csv_field(r.model) + ",";
    if (q.bucket != UsageQuery::kNone) out += csv_field(r.period) + ",";
    out += std::to_string(r.requests) + "," + std::to_string(r.prompt_tokens) + "," +
           std::to_string(r.cached_prompt_tokens) + "," + std::to_string(r.completion_tokens) +
           "," + std::to_string(r.prompt_tokens + r.completion_tokens) + "\r\n";
  }
  return out;
}

Json audit_to_json(const AuditEntry& e) {
  Json j;
  j["id"] = e.id;
  j["time"] = e.time_ms / 1000;
  j["actor"] = e.actor;
  j["action"] = e.action;
  j["target"] = e.target;
  Json detail = Json::parse(e.detail, nullptr, false);
  j["detail"] = detail.is_discarded() ? Json(e.detail) : detail;
  return j;
}

Status limits_from_json(const Json& v, Limits& limits) {
  if (!v.is_object()) return invalid_argument("limits must be an object");
  for (auto l = v.begin(); l != v.end(); ++l) {
    const std::string& lk = l.key();
    std::string field = "limits." + lk;
    Status s;
    if (lk == "requests_per_minute") {
      s = read_limit(l.value(), field, limits.requests_per_minute);
    } else if (lk == "tokens_per_minute") {
      s = read_limit(l.value(), field, limits.tokens_per_minute);
    } else if (lk == "max_concurrent") {
      s = read_limit(l.value(), field, limits.max_concurrent);
    } else if (lk == "token_budget") {
      s = read_limit(l.value(), field, limits.token_budget);
    } else if (lk == "max_tokens") {
      s = read_limit(l.value(), field, limits.max_tokens);
      if (s.is_ok() && limits.max_tokens && *limits.max_tokens < 1) {
        s = invalid_argument(field + " must be >= 1");
      }
    } else if (lk == "budget_period") {
      auto p = l.value().is_string() ? parse_budget_period(l.value().get<std::string>())
                                     : std::nullopt;
      if (!p) return invalid_argument(field + " must be \"day\", \"month\" or \"total\"");
      limits.budget_period = *p;
    } else {
      return invalid_argument("unknown field " + field);
    }
    if (!s.is_ok()) return s;
  }
  return Status();
}

Status tenant_from_json(const Json& j, Tenant& t) {
  if (!j.is_object()) return invalid_argument("the body must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "name") {
      if (!v.is_string()) return invalid_argument("name must be a string");
      t.name = v.get<std::string>();
    } else if (k == "limits") {
      if (Status st = limits_from_json(v, t.limits); !st.is_ok()) return st;
    } else if (k == "models") {
      if (!v.is_array()) return invalid_argument("models must be a list of model names");
      std::vector<std::string> models;
      for (auto& m : v) {
        if (!m.is_string() || m.get<std::string>().empty()) {
          return invalid_argument("models must be a list of non-empty strings");
        }
        models.push_back(m.get<std::string>());
      }
      t.models = std::move(models);
    } else if (k == "weight") {
      if (!v.is_number()) return invalid_argument("weight must be a number");
      t.weight = v.get<double>();
    } else if (k == "priority") {
      if (!v.is_number_integer()) return invalid_argument("priority must be an integer");
      int64_t p = v.get<int64_t>();
      if (p < -100 || p > 100) return invalid_argument("priority must be in [-100, 100]");
      t.priority = static_cast<int32_t>(p);
    } else if (k == "share_prefix_cache") {
      if (!v.is_boolean()) return invalid_argument("share_prefix_cache must be true or false");
      t.share_prefix_cache = v.get<bool>();
    } else if (k == "status") {
      if (!v.is_string() || (v != "active" && v != "suspended")) {
        return invalid_argument("status must be \"active\" or \"suspended\"");
      }
      t.active = v == "active";
    } else if (k == "id" || k == "object" || k == "created_at") {
      // Read-only fields echoed back from a GET: ignored.
    } else {
      return invalid_argument("unknown field " + k);
    }
  }
  return Status();
}

}  // namespace yun::tenancy
