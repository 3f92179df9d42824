#include "yun/tenancy/admin.h"

#include <cmath>

#include "yun/tenancy/json_codec.h"
#include "yun/tenancy/keys.h"

namespace yun::tenancy {
namespace {

Status check_limit(const std::optional<int64_t>& v, const char* field, int64_t min = 0) {
  if (v && *v < min) {
    return invalid_argument(std::string("limits.") + field + " must be >= " + std::to_string(min));
  }
  return Status();
}

void audit(Store& store, const std::string& actor, const std::string& action,
           const std::string& target, const std::string& detail) {
  AuditEntry e;
  e.time_ms = unix_ms_now();
  e.actor = actor;
  e.action = action;
  e.target = target;
  e.detail = detail;
  // The action happened; a failed audit write is reported in the log by the
  // store's error, not turned into a failed action.
  (void)store.append_audit(e);
}

}  // namespace

Status validate_tenant(const Tenant& t) {
  if (t.name.empty() || t.name.size() > 64) return invalid_argument("name must be 1-64 characters");
  for (char c : t.name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return invalid_argument("name must hold only letters, digits, '.', '_' and '-'");
  }
  if (Status s = validate_limits(t.limits); !s.is_ok()) return s;
  if (!std::isfinite(t.weight) || t.weight <= 0 || t.weight > 1000) {
    return invalid_argument("weight must be a number in (0, 1000]");
  }
  if (t.priority < -100 || t.priority > 100) return invalid_argument("priority must be in [-100, 100]");
  for (auto& m : t.models) {
    if (m.empty()) return invalid_argument("models must be non-empty strings");
  }
  return Status();
}

Status validate_limits(const Limits& l) {
  for (auto s : {check_limit(l.requests_per_minute, "requests_per_minute"),
                 check_limit(l.tokens_per_minute, "tokens_per_minute"),
                 check_limit(l.max_concurrent, "max_concurrent"),
                 check_limit(l.token_budget, "token_budget"),
                 check_limit(l.max_tokens, "max_tokens", 1)}) {
    if (!s.is_ok()) return s;
  }
  return Status();
}

Result<std::optional<Tenant>> find_tenant(Store& store, const std::string& id_or_name) {
  auto t = store.get_tenant(id_or_name);
  if (!t.is_ok() || t->has_value()) return t;
  return store.find_tenant_by_name(id_or_name);
}

Result<Tenant> create_tenant(Store& store, Tenant spec, const std::string& actor) {
  if (auto s = validate_tenant(spec); !s.is_ok()) return s;
  auto same = store.find_tenant_by_name(spec.name);
  if (!same.is_ok()) return same.status();
  if (same->has_value()) {
    return invalid_argument("name: a tenant named '" + spec.name + "' already exists (" +
                            (*same)->id + ")");
  }
  spec.id = new_id("tn_");
  spec.created_ms = unix_ms_now();
  if (auto s = store.create_tenant(spec); !s.is_ok()) return s;
  audit(store, actor, "tenant.create", spec.id, tenant_to_json(spec).dump());
  return spec;
}

Result<Tenant> update_tenant(Store& store, Tenant t, const std::string& actor) {
  if (auto s = validate_tenant(t); !s.is_ok()) return s;
  auto old = store.get_tenant(t.id);
  if (!old.is_ok()) return old.status();
  if (!old->has_value()) return not_found("no tenant " + t.id);
  t.created_ms = (*old)->created_ms;
  if (auto s = store.update_tenant(t); !s.is_ok()) return s;
  audit(store, actor, "tenant.update", t.id, tenant_to_json(t).dump());
  return t;
}

Result<NewKey> create_key(Store& store, const std::string& tenant, KeyScope scope,
                          const std::string& name, int64_t expires_ms, const std::string& actor,
                          const Limits& limits) {
  if (Status s = validate_limits(limits); !s.is_ok()) return s;
  auto t = find_tenant(store, tenant);
  if (!t.is_ok()) return t.status();
  if (!t->has_value()) return not_found("no tenant '" + tenant + "'");
  if (name.size() > 200) return invalid_argument("name must be at most 200 characters");
  NewKey k;
  k.secret = generate_key();
  k.key.id = new_id("key_");
  k.key.tenant_id = (*t)->id;
  k.key.scope = scope;
  k.key.name = name;
  k.key.hash = hash_key(k.secret);
  k.key.prefix = key_prefix(k.secret);
  k.key.created_ms = unix_ms_now();
  k.key.expires_ms = expires_ms;
  k.key.limits = limits;
  if (auto s = store.create_key(k.key); !s.is_ok()) return s;
  audit(store, actor, "key.create", k.key.id, key_to_json(k.key).dump());
  return k;
}

Status revoke_key(Store& store, const std::string& key_id, const std::string& actor) {
  auto k = store.get_key(key_id);
  if (!k.is_ok()) return k.status();
  if (!k->has_value()) return not_found("no key " + key_id);
  if ((*k)->revoked_ms != 0) return Status();  // already revoked: nothing to do, nothing to audit
  if (auto s = store.revoke_key(key_id, unix_ms_now()); !s.is_ok()) return s;
  audit(store, actor, "key.revoke", key_id, "{}");
  return Status();
}

}  // namespace yun::tenancy
