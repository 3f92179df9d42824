// The admin operations, one implementation for every front door: the admin
// HTTP API (serve/admin_api.cc) and `yun admin` (cli/cmd_admin.cc). Each
// validates, writes the store, and appends one audit entry naming `actor`.
//
// Validation (kInvalidArgument naming the field): name 1-64 characters of
// [A-Za-z0-9._-] and unique; every limit >= 0 (max_tokens >= 1); weight
// finite and in (0, 1000]; priority in [-100, 100]; models non-empty strings.
#pragma once

#include <string>

#include "yun/base/status.h"
#include "yun/tenancy/model.h"
#include "yun/tenancy/store.h"
#include "yun/tenancy/utc_time.h"

namespace yun::tenancy {

Status validate_tenant(const Tenant& t);
Status validate_limits(const Limits& l);

// Assigns id and created_ms; kInvalidArgument when the name is taken.
Result<Tenant> create_tenant(Store& store, Tenant spec, const std::string& actor);
// Replaces the stored tenant with id t.id (created_ms kept).
Result<Tenant> update_tenant(Store& store, Tenant t, const std::string& actor);

struct NewKey {
  ApiKey key;
  std::string secret;  // shown once, never stored
};
// `tenant`: an id or a name. expires_ms 0: never. `limits`: the key's own,
// checked on top of its tenant's.
Result<NewKey> create_key(Store& store, const std::string& tenant, KeyScope scope,
                          const std::string& name, int64_t expires_ms, const std::string& actor,
                          const Limits& limits = {});
Status revoke_key(Store& store, const std::string& key_id, const std::string& actor);

// A tenant by id, else by name (nullopt when neither).
Result<std::optional<Tenant>> find_tenant(Store& store, const std::string& id_or_name);


}  // namespace yun::tenancy
