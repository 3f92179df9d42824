// `yun serve MODEL_DIR`: the OpenAI-compatible HTTP server (serve/server.h).
#include <iostream>

#include "yun/base/exit_code.h"
#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/cli/model_arg.h"
#include "yun/cli/engine_flags.h"
#include "yun/serve/auth.h"
#include "yun/serve/server.h"
#include "yun/serve/static_files.h"

namespace yun::cli {
namespace {

constexpr const char* kHelp = R"(Usage: yun serve MODEL [options]
OpenAI-compatible API server (chat/completions, completions, models, tokenize,
detokenize, the render endpoints, health, health/ready, metrics, version) with a
browser playground at /. MODEL is a model directory or a Hugging Face repo id
in the HF cache.

  --model MODEL             the model directory or repo id (or give it as the first argument);
                            a repo id missing from the HF cache is pulled first
  --offline                 never download (also HF_HUB_OFFLINE=1)
  --host HOST               address to listen on (default 127.0.0.1)
  --port N                  port (default 8000; 0 picks a free one)
  --served-model-name NAME  name clients use (repeatable; default: the dir's basename)
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

int run_serve(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") {
      std::cout << kHelp << engine_flags_help();
      return 0;
    }
  }
  std::set<std::string> value_flags = {"--model",
                                       "--host",
                                       "--port",
                                       "--served-model-name",
                                       "--api-key",
                                       "--api-key-file",
                                       "--state-dir",
                                       "--allowed-origins",
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
  cfg.model_dir = args.get_string("--model", "");
  if (cfg.model_dir.empty() && !args.positional().empty()) cfg.model_dir = args.positional()[0];
  if (cfg.model_dir.empty()) return fail(2, "serve needs a model directory (see --help)");
  // A repo id missing from the HF cache is pulled now (model_arg.h); the
  // server then finds it cached.
  if (args.has("--offline")) set_offline();
  if (auto path = resolve_or_pull(cfg.model_dir); !path.is_ok()) {
    return fail(exit_code_for(path.status()), path.status().message());
  }

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
  cfg.chat_template_file = args.get_string("--chat-template", "");

  EngineFlags flags_with_events = *engine_flags;
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
    flags_with_events.engine.kv_event_sink =
        [pub = cfg.kv_events](std::vector<KvBlockEvent>&& events) { pub->push(std::move(events)); };
  } else if (!args.get_string("--kv-events-replay-endpoint", "").empty()) {
    return fail(2, "--kv-events-replay-endpoint needs --kv-events-endpoint");
  }
  cfg.make_engine = [flags = flags_with_events,
                     dir = cfg.model_dir](std::shared_ptr<const Tokenizer> tok) {
    return create_engine_for_model(dir, flags, std::move(tok));
  };

  cfg.service.served_model_names = args.all("--served-model-name");
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
