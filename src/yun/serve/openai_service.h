// OpenAiService: the HTTP routes of `yun serve` on top of an Engine.
//
//   POST /v1/chat/completions   POST /v1/completions   GET /v1/models
//   POST /v1/embeddings (embeddings_api.h)
//   POST /v1/responses (OpenAI's Responses API: translated to the chat
//     request it means, responses_request.h; answered as a Response or its
//     event stream, responses_format.h; stored unless store is false, with
//     previous_response_id and item_reference resolved from the store,
//     responses_state.h, response_store.h: the tenancy database with
//     tenancy, else an in-memory LRU)
//   GET /v1/responses/{id}   DELETE /v1/responses/{id}
//   GET /v1/responses/{id}/input_items (a tenant sees only its own: 404)
//   POST /v1/chat/completions/render   POST /v1/completions/render
//   POST /tokenize  POST /detokenize  GET /health  GET /health/ready
//   GET /metrics  GET /version
//   /api/... (Ollama's API, ollama_api.h)
//   GET / (+ the playground's static files)
//
// handle() is an HttpHandler: requests whose body is larger than
// kInlineBodyBytes are handled on RequestWorkers, the rest on the io thread.
// It validates (request_parse.h), checks the API key (auth.h), the cost caps
// (prompts, sequences, --max-request-tokens) and the waiting queue
// (--max-waiting, AdmissionGate -> 429 with Retry-After), renders the chat template (then appends
// the start of a tool call when tool_choice forces one, tool_choice.h), tokenizes, submits to the
// engine and answers as JSON or SSE (generation_job.h).
//
// Models: every model-using route finds its model through the ModelRegistry
// (model_registry.h) with one lookup (lookup_model): the body's "model" ("" or
// absent: the default), 404 model_not_found for a name no entry has (or the
// key may not use), the body's "keep_alive" for the registry. A model that is
// not loaded is loaded on the registry's loader thread and the request goes on
// once it is (503 when the wait runs out, 500 model_load_failed when the load
// fails); the job holds its ModelHandle, so the model stays loaded while it
// streams. GET /v1/models lists every entry with a yun "status" (unloaded |
// loading | loaded | failed); GET /v1/yun/ps is the registry's snapshot()
// (`yun ps`). The one-engine constructor wraps its engine in a registry of one
// pinned model. The registry (or engine, tokenizer, template and metrics)
// must outlive the service.
//
// Health: /health is liveness (200 unless tenancy is unavailable);
// /health/ready is readiness: 503 until set_ready(true) (run_server calls it
// once the model has answered a warm-up request), 503 again after
// set_ready(false) (drain), and 503 while tenancy is unavailable.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "yun/engine/engine.h"
#include "yun/serve/admission_gate.h"
#include "yun/serve/api_error.h"
#include "yun/serve/cors.h"
#include "yun/serve/embeddings_api.h"
#include "yun/serve/generation_job.h"
#include "yun/serve/http_server.h"
#include "yun/serve/job_outcome.h"
#include "yun/serve/metrics.h"
#include "yun/serve/model_registry.h"
#include "yun/serve/request_workers.h"
#include "yun/serve/response_store.h"
#include "yun/serve/route_table.h"
#include "yun/tenancy/tenancy.h"
#include "yun/text/chat_template.h"
#include "yun/text/tokenizer.h"

