#include "yun/tenancy/directory.h"

#include <algorithm>
#include <mutex>

#include "yun/tenancy/keys.h"

namespace yun::tenancy {

bool Identity::allows_model(const std::string& model) const {
  if (tenant.models.empty()) return true;
  return std::find(tenant.models.begin(), tenant.models.end(), model) != tenant.models.end();
}

const char* auth_failure_message(AuthFailure f) {
  switch (f) {
    case AuthFailure::kMissing:
      return "missing API key (send Authorization: Bearer KEY)";
    case AuthFailure::kUnknown:
      return "invalid API key";
    case AuthFailure::kRevoked:
      return "this API key has been revoked";
    case AuthFailure::kExpired:
      return "this API key has expired";
    case AuthFailure::kSuspended:
      return "this API key's tenant is suspended";
  }
  return "invalid API key";
}

void Directory::replace(std::vector<Tenant> tenants, std::vector<ApiKey> keys) {
  std::unordered_map<std::string, Tenant> t;
  for (auto& x : tenants) t.emplace(x.id, std::move(x));
  std::unordered_map<std::string, ApiKey> k;
  for (auto& x : keys) k[x.hash] = std::move(x);
  std::unique_lock lock(mu_);
  tenants_.swap(t);
  by_hash_.swap(k);
}

void Directory::put_tenant(const Tenant& t) {
  std::unique_lock lock(mu_);
  tenants_[t.id] = t;
}

void Directory::put_key(const ApiKey& k) {
  std::unique_lock lock(mu_);
  by_hash_[k.hash] = k;
}

Directory::Auth Directory::authenticate(std::string_view bearer, int64_t now_ms) const {
  Auth a;
  if (bearer.empty()) {
    a.failure = AuthFailure::kMissing;
    return a;
  }
  std::string h = hash_key(bearer);
  std::shared_lock lock(mu_);
  auto k = by_hash_.find(h);
  if (k == by_hash_.end()) return a;
  auto t = tenants_.find(k->second.tenant_id);
  if (t == tenants_.end()) return a;
  if (k->second.revoked_ms != 0) {
    a.failure = AuthFailure::kRevoked;
  } else if (k->second.expires_ms != 0 && k->second.expires_ms <= now_ms) {
    a.failure = AuthFailure::kExpired;
  } else if (!t->second.active) {
    a.failure = AuthFailure::kSuspended;
  } else {
    a.identity = Identity{k->second, t->second};
  }
  return a;
}

std::optional<Tenant> Directory::tenant(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto t = tenants_.find(id);
  if (t == tenants_.end()) return std::nullopt;
  return t->second;
}

std::vector<Tenant> Directory::tenants() const {
  std::shared_lock lock(mu_);
  std::vector<Tenant> out;
  for (auto& [id, t] : tenants_) out.push_back(t);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.created_ms < b.created_ms || (a.created_ms == b.created_ms && a.id < b.id); });
  return out;
}

}  // namespace yun::tenancy
