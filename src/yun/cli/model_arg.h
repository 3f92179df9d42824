// The MODEL argument of `yun run` and `yun serve`: a model directory, or a
// Hugging Face repo id (ORG/NAME[@REV]) found in the HF cache and, when it
// is not there, pulled into it first (as `yun pull` does, with its progress
// on stderr), unless --offline or HF_HUB_OFFLINE=1 forbids the network.
#pragma once

#include <string>

#include "yun/base/status.h"

namespace yun::cli {

// The model's directory. Errors: kNotFound (not a directory, not a repo id,
// not cached while offline), and pull's errors (hub/pull.h).
Result<std::string> resolve_or_pull(const std::string& model);

// --offline: no downloads for the rest of the process (sets HF_HUB_OFFLINE=1).
void set_offline();

}  // namespace yun::cli
