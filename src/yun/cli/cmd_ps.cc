// `yun ps`: the models of a running `yun serve` (its GET /v1/yun/ps, the
// registry's snapshot, serve/model_registry.h), one row per model: name,
// state, memory (weights + KV cache), KV cache use, idle time and when it
// unloads. --json prints the server's JSON as it is. One line and exit 1
// when no server answers (or it answers with an error); exit 2 for bad flags.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/cli/human_size.h"
#include "yun/hub/http.h"

namespace yun::cli {
namespace {

constexpr const char* kPsHelp =
    "Usage: yun ps [--host HOST] [--port N] [--api-key KEY] [--json]\n"
    "\n"
    "Lists the models of a running `yun serve`: whether each is loaded, its memory\n"
    "(weights + KV cache), how much of its KV cache is in use, how long it has been\n"
    "idle and when it unloads (keep_alive).\n"
    "\n"
    "  --host HOST    the server (default 127.0.0.1)\n"
    "  --port N       its port (default 8000)\n"
    "  --api-key KEY  a key when the server needs one (default: $YUN_API_KEY)\n"
    "  --json         the server's answer as JSON\n";

// "12s", "4m", "2h" (whole units, the largest that fits).
std::string short_duration(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.0fs", std::floor(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%.0fm", std::floor(s / 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%.0fh", std::floor(s / 3600));
  } else {
    std::snprintf(buf, sizeof buf, "%.0fd", std::floor(s / 86400));
  }
  return buf;
}

// When the model unloads, as Ollama's UNTIL column says it.
std::string until(const nlohmann::json& m) {
  const std::string status = m.value("status", "");
  if (status != "loaded") return "-";
  if (m.value("in_use", 0) > 0) return "in use";
  if (m.value("keep_alive_seconds", 0.0) < 0) return "forever";
  auto it = m.find("expires_in_seconds");
  if (it == m.end() || !it->is_number()) return "-";
  double left = it->get<double>();
  return left < 1 ? "now" : "in " + short_duration(left);
}

int run_ps(const std::vector<std::string>& argv) {
  auto parsed = Args::parse(argv, {"--host", "--port", "--api-key"}, {"--json", "--help", "-h"});
  if (!parsed) return fail(2, "ps: " + parsed.status().message() + " (see yun ps --help)");
  const Args& args = *parsed;
  if (args.has("--help") || args.has("-h")) {
    std::cout << kPsHelp;
    return 0;
  }
  auto port = args.get_int("--port", 8000);
  if (!port.is_ok() || *port < 1 || *port > 65535) return fail(2, "ps: --port must be 1 to 65535");
  std::string host = args.get_string("--host", "127.0.0.1");
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  const char* env_key = std::getenv("YUN_API_KEY");
  std::string key = args.get_string("--api-key", env_key ? env_key : "");
  const std::string url = "http://" + host + ":" + std::to_string(*port) + "/v1/yun/ps";

  hub::HttpClient http(key);
  auto r = http.get(url);
  if (!r.is_ok()) return fail(1, "ps: no yun server answers at " + url + " (" + r.status().message() + ")");
  nlohmann::json body = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != 200) {
    std::string why = body.is_object() && body.contains("error") && body["error"].is_object()
                          ? body["error"].value("message", "")
                          : "";
    return fail(1, "ps: " + url + " answered " + std::to_string(r->status) +
                       (why.empty() ? "" : ": " + why));
  }
  if (!body.is_object() || !body.contains("models") || !body["models"].is_array()) {
    return fail(1, "ps: " + url + " did not answer with a model list (is it a yun server?)");
  }
  if (args.has("--json")) {
    std::cout << body.dump(2) << "\n";
    return 0;
  }
  struct Row {
    std::string name, status, memory, kv, idle, until;
  };
  std::vector<Row> rows = {{"NAME", "STATUS", "MEMORY", "KV CACHE", "IDLE", "UNTIL"}};
  for (const auto& m : body["models"]) {
    if (!m.is_object()) continue;
    Row row;
    row.name = m.value("name", "?") + (m.value("default", false) ? " (default)" : "");
    row.status = m.value("status", "?");
    const bool loaded = row.status == "loaded";
    row.memory = loaded ? human_size(m.value("memory_bytes", int64_t{0})) : "-";
    if (loaded) {
      char pct[16];
      std::snprintf(pct, sizeof pct, " (%.0f%%)", 100.0 * m.value("kv_cache_usage", 0.0));
      row.kv = human_size(m.value("kv_cache_bytes", int64_t{0})) + pct;
    } else {
      row.kv = "-";
    }
    row.idle = loaded && m.value("in_use", 0) == 0 ? short_duration(m.value("idle_seconds", 0.0)) : "-";
    row.until = until(m);
    rows.push_back(std::move(row));
  }
  size_t w[6] = {0, 0, 0, 0, 0, 0};
  for (const auto& r2 : rows) {
    const std::string* cols[6] = {&r2.name, &r2.status, &r2.memory, &r2.kv, &r2.idle, &r2.until};
    for (int i = 0; i < 6; ++i) w[i] = std::max(w[i], cols[i]->size());
  }
  for (const auto& r2 : rows) {
    std::printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", static_cast<int>(w[0]), r2.name.c_str(),
                static_cast<int>(w[1]), r2.status.c_str(), static_cast<int>(w[2]), r2.memory.c_str(),
                static_cast<int>(w[3]), r2.kv.c_str(), static_cast<int>(w[4]), r2.idle.c_str(),
                r2.until.c_str());
  }
  for (const auto& m : body["models"]) {
    if (m.is_object() && m.value("status", "") == "failed") {
      std::printf("%s failed to load: %s\n", m.value("name", "?").c_str(), m.value("error", "").c_str());
    }
  }
  return 0;
}

}  // namespace

YUN_COMMAND("ps", "the models of a running yun serve: loaded or not, memory, KV use, keep-alive", run_ps);

}  // namespace yun::cli
