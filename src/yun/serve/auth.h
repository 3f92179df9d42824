// API-key checks. When keys are configured, /v1/*, /tokenize and /detokenize
// need "Authorization: Bearer <key>"; /health, /metrics, /version and the
// playground's static files stay open (as vLLM leaves them).
#pragma once

#include <string>
#include <vector>

namespace yun::serve {

// True when `path` needs a key (when any key is configured).
bool path_requires_auth(const std::string& path);
// True when `authorization` (the header value) carries one of `keys`.
// Compares in time independent of where the strings differ.
bool check_bearer(const std::string& authorization, const std::vector<std::string>& keys);
// Reads FILE: one key per line; blank lines and '#' comments skipped.
bool read_key_file(const std::string& path, std::vector<std::string>& keys);

}  // namespace yun::serve
