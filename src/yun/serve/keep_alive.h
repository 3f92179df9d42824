// keep_alive: how long a model stays loaded after its last request, as
// Ollama's `keep_alive` and yun's --keep-alive take it (model_registry.h
// applies it). A duration in Go's syntax ("5m", "30s", "1h30m", "250ms") or a
// number of seconds ("90", 90); 0 unloads at once; any negative value means
// forever, returned as -1.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "yun/base/status.h"

namespace yun::serve {

// Seconds (-1: forever). Errors: kInvalidArgument saying what is accepted.
Result<double> parse_keep_alive(std::string_view text);
// The same for a JSON value: a number (seconds) or a string as above.
Result<double> keep_alive_from_json(const nlohmann::ordered_json& value);

}  // namespace yun::serve
