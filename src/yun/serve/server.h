// run_server: the whole `yun serve` process: loads the model, tokenizer and
// chat template, starts the engine and the HTTP server, runs one warm-up
// generation and turns /health/ready to 200 (logging the seconds since
// process start), then waits for SIGINT/SIGTERM and drains (/health/ready
// 503, stop accepting, let running requests finish up to drain_timeout_s,
// abort the rest, commit the usage ledger, exit 0).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "yun/engine/engine.h"
#include "yun/serve/http_server.h"
#include "yun/serve/kv_events.h"
#include "yun/serve/openai_service.h"
#include "yun/tenancy/tenancy.h"

namespace yun::serve {

struct ServerConfig {
  std::string model_dir;
  std::string chat_template_file;  // overrides the tokenizer's template
  HttpServerOptions http;
  ServiceOptions service;
  // Creates the engine once the tokenizer is loaded (null when the model
  // has none). The CLI passes one built from its engine flags.
  std::function<Result<std::unique_ptr<Engine>>(std::shared_ptr<const Tokenizer>)> make_engine;
  double drain_timeout_s = 30;
  // tenancy.where non-empty: tenancy on (tenancy/tenancy.h), opened before the model loads.
  tenancy::TenancyOptions tenancy;
  // KV-cache events (kv_events.h), made by the caller (whose engine's
  // kv_event_sink pushes to it). Started once the HTTP port is known, with
  // kv_events_topic or else kv@<host>:<port>@<model>; stopped after the
  // engine. Null: off.
  std::shared_ptr<KvEventPublisher> kv_events;
  std::string kv_events_topic;
};

// Returns the process exit code: 0 after a clean drain, 1 on runtime
// failure, 2 for bad input (missing model files, unusable template).
int run_server(ServerConfig config);

}  // namespace yun::serve
