// The Ollama API subset that chat UIs (Open WebUI and others) use, on the
// same port as /v1, added to the one route table (route_table.h):
//
//   GET  /api/version    {"version"}                                  public
//   GET  /api/tags       the served models, Ollama's list shape        tenant
//   GET  /api/ps         the loaded models (expires_at, size_vram)     tenant
//   POST /api/show       details, model_info, template, capabilities  tenant
//   POST /api/chat       NDJSON stream (or one object: "stream": false) tenant
//   POST /api/generate   the same, "response" instead of "message"     tenant
//   POST /api/pull       a Hugging Face repo id into the HF cache,     admin
//                        NDJSON progress (hub/pull.h)
//
// /api/chat and /api/generate are translated into the OpenAI body
// (ollama_request.h) and go through the service's one generation path
// (prepare_generation: validation, model access, sampling rule, caps; the
// waiting gate; tenancy admission and usage; the engine), answered by an
// OllamaOutput (ollama_format.h). Without messages (chat) or prompt
// (generate) they load the model and wait for it, as Ollama does (done_reason
// "load"); with keep_alive 0 they unload it (done_reason "unload"). Model names are the registry's
// served names and aliases (a repo id for a model served from the HF cache); "NAME:latest" is NAME.
// Errors are Ollama's {"error": "..."} with 400 / 401 / 403 / 404 / 429 / 500 (the service wraps
// /api/ responses in ollama_errors()). /api/pull needs an admin key with tenancy (it writes to the
// server's disk); model names there are Hugging Face repo ids (ORG/NAME[@REVISION]), not Ollama
// library names, and a pulled model is in the cache for `yun serve REPO`, not served at once.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "yun/engine/engine.h"
#include "yun/serve/generation_job.h"
#include "yun/serve/model_registry.h"
#include "yun/serve/request_workers.h"
#include "yun/serve/route_table.h"

namespace yun::serve {

// Runs one generation through the service's path: `openai` holds the
// translated OpenAI body (and the original headers); chat: a chat
// completions body, else a completions body. Answers through `w`.
using OllamaGenerate =
    std::function<void(const HttpRequest& openai, const RequestContext& ctx, bool chat,
                       std::shared_ptr<JobOutput> output, std::shared_ptr<ResponseWriter> w)>;

struct OllamaApiContext {
  // The served models (model_registry.h): /api/tags lists every entry,
  // /api/ps the loaded ones, /api/chat and /api/generate without messages
  // or prompt load (keep_alive 0: unload) one; must outlive the routes.
  ModelRegistry* registry = nullptr;
  std::string version;
  bool reasoning = false;             // a reasoning parser is on (thinking is split out)
  RequestWorkers* workers = nullptr;  // file reads (tags, show) run here
  OllamaGenerate generate;
};

void add_ollama_routes(RouteTable& routes, OllamaApiContext ctx);

// Whether `path` is one of Ollama's (under /api/).
bool is_ollama_path(const std::string& path);

}  // namespace yun::serve
