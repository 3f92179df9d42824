// API-key checks. Which paths need a key is the route table's access rule
// (route_table.h); this file only reads "Authorization: Bearer <key>".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "yun/serve/principal.h"

namespace yun::serve {

// The token of "Authorization: Bearer <token>" (scheme case-insensitive,
// spaces trimmed); "" when the header is missing or of another scheme.
std::string bearer_token(const std::string& authorization);
// The principal of the key `authorization` carries: tenant "default",
// key_id "key-<index in keys>"; nullopt when it carries none of `keys`.
// Compares every key in time independent of where the strings differ.
std::optional<Principal> authenticate_bearer(const std::string& authorization,
                                             const std::vector<std::string>& keys);
// Reads FILE: one key per line; blank lines and '#' comments skipped.
bool read_key_file(const std::string& path, std::vector<std::string>& keys);

}  // namespace yun::serve
