// `yun serve --models-config FILE`: the catalogue as a small JSON file, the
// shape a LiteLLM or llama.cpp-router user expects (in JSON: yun's parser):
//
//   {"models": [
//     {"name": "qwen",                      required; the served name
//      "path": "/models/qwen3",             a model directory, or
//      "repo": "Qwen/Qwen3-0.6B@main",      a repo id (HF cache; pulled when missing)
//      "aliases": ["chat"],                 more names requests may use
//      "keep_alive": "10m",                 this model's idle time (as --keep-alive)
//      "chat_template": "/t/qwen.jinja",    overrides --chat-template for it
//      "engine": {"max-num-seqs": 8, "kv-cache-memory": "512M", "threads": 2,
//                 "quantize": "q8_0", "no-prefix-cache": true}}]}
//
// Exactly one of "path" and "repo". "engine" keys are the engine flags
// without "--" (cli/engine_flags.h's table, the only list of them): an int
// option takes a JSON integer, a number option a number, a size an integer
// of bytes or a string ("512M"), a string option a string, a bool option
// true or false. They override the server-wide flags when that model loads.
// The first model in the file is the default unless --model came first.
//
// Errors (kInvalidArgument, one line naming the entry and key): malformed
// JSON or over the request limits (base/json_limits.h), an unknown key, a
// wrong type, a bad value (the option's own check), an empty "models", a
// missing name or source, both "path" and "repo", a bad repo id, a
// duplicate name or alias (names and aliases share one namespace).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "yun/base/status.h"
#include "yun/cli/engine_flags.h"

namespace yun::cli {

// One engine option of a model, as its command-line text ("true" for a bool).
struct EngineSetting {
  const EngineOption* option = nullptr;  // into engine_options()
  std::string value;
};

struct ModelsConfigEntry {
  std::string name;
  std::string source;  // "path" or "repo" as given
  std::vector<std::string> aliases;
  std::optional<double> keep_alive_s;  // seconds (-1: never); nullopt: the server's
  std::string chat_template_file;      // "": the server's --chat-template
  std::vector<EngineSetting> engine;   // in the file's order
  // Whether it sizes its own KV cache ("kv-cache-memory" or "num-kv-blocks"):
  // such a model is outside the server's --kv-cache-memory split.
  bool own_kv_size() const;
};

Result<std::vector<ModelsConfigEntry>> parse_models_config(std::string_view text);
// Reads FILE and parses it; errors are prefixed with "--models-config FILE: ".
Result<std::vector<ModelsConfigEntry>> load_models_config(const std::string& path);

// `server` with the entry's engine settings applied in order, the device
// resolved again. Errors: as apply_engine_option / resolve_engine_device.
Result<EngineFlags> engine_flags_for(const ModelsConfigEntry& entry, const EngineFlags& server);

}  // namespace yun::cli
