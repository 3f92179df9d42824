#include "yun/cli/models_config.h"

#include <set>

#include "yun/base/json_limits.h"
#include "yun/base/mapped_file.h"
#include "yun/model/model_store.h"
#include "yun/serve/keep_alive.h"

namespace yun::cli {
namespace {

using Json = nlohmann::ordered_json;
using T = EngineOptionType;

Status bad(const std::string& where, const std::string& what) {
  return invalid_argument(where + ": " + what);
}

// An "engine" value as the option's command-line text, or why it is the wrong type.
Result<std::string> setting_text(const EngineOption& o, const Json& v, const std::string& where) {
  switch (o.type) {
    case T::kInt:
      if (v.is_number_integer()) return v.dump();
      return bad(where, "must be an integer");
    case T::kNumber:
      if (v.is_number()) return v.dump();
      return bad(where, "must be a number");
    case T::kSize:
      if (v.is_number_unsigned()) return v.dump();
      if (v.is_string()) return v.get<std::string>();
      return bad(where, "must be a size (a number of bytes, or a string such as \"512M\")");
    case T::kString:
      if (v.is_string()) return v.get<std::string>();
      return bad(where, "must be a string");
    case T::kBool:
      if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
      return bad(where, "must be true or false");
  }
  return bad(where, "unsupported option type");
}

Result<std::string> string_field(const Json& v, const std::string& where) {
  if (!v.is_string() || v.get<std::string>().empty())
    return bad(where, "must be a non-empty string");
  return v.get<std::string>();
}

Result<ModelsConfigEntry> parse_entry(const Json& m, const std::string& at) {
  if (!m.is_object()) return bad(at, "must be an object");
  ModelsConfigEntry e;
  if (auto it = m.find("name"); it != m.end()) {
    YUN_ASSIGN_OR_RETURN(e.name, string_field(*it, at + ".name"));
  } else {
    return bad(at, "needs \"name\"");
  }
  const std::string where = at + " (\"" + e.name + "\")";
  bool has_path = false, has_repo = false;
  for (const auto& [key, v] : m.items()) {
    const std::string k = where + "." + key;
    if (key == "name") continue;
    if (key == "path") {
      YUN_ASSIGN_OR_RETURN(e.source, string_field(v, k));
      has_path = true;
    } else if (key == "repo") {
      YUN_ASSIGN_OR_RETURN(e.source, string_field(v, k));
      auto ref = parse_repo_ref(e.source);
      if (!ref.is_ok()) return bad(k, ref.status().message());
      has_repo = true;
    } else if (key == "aliases") {
      if (!v.is_array()) return bad(k, "must be an array of names");
      for (size_t i = 0; i < v.size(); ++i) {
        YUN_ASSIGN_OR_RETURN(std::string a, string_field(v[i], k + "[" + std::to_string(i) + "]"));
        e.aliases.push_back(std::move(a));
      }
    } else if (key == "keep_alive") {
      auto ka = serve::keep_alive_from_json(v);
      if (!ka.is_ok()) return bad(k, ka.status().message());
      e.keep_alive_s = *ka;
    } else if (key == "chat_template") {
      YUN_ASSIGN_OR_RETURN(e.chat_template_file, string_field(v, k));
    } else if (key == "engine") {
      if (!v.is_object()) return bad(k, "must be an object of engine options");
      EngineFlags check;  // the option's own value check, here (no device is resolved)
      for (const auto& [name, value] : v.items()) {
        const EngineOption* o = find_engine_option(name);
        if (!o)
          return bad(k + "." + name,
                     "unknown engine option (the flags of yun serve --help, without --)");
        YUN_ASSIGN_OR_RETURN(std::string text, setting_text(*o, value, k + "." + name));
        Status st = o->apply(check, text);
        if (!st.is_ok()) return bad(k + "." + name, st.message());
        e.engine.push_back({o, std::move(text)});
      }
    } else {
      return bad(k, "unknown key (name, path, repo, aliases, keep_alive, chat_template, engine)");
    }
  }
  if (has_path == has_repo) return bad(where, "needs exactly one of \"path\" and \"repo\"");
  return e;
}

}  // namespace

bool ModelsConfigEntry::own_kv_size() const {
  for (const auto& s : engine) {
    const std::string_view n = s.option->name;
    if (n == "kv-cache-memory" || n == "num-kv-blocks") return true;
  }
  return false;
}

Result<std::vector<ModelsConfigEntry>> parse_models_config(std::string_view text) {
  auto parsed = parse_json_bounded<Json>(text, JsonLimits::request());
  if (!parsed.is_ok()) return parsed.status();
  const Json& root = *parsed;
  if (!root.is_object())
    return invalid_argument("the file must be a JSON object {\"models\": [...]}");
  for (const auto& [key, v] : root.items()) {
    if (key != "models") return bad(key, "unknown key (the file has \"models\")");
  }
  auto it = root.find("models");
  if (it == root.end() || !it->is_array() || it->empty()) {
    return bad("models", "must be a non-empty array of models");
  }
  std::vector<ModelsConfigEntry> out;
  std::set<std::string> names;
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string at = "models[" + std::to_string(i) + "]";
    YUN_ASSIGN_OR_RETURN(ModelsConfigEntry e, parse_entry((*it)[i], at));
    std::vector<std::string> all{e.name};
    all.insert(all.end(), e.aliases.begin(), e.aliases.end());
    for (const auto& n : all) {
      if (!names.insert(n).second) {
        return bad(at + " (\"" + e.name + "\")", "the name \"" + n + "\" is used twice");
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<ModelsConfigEntry>> load_models_config(const std::string& path) {
  auto text = read_file(path);
  if (!text.is_ok()) return text.status().with_context("--models-config " + path);
  auto entries = parse_models_config(*text);
  if (!entries.is_ok()) return entries.status().with_context("--models-config " + path);
  return entries;
}

Result<EngineFlags> engine_flags_for(const ModelsConfigEntry& entry, const EngineFlags& server) {
  EngineFlags f = server;
  for (const auto& s : entry.engine)
    YUN_RETURN_IF_ERROR(apply_engine_option(f, *s.option, s.value));
  YUN_RETURN_IF_ERROR(resolve_engine_device(f));
  return f;
}

}  // namespace yun::cli
