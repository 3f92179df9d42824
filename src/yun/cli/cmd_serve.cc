// `yun serve MODEL_DIR`: the OpenAI-compatible HTTP server (serve/server.h),
// serving one model or several (serve/model_registry.h).
#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>

#include "yun/base/exit_code.h"
#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/cli/engine_flags.h"
#include "yun/cli/model_arg.h"
#include "yun/cli/models_config.h"
#include "yun/model/model_store.h"
#include "yun/serve/auth.h"
#include "yun/serve/server.h"
#include "yun/serve/static_files.h"

namespace yun::cli {
namespace {

constexpr const char* kHelp = R"(Usage: yun serve MODEL [options]
       yun serve --model A --model B ... | --models-dir DIR | --models-config FILE [options]
OpenAI-compatible API server (chat/completions, completions, models, tokenize,
detokenize, the render endpoints, health, health/ready, metrics, version, yun/ps)
with a browser playground at /. MODEL is a model directory or a Hugging Face
repo id in the HF cache.

  --model MODEL             a model directory or repo id (repeatable; the first argument is
                            one too), NAME=MODEL to name it; a repo id missing from the HF
                            cache is pulled first. The first model is the default (requests
                            without "model"), loaded at start; the others load on first use
  --models-dir DIR          every sub-directory of DIR with a config.json (named by the
                            sub-directory), and every repo cached under DIR in the Hugging
                            Face hub layout (models--ORG--NAME, named ORG/NAME), is a model
  --models-config FILE      a JSON catalogue: {"models": [{"name", "path" or "repo",
                            "aliases", "keep_alive", "chat_template", "engine": {...}}]};
                            "engine" takes the engine options below without "--" and
                            overrides them for that model (README: Serve several models)
  --keep-alive DURATION     unload a model this long after its last request (5m, 30s, 1h,
                            a number of seconds; -1 never; 0 at once). Default: 5m with
                            several models, never with one. A request's "keep_alive" field
                            overrides it for that model
  --max-loaded-models N     most models loaded at once; loading one more first unloads the
                            least recently used idle one (default: no limit)
  --memory-budget SIZE      most bytes of weights + KV caches loaded at once (e.g. 8G), with
                            the same rule (default: no limit)
  --load-timeout S          how long a request waits for its model to load, or for room to
                            load it, before a 503 (default 600)
                            With several models each has its own engine: N = the models
                            loaded at once (--max-loaded-models, else all) among those
                            without their own kv-cache-memory / num-kv-blocks in
                            --models-config; each of them gets --kv-cache-memory / N, a
                            model with its own gets that; all get every CPU thread
                            unless their "threads" says otherwise
  --offline                 never download (also HF_HUB_OFFLINE=1)
  --host HOST               address to listen on (default 127.0.0.1)
  --port N                  port (default 8000; 0 picks a free one)
  --served-model-name NAME  the default model's name (repeatable: the others are aliases;
                            default: the repo id, or the directory's basename)
  --api-key KEY             require "Authorization: Bearer KEY" (repeatable) on /v1/*,
                            /tokenize and /detokenize; /health, /metrics, /version and
                            the playground stay open
  --api-key-file FILE       keys, one per line
  --state-dir DIR           turn on tenancy (tenants, keys, limits, usage ledger, admin API
                            at /admin/v1, console at /admin) with its SQLite database in DIR;
                            --api-key keys then belong to the tenant "default"
  --db URL                  the same with PostgreSQL (postgres://…), shared by replicas
  --admin-key KEY           an admin-scoped key (tenant "admin"); without one, the first
                            start prints a one-time bootstrap admin key
  --allowed-origins O       CORS: origins browsers may call from ('*', or exact origins;
                            repeatable or comma-separated; default none)
  --responses-max N         /v1/responses kept without tenancy (store: true, in memory,
                            least recently used out first; default 4096; with tenancy they
                            are in its database for 30 days)
  --responses-max-bytes SIZE  and at most this much of them (default 256M)
  --reasoning-parser NAME   qwen3: <think>...</think> -> reasoning_content
  --chat-template FILE      a Jinja chat template overriding the tokenizer's
  --max-waiting N           at most N requests wait for their first token at once; each
                            one over that gets 429 + Retry-After (default: no limit)
  --max-request-tokens N    most tokens one request may ask for: prompt + max_tokens summed
                            over its sequences (prompts x n), an unset max_tokens counting as
                            the rest of the context (default: 16 x max-model-len)
  --drain-timeout S         on SIGINT/SIGTERM, let requests finish for S seconds (default 30)
  --http-threads N          io threads (default: one per 8 cores, 1 to 4)
  --max-body-bytes N        larger request bodies get 413 (default 33554432)
  --timeout-keep-alive S    idle keep-alive timeout (default 60)
  --web-dir DIR             playground files (default: web/ near the executable or cwd)
  --kv-events-endpoint EP   publish KV-cache events in vLLM's format on a ZMQ PUB socket
                            (e.g. tcp://*:5557; off by default; docs/model-server-contract.md)
  --kv-events-replay-endpoint EP  a ROUTER socket replaying buffered batches (e.g. tcp://*:5558)
  --kv-events-topic T       the topic (default: kv@<host>:<port>@<served model name>)
  --kv-events-encoding E    array (vLLM <= 0.23, llm-d; default) or map (newer vLLM)
)";

struct ModelSource {
  std::string name;    // the served name
  std::string source;  // a directory or a repo id
  // From --models-config: its aliases, keep_alive, engine options.
  std::optional<ModelsConfigEntry> config = std::nullopt;
};

// The served name of a MODEL argument: NAME=MODEL's NAME, a repo id, or the
// directory's basename.
ModelSource model_source(const std::string& arg) {
  size_t eq = arg.find('=');
  if (eq != std::string::npos && eq > 0 && arg.substr(0, eq).find('/') == std::string::npos) {
    return {arg.substr(0, eq), arg.substr(eq + 1)};
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(arg, ec)) {
    if (auto ref = parse_repo_ref(arg); ref.is_ok()) return {ref->repo_id, arg};
  }
  std::string dir = arg;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return {std::filesystem::path(dir).filename().string(), arg};
}

// --models-dir DIR: sub-directories with a config.json, and repos cached in
// the hub layout (their main revision, else their newest snapshot).
Result<std::vector<ModelSource>> scan_models_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return not_found("--models-dir " + dir + " is not a directory");
  std::vector<ModelSource> out;
  std::vector<fs::path> subdirs;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory()) subdirs.push_back(it->path());
  }
  std::sort(subdirs.begin(), subdirs.end());
  for (const auto& p : subdirs) {
    if (fs::exists(p / "config.json", ec)) out.push_back({p.filename().string(), p.string()});
  }
  ModelStore store(dir);
  auto cached = store.list();
  if (cached.is_ok()) {
    for (const auto& m : *cached) {
      bool seen = false;
      for (const auto& o : out) seen |= o.name == m.repo_id;
      if (seen) continue;
      RepoRef ref{m.repo_id, "main"};
      auto snap = store.resolve(ref);
      std::string path = snap.is_ok() ? *snap : m.snapshot_dir;
      // list() is sorted by commit: a later snapshot of the same repo wins
      // only when there is no main ref.
      out.push_back({m.repo_id, path});
    }
  }
  if (out.empty()) return not_found("--models-dir " + dir + " holds no model");
  return out;
}

Result<std::vector<ModelSource>> collect_models(const Args& args) {
  std::vector<std::string> given;
  if (!args.positional().empty()) given.push_back(args.positional()[0]);
  for (const auto& m : args.all("--model")) given.push_back(m);
  std::vector<ModelSource> out;
  for (const auto& g : given) {
    ModelSource m = model_source(g);
    // A repo id missing from the HF cache is pulled now (model_arg.h); the
    // registry then finds it cached.
    YUN_ASSIGN_OR_RETURN(std::string path, resolve_or_pull(m.source));
    (void)path;
    out.push_back(std::move(m));
  }
  if (auto file = args.get("--models-config")) {
    YUN_ASSIGN_OR_RETURN(auto entries, load_models_config(*file));
    for (auto& e : entries) {
      YUN_ASSIGN_OR_RETURN(std::string path, resolve_or_pull(e.source));
      (void)path;
      std::string name = e.name, source = e.source;
      out.push_back({std::move(name), std::move(source), std::move(e)});
    }
  }
  if (auto dir = args.get("--models-dir")) {
    YUN_ASSIGN_OR_RETURN(auto found, scan_models_dir(*dir));
    out.insert(out.end(), found.begin(), found.end());
  }
  if (out.empty()) {
    return invalid_argument(
        "serve needs a model directory, --model, --models-dir or --models-config (see --help)");
  }
  return out;
}

// An engine factory for the registry with these engine flags; it also
// reports the KV cache's bytes.
serve::EngineFactory engine_factory(EngineFlags flags) {
  return [flags = std::move(flags)](
             const std::string& dir,
             std::shared_ptr<const Tokenizer> tok) -> Result<serve::EngineBuild> {
    size_t kv_per_token = 0;
    YUN_ASSIGN_OR_RETURN(auto engine,
                         create_engine_for_model(dir, flags, std::move(tok), &kv_per_token));
    serve::EngineBuild b;
    EngineStats st = engine->stats();
    b.kv_cache_bytes = static_cast<int64_t>(kv_per_token) * st.num_kv_blocks * st.block_size;
    b.engine = std::move(engine);
    return b;
  };
}

int run_serve(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") {
      std::cout << kHelp << engine_flags_help();
      return 0;
    }
  }
  std::set<std::string> value_flags = {"--model",
                                       "--models-dir",
                                       "--models-config",
                                       "--keep-alive",
                                       "--max-loaded-models",
                                       "--memory-budget",
                                       "--load-timeout",
                                       "--host",
                                       "--port",
                                       "--served-model-name",
                                       "--api-key",
                                       "--api-key-file",
                                       "--state-dir",
                                       "--allowed-origins",
                                       "--responses-max",
                                       "--responses-max-bytes",
                                       "--db",
                                       "--admin-key",
                                       "--reasoning-parser",
                                       "--chat-template",
                                       "--max-waiting",
                                       "--max-request-tokens",
                                       "--drain-timeout",
                                       "--http-threads",
                                       "--max-body-bytes",
                                       "--timeout-keep-alive",
                                       "--web-dir",
                                       "--kv-events-endpoint",
                                       "--kv-events-replay-endpoint",
                                       "--kv-events-topic",
                                       "--kv-events-encoding"};
  value_flags.insert(engine_value_flags().begin(), engine_value_flags().end());
  std::set<std::string> bool_flags = engine_bool_flags();
  bool_flags.insert("--offline");
  auto parsed = Args::parse(argv, value_flags, bool_flags);
  if (!parsed.is_ok()) return fail(2, parsed.status().message() + " (see yun serve --help)");
  const Args& args = *parsed;
  serve::ServerConfig cfg;
  if (args.has("--offline")) set_offline();
  auto models = collect_models(args);
  if (!models.is_ok()) return fail(exit_code_for(models.status()), models.status().message());

  auto geti = [&](const char* flag, int64_t def, int64_t lo, int64_t hi, int64_t& out) {
    auto v = args.get_int(flag, def);
    if (!v.is_ok()) return fail(2, v.status().message());
    if (*v < lo || *v > hi) return fail(2, std::string(flag) + " is out of range");
    out = *v;
    return 0;
  };
  int64_t port, max_waiting, http_threads, body, max_request_tokens;
  if (geti("--port", 8000, 0, 65535, port) ||
      geti("--max-waiting", -1, -1, INT32_MAX, max_waiting) ||
      geti("--max-request-tokens", 0, 0, INT64_MAX, max_request_tokens) ||
      geti("--http-threads", 0, 0, 256, http_threads) ||
      geti("--max-body-bytes", 32 << 20, 1, INT64_MAX, body)) {
    return 2;
  }
  auto engine_flags = parse_engine_flags(args);
  if (!engine_flags.is_ok()) return fail(2, engine_flags.status().message());
  auto drain = args.get_double("--drain-timeout", 30);
  auto keep_alive = args.get_double("--timeout-keep-alive", 60);
  if (!drain.is_ok()) return fail(2, drain.status().message());
  if (!keep_alive.is_ok()) return fail(2, keep_alive.status().message());

  cfg.http.host = args.get_string("--host", "127.0.0.1");
  cfg.http.port = static_cast<int>(port);
  cfg.http.threads = static_cast<int>(http_threads);
  cfg.http.body_limit = static_cast<size_t>(body);
  cfg.http.idle_timeout_s = *keep_alive;
  cfg.drain_timeout_s = *drain;
  const std::string chat_template_file = args.get_string("--chat-template", "");

  // The registry's rules (serve/model_registry.h).
  const int n_models = static_cast<int>(models->size());
  int64_t max_loaded = 0;
  if (geti("--max-loaded-models", 0, 0, 1 << 20, max_loaded)) return 2;
  cfg.registry.max_loaded = static_cast<int>(max_loaded);
  cfg.registry.keep_alive_s = n_models > 1 ? 300 : -1;
  if (auto ka = args.get("--keep-alive")) {
    auto v = serve::parse_keep_alive(*ka);
    if (!v.is_ok()) return fail(2, "--keep-alive: " + v.status().message());
    cfg.registry.keep_alive_s = *v;
  }
  if (auto mb = args.get("--memory-budget")) {
    auto v = parse_byte_size(*mb);
    if (!v.is_ok()) return fail(2, "--memory-budget: " + v.status().message());
    cfg.registry.memory_budget = *v;
  }
  auto load_timeout = args.get_double("--load-timeout", 600);
  if (!load_timeout.is_ok()) return fail(2, load_timeout.status().message());
  cfg.registry.load_wait_s = *load_timeout;
  // The split rule: N = the models that can be loaded at once among those
  // sharing --kv-cache-memory (not sizing their own KV cache in
  // --models-config); each of them gets --kv-cache-memory / N (or its own
  // default) and every CPU thread (unless its config says otherwise).
  int n_sharing = 0;
  for (const auto& m : *models) n_sharing += !(m.config && m.config->own_kv_size());
  const int n_at_once =
      max_loaded > 0 ? std::min<int>(n_sharing, static_cast<int>(max_loaded)) : n_sharing;
  EngineFlags per_model = *engine_flags;
  if (n_at_once > 1 && per_model.engine.kv_cache_memory > 0) {
    per_model.engine.kv_cache_memory /= n_at_once;
  }
  if (n_at_once > 1 && per_model.engine.kv_cache_memory == 0 &&
      per_model.engine.num_kv_blocks == 0 && per_model.runner.device.rfind("cuda", 0) == 0) {
    std::fprintf(stderr,
                 "yun serve: warning: several models on a GPU without --kv-cache-memory: the "
                 "first model loaded takes the KV room --gpu-memory-utilization leaves, and "
                 "later ones may fail to load\n");
  }

  std::function<void(std::vector<KvBlockEvent> &&)> kv_event_sink;
  if (std::string ep = args.get_string("--kv-events-endpoint", ""); !ep.empty()) {
    serve::KvEventsOptions kv;
    kv.endpoint = ep;
    kv.replay_endpoint = args.get_string("--kv-events-replay-endpoint", "");
    kv.block_size = engine_flags->engine.block_size;
    auto enc = serve::parse_kv_events_encoding(args.get_string("--kv-events-encoding", "array"));
    if (!enc.is_ok()) return fail(2, enc.status().message());
    kv.encoding = *enc;
    auto pub = serve::KvEventPublisher::create(kv);
    if (!pub.is_ok()) return fail(2, pub.status().message());
    cfg.kv_events = *pub;
    cfg.kv_events_topic = args.get_string("--kv-events-topic", "");
    kv_event_sink = [pub = cfg.kv_events](std::vector<KvBlockEvent>&& events) {
      pub->push(std::move(events));
    };
  } else if (!args.get_string("--kv-events-replay-endpoint", "").empty()) {
    return fail(2, "--kv-events-replay-endpoint needs --kv-events-endpoint");
  }
  // --served-model-name names the default model (the rest are its aliases).
  std::vector<std::string> served = args.all("--served-model-name");
  for (size_t i = 0; i < models->size(); ++i) {
    serve::ModelSpec spec;
    spec.name = (*models)[i].name;
    spec.source = (*models)[i].source;
    if (i == 0 && !served.empty()) {
      spec.name = served[0];
      spec.aliases.assign(served.begin() + 1, served.end());
    }
    spec.chat_template_file = chat_template_file;
    EngineFlags flags = per_model;
    if (const auto& c = (*models)[i].config) {
      // Its own options override the server-wide ones; with its own KV size
      // it is outside the split.
      auto own = engine_flags_for(*c, c->own_kv_size() ? *engine_flags : per_model);
      if (!own.is_ok())
        return fail(2, "--models-config: model " + c->name + ": " + own.status().message());
      flags = std::move(*own);
      spec.aliases.insert(spec.aliases.end(), c->aliases.begin(), c->aliases.end());
      spec.keep_alive_s = c->keep_alive_s;
      if (!c->chat_template_file.empty()) spec.chat_template_file = c->chat_template_file;
    }
    spec.kv_cache_bytes_hint = flags.engine.kv_cache_memory;
    // KV-cache events come from the default model's engine.
    if (i == 0) flags.engine.kv_event_sink = kv_event_sink;
    spec.make_engine = engine_factory(std::move(flags));
    cfg.models.push_back(std::move(spec));
  }

  cfg.service.api_keys = args.all("--api-key");
  for (const auto& f : args.all("--api-key-file")) {
    if (!serve::read_key_file(f, cfg.service.api_keys)) return fail(2, "cannot read " + f);
  }
  std::string state_dir = args.get_string("--state-dir", ""), db = args.get_string("--db", "");
  if (!state_dir.empty() && !db.empty()) return fail(2, "give --state-dir or --db, not both");
  cfg.tenancy.where = db.empty() ? state_dir : db;
  cfg.tenancy.admin_key = args.get_string("--admin-key", "");
  if (cfg.tenancy.where.empty() && !cfg.tenancy.admin_key.empty()) {
    return fail(2, "--admin-key needs --state-dir or --db");
  }
  if (!cfg.tenancy.where.empty()) {
    cfg.tenancy.default_keys = cfg.service.api_keys;
    cfg.service.api_keys.clear();  // tenancy checks every key
  }
  cfg.service.allowed_origins = args.all("--allowed-origins");
  int64_t responses_max = 0;
  if (geti("--responses-max", static_cast<int64_t>(serve::kDefaultMaxStoredResponses), 0, INT32_MAX,
           responses_max)) {
    return 2;
  }
  cfg.service.max_stored_responses = static_cast<size_t>(responses_max);
  if (auto rb = args.get("--responses-max-bytes")) {
    auto v = parse_byte_size(*rb);
    if (!v.is_ok()) return fail(2, "--responses-max-bytes: " + v.status().message());
    cfg.service.max_stored_response_bytes = static_cast<size_t>(*v);
  }
  cfg.service.reasoning_parser = args.get_string("--reasoning-parser", "");
  if (!cfg.service.reasoning_parser.empty() && cfg.service.reasoning_parser != "qwen3" &&
      cfg.service.reasoning_parser != "deepseek_r1") {
    return fail(2, "unknown --reasoning-parser '" + cfg.service.reasoning_parser +
                       "' (supported: qwen3, deepseek_r1)");
  }
  if (cfg.service.reasoning_parser == "deepseek_r1") cfg.service.reasoning_parser = "qwen3";
  cfg.service.max_waiting = max_waiting;
  cfg.service.max_request_tokens = max_request_tokens;
  cfg.service.web_dir = serve::find_web_dir(args.get_string("--web-dir", ""));
#ifdef YUN_VERSION
  cfg.service.version = YUN_VERSION;
#endif
  return serve::run_server(std::move(cfg));
}

}  // namespace

YUN_COMMAND("serve", "OpenAI-compatible API server with a browser playground", run_serve);

}  // namespace yun::cli
