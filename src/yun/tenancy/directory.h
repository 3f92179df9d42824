// Directory: the in-memory view of tenants and keys that authentication
// reads. A bearer secret is hashed (keys.h) and looked up in a hash map, so
// a lookup costs the same whatever the secret, never touches the database
// (a flood of guessed keys costs one SHA-256 each and nothing else), and
// never sees a key the store does not hold or the process was not given.
//
// The store is the source of truth: Tenancy's sync thread replace()s the
// view every sync interval (so a revocation on another replica takes effect
// here within it); changes made through this process put() at once.
// Keys given on the command line (--api-key, --admin-key) are stored like
// any other (Tenancy::open), so they show in listings and can be revoked.
//
// Thread-safe (a shared mutex: many readers, one writer).
#pragma once

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "yun/tenancy/model.h"

namespace yun::tenancy {

// Who a request comes from: its key and the key's tenant, as of the last sync.
struct Identity {
  ApiKey key;     // hash, never the secret
  Tenant tenant;
  bool admin() const { return key.scope == KeyScope::kAdmin; }
  bool allows_model(const std::string& model) const;
};

enum class AuthFailure {
  kMissing,    // no bearer token
  kUnknown,    // not a key we know (or its tenant is gone)
  kRevoked,
  kExpired,
  kSuspended,  // the tenant is suspended
};
const char* auth_failure_message(AuthFailure f);  // one line for the 401 / 403

class Directory {
 public:
  void replace(std::vector<Tenant> tenants, std::vector<ApiKey> keys);
  void put_tenant(const Tenant& t);
  void put_key(const ApiKey& k);

  struct Auth {
    std::optional<Identity> identity;
    AuthFailure failure = AuthFailure::kUnknown;  // when !identity
  };
  // `bearer`: the token after "Bearer " ("" when none). now_ms for expiry.
  Auth authenticate(std::string_view bearer, int64_t now_ms) const;

  std::optional<Tenant> tenant(const std::string& id) const;
  std::vector<Tenant> tenants() const;

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Tenant> tenants_;   // by id
  std::unordered_map<std::string, ApiKey> by_hash_;
};

}  // namespace yun::tenancy
