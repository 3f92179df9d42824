// OpenAiService: the HTTP routes of `yun serve` on top of an Engine.
//
//   POST /v1/chat/completions   POST /v1/completions   GET /v1/models
//   POST /v1/responses (OpenAI's Responses API, stateless: translated to the
//     chat request it means, responses_request.h; answered as a Response or
//     its event stream, responses_format.h)
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
// engine and answers as JSON or SSE (generation_job.h). The engine, tokenizer, template and metrics
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
#include "yun/serve/generation_job.h"
#include "yun/serve/http_server.h"
#include "yun/serve/job_outcome.h"
#include "yun/serve/metrics.h"
#include "yun/serve/request_workers.h"
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
};

class OpenAiService {
 public:
  OpenAiService(ServiceOptions options, Engine* engine, std::shared_ptr<const Tokenizer> tokenizer,
                std::shared_ptr<const ChatTemplate> chat_template, Metrics* metrics);

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
                       std::shared_ptr<JobOutput> output = nullptr);
  // Request -> prompts + SamplingParams, shared by generation and render;
  // the same 4xx for the same bad body. Nothing is reserved or submitted.
  std::optional<ApiError> prepare_generation(const HttpRequest& http, const RequestContext& ctx,
                                             bool chat, PreparedGeneration& out) const;
  // prepare_generation after the body is parsed into out.request.
  std::optional<ApiError> prepare_parsed(const RequestContext& ctx, bool chat,
                                         PreparedGeneration& out) const;
  // Admission (--max-waiting, tenant limits), then the job is submitted.
  void start_job(const RequestContext& ctx, PreparedGeneration prepared,
                 std::shared_ptr<ResponseWriter> w, std::shared_ptr<JobOutput> output);
  // POST /v1/responses.
  void handle_responses(const HttpRequest& req, const RequestContext& ctx,
                        std::shared_ptr<ResponseWriter> w);
  // POST /v1/chat/completions/render and /v1/completions/render.
  void handle_render(const HttpRequest& http, const RequestContext& ctx, bool chat,
                     std::shared_ptr<ResponseWriter> w);
  // With tenancy, after prepare_generation's checks (allowed model,
  // max_tokens cap): the ledger is up and the limits admit `reserve_tokens`;
  // fills the job's admission, headers and engine meta. False when it
  // answered with an error.
  bool admit_tenant(const RequestContext& ctx, int64_t reserve_tokens, JobSetup& setup,
                    ResponseWriter& w);
  void handle_health(std::shared_ptr<ResponseWriter> w);
  void handle_ready(std::shared_ptr<ResponseWriter> w);
  void handle_tokenize(const HttpRequest& req, std::shared_ptr<ResponseWriter> w);
  void handle_detokenize(const HttpRequest& req, std::shared_ptr<ResponseWriter> w);
  std::string models_json(const RequestContext& ctx) const;
  bool model_known(const std::string& name) const;

  ServiceOptions options_;
  Engine* engine_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::shared_ptr<const ChatTemplate> chat_template_;
  Metrics* metrics_;
  int64_t created_;
  int64_t max_request_tokens_;
  RouteTable routes_;
  CorsPolicy cors_;
  AdmissionGate waiting_gate_;
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