namespace yun::serve {

struct ServiceOptions {
  std::vector<std::string> served_model_names;  // first is the default; non-empty
  std::vector<std::string> api_keys;            // empty: no auth
  std::string reasoning_parser;                 // "" or "qwen3"
  int64_t max_waiting = -1;                     // -1: unlimited (admission_gate.h)
  // Sum over a request's sequences of prompt + max_tokens (unset max_tokens
  // counts as the rest of the context); 0: 16 x max_model_len.
  int64_t max_request_tokens = 0;
  int request_workers = 2;  // threads for large bodies (request_workers.h)
  // Called once per generation request when it ends (job_outcome.h), on the
  // connection's strand; must be quick. Empty: nothing recorded.
  std::function<void(const JobOutcome&)> on_job_complete;
  std::string web_dir;                          // "" : no playground
  std::string version = "0.0.0";
  std::string model_root;  // the model directory, for /v1/models
  // The cloud layer (--state-dir / --db): keys, limits, usage ledger, admin
  // API. Null: api_keys above (or none) and no ledger. Must outlive the service.
  tenancy::Tenancy* tenancy = nullptr;
  // --allowed-origins: CORS (cors.h); empty: none.
  std::vector<std::string> allowed_origins;
  // Stored Responses without tenancy (response_store.h): the in-memory LRU's bounds.
  size_t max_stored_responses = kDefaultMaxStoredResponses;
  size_t max_stored_response_bytes = kDefaultMaxStoredResponseBytes;
};

// A generation request as the engine will see it: the parsed body, each
// prompt's token ids (chat template rendered, a forced tool call's start
// appended, tokenized), each prompt's resolved SamplingParams (the model's
// defaults, the key's max_tokens cap) and the job's settings. One function,
// OpenAiService::prepare_generation, fills it for generation and for the
// render routes alike, so render never drifts from what generation submits.
struct PreparedGeneration {
  OpenAiRequest request;
  JobSetup setup;                      // model_name, prompts, prompt_texts, parser flags
  std::vector<SamplingParams> params;  // one per prompt
  int64_t requested_tokens = 0;        // sum over sequences of prompt + max_tokens
  // The model it runs on (keeps it loaded). Set by the caller when it has it
  // already; null after prepare_generation when the model must load first.
  ModelHandle model;
};

class OpenAiService {
 public:
  // One model, already loaded: served_model_names[0] is its name, the
  // rest its aliases.
  OpenAiService(ServiceOptions options, Engine* engine, std::shared_ptr<const Tokenizer> tokenizer,
                std::shared_ptr<const ChatTemplate> chat_template, Metrics* metrics);
  // The models of `registry` (served_model_names is ignored).
  OpenAiService(ServiceOptions options, ModelRegistry* registry);
  ~OpenAiService();

  // Bodies above this many bytes are parsed off the io thread.
  static constexpr size_t kInlineBodyBytes = 64 * 1024;

  void handle(HttpRequest req, std::shared_ptr<ResponseWriter> writer);
  // Requests admitted and not yet producing tokens (--max-waiting).
  int64_t num_waiting_admitted() const { return waiting_gate_.held(); }
  // Readiness (/health/ready); false at construction. Any thread.
  void set_ready(bool ready) { ready_.store(ready, std::memory_order_release); }
  bool ready() const { return ready_.load(std::memory_order_acquire); }

