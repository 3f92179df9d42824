// run_server: the whole `yun serve` process: registers its models
// (model_registry.h), loads the default one (the first: tokenizer, chat
// template, engine), starts the HTTP server, runs one warm-up generation on
// the default model and turns /health/ready to 200 (logging the seconds since
// process start); the other models load on first use, then waits for SIGINT/SIGTERM and drains (/health/ready
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
#include "yun/serve/model_registry.h"
#include "yun/serve/openai_service.h"
#include "yun/tenancy/tenancy.h"

namespace yun::serve {

struct ServerConfig {
  // The models, the default first (each with its engine factory). Their
  // names are final: service.served_model_names is not read.
  std::vector<ModelSpec> models;
  RegistryOptions registry;  // keep-alive, --max-loaded-models, --memory-budget
  HttpServerOptions http;
  ServiceOptions service;
  double drain_timeout_s = 30;
  // tenancy.where non-empty: tenancy on (tenancy/tenancy.h), opened before the model loads.
  tenancy::TenancyOptions tenancy;
  // KV-cache events (kv_events.h), made by the caller (whose default
  // model's engine's kv_event_sink pushes to it). Started once the HTTP port
  // is known, with kv_events_topic or else kv@<host>:<port>@<default model>;
  // stopped after the engines. Null: off.
  std::shared_ptr<KvEventPublisher> kv_events;
  std::string kv_events_topic;
};

// Returns the process exit code: 0 after a clean drain, 1 on runtime
// failure, 2 for bad input (missing model files, unusable template).
int run_server(ServerConfig config);

}  // namespace yun::serve
