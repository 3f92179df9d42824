// JSON shapes of the tenancy model (json.h).
#include "yun/tenancy/json.h"

namespace yun::tenancy {
namespace {

nlohmann::ordered_json opt(const std::optional<int64_t>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

}  // namespace

nlohmann::ordered_json limits_json(const Limits& l) {
  return {{"requests_per_minute", opt(l.requests_per_minute)},
          {"tokens_per_minute", opt(l.tokens_per_minute)},
          {"max_concurrent", opt(l.max_concurrent)},
          {"token_budget", opt(l.token_budget)},
          {"budget_period", budget_period_name(l.budget_period)},
          {"max_tokens", opt(l.max_tokens)}};
}

nlohmann::ordered_json tenant_json(const Tenant& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"active", t.active},
          {"limits", limits_json(t.limits)},
          {"models", t.models},
          {"weight", t.weight},
          {"priority", t.priority},
          {"share_prefix_cache", t.share_prefix_cache},
          {"created_ms", t.created_ms}};
}

const char* key_state(const ApiKey& k, int64_t now_ms) {
  if (k.revoked_ms != 0) return "revoked";
  if (k.expires_ms != 0 && k.expires_ms <= now_ms) return "expired";
  return "active";
}

nlohmann::ordered_json key_json(const ApiKey& k, int64_t now_ms) {
  return {{"id", k.id},
          {"tenant_id", k.tenant_id},
          {"scope", key_scope_name(k.scope)},
          {"name", k.name},
          {"prefix", k.prefix},
          {"state", key_state(k, now_ms)},
          {"limits", limits_json(k.limits)},
          {"created_ms", k.created_ms},
          {"expires_ms", k.expires_ms},
          {"revoked_ms", k.revoked_ms}};
}

nlohmann::ordered_json usage_row_json(const UsageRow& r) {
  nlohmann::ordered_json j = {{"tenant_id", r.tenant_id}, {"model", r.model}};
  if (!r.key_id.empty()) j["key_id"] = r.key_id;
  if (!r.period.empty()) j["period"] = r.period;
  j["requests"] = r.requests;
  j["prompt_tokens"] = r.prompt_tokens;
  j["cached_prompt_tokens"] = r.cached_prompt_tokens;
  j["completion_tokens"] = r.completion_tokens;
  j["total_tokens"] = r.prompt_tokens + r.completion_tokens;
  return j;
}

nlohmann::ordered_json audit_json(const AuditEntry& e) {
  return {{"id", e.id},         {"time_ms", e.time_ms}, {"actor", e.actor},
          {"action", e.action}, {"target", e.target},   {"detail", e.detail}};
}

}  // namespace yun::tenancy