 private:
  void build_routes();  // the one route list (route_table.h)
  void route(const HttpRequest& req, std::shared_ptr<ResponseWriter> w);
  // `output`: another wire format than OpenAI's (the Ollama routes); null: OpenAI's.
  void handle_generate(const HttpRequest& req, const RequestContext& ctx, bool chat,
                       std::shared_ptr<ResponseWriter> w,
                       std::shared_ptr<JobOutput> output = nullptr, ModelHandle model = {});
  // Request -> prompts + SamplingParams, shared by generation and render;
  // the same 4xx for the same bad body. Nothing is reserved or submitted.
  std::optional<ApiError> prepare_generation(const HttpRequest& http, const RequestContext& ctx,
                                             bool chat, PreparedGeneration& out) const;
  // prepare_generation after the body is parsed into out.request (`body`:
  // the raw body, for its keep_alive). out.model null on success: the model
  // must load first (when_loaded), then call again with it.
  std::optional<ApiError> prepare_parsed(const std::string& body, const RequestContext& ctx,
                                         bool chat, PreparedGeneration& out) const;
  // Admission (--max-waiting, tenant limits), then the job is submitted.
  // REQUIRES: prepared.model (the job holds it until it ends).
  void start_job(const RequestContext& ctx, PreparedGeneration prepared,
                 std::shared_ptr<ResponseWriter> w, std::shared_ptr<JobOutput> output);
  // POST /v1/responses: the body's stored references resolved (on a worker
  // when the store blocks), then run_responses.
  struct ResponsesCall;
  void handle_responses(const HttpRequest& req, const RequestContext& ctx,
                        std::shared_ptr<ResponseWriter> w);
  void resolve_responses(std::shared_ptr<ResponsesCall> call, std::shared_ptr<ResponseWriter> w);
  void run_responses(std::shared_ptr<ResponsesCall> call, std::shared_ptr<ResponseWriter> w,
                     ModelHandle model = {});
  // GET / DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items.
  void handle_stored_response(const HttpRequest& req, const RequestContext& ctx,
                              std::shared_ptr<ResponseWriter> w);
  // POST /v1/chat/completions/render and /v1/completions/render.
  void handle_render(const HttpRequest& http, const RequestContext& ctx, bool chat,
                     std::shared_ptr<ResponseWriter> w, ModelHandle model = {});
  // The one model lookup (see the top of this file): `out` is the handle
  // when the model is loaded, null when it must load first (keep_alive_s
  // then says what the body asked for). Errors: 404, 400 (bad keep_alive).
  std::optional<ApiError> lookup_model(const std::string& name, const std::string& body,
                                       const RequestContext& ctx, ModelHandle& out,
                                       std::optional<double>* keep_alive_s = nullptr) const;
  // Loads the model `name` (named by the request) and then calls
  // `then(request, ctx, w, handle)` on the connection's strand (a worker for
  // a large body), or answers the load's error.
  using Continue = ModelContinue;  // embeddings_api.h
  void when_loaded(const std::string& name, const HttpRequest& http, const RequestContext& ctx,
                   std::shared_ptr<ResponseWriter> w, Continue then);
  // lookup_model, then `then` at once when the model is loaded, else after
  // when_loaded: the one model path of routes that need no more than that.
  void with_model(const std::string& name, const HttpRequest& http, const RequestContext& ctx,
                  std::shared_ptr<ResponseWriter> w, Continue then);
  // The largest request (--max-request-tokens) for `model`.
  int64_t max_request_tokens(const LoadedModel& model) const;
  // With tenancy, after prepare_generation's checks (allowed model,
  // max_tokens cap): the ledger is up and the limits admit `reserve_tokens`;
  // fills the job's admission, headers and engine meta. False when it
  // answered with an error.
  bool admit_tenant(const RequestContext& ctx, int64_t reserve_tokens, JobSetup& setup,
                    ResponseWriter& w);
  void handle_health(std::shared_ptr<ResponseWriter> w);
  void handle_ready(std::shared_ptr<ResponseWriter> w);
  void handle_tokenize(const HttpRequest& req, const RequestContext& ctx,
                       std::shared_ptr<ResponseWriter> w, ModelHandle model = {});
  void handle_detokenize(const HttpRequest& req, const RequestContext& ctx,
                         std::shared_ptr<ResponseWriter> w, ModelHandle model = {});
  std::string models_json(const RequestContext& ctx) const;
  OJson model_json(const ModelSnapshot& s) const;  // one /v1/models entry
  std::string ps_json(const RequestContext& ctx) const;  // GET /v1/yun/ps
  std::string render_metrics() const;
  // What POST /v1/embeddings needs of the service (embeddings_api.h).
  EmbeddingsContext embeddings_context();

  ServiceOptions options_;
  std::unique_ptr<ModelRegistry> own_registry_;  // the one-engine constructor's
  ModelRegistry* registry_;
  int64_t created_;
  RouteTable routes_;
  CorsPolicy cors_;
  AdmissionGate waiting_gate_;
  // Stored Responses (response_store.h); before workers_, whose tasks use it.
  std::unique_ptr<ResponseStore> responses_;
  RequestWorkers workers_;
  std::atomic<bool> ready_{false};
};

// What the engine learns of a tenant (engine/request_meta.h): an opaque id
// (a hash of the tenant id), its weight and priority, and its prefix-cache
// salt (0, the shared cache, when the tenant set share_prefix_cache).
RequestMeta engine_meta(const tenancy::Tenant& t);

// Sends an ApiError as a complete JSON response (Retry-After: 1 on 429/503
// unless `headers` has one, WWW-Authenticate on 401), with `headers` added.
void send_error(ResponseWriter& w, const ApiError& e,
                std::vector<std::pair<std::string, std::string>> headers = {});

}  // namespace yun::serve
