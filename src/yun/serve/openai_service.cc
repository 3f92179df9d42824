#include "yun/serve/openai_service.h"

#include "yun/base/log.h"
#include "yun/serve/admin_api.h"
#include "yun/serve/admin_query.h"
#include "yun/serve/auth.h"
#include "yun/serve/embeddings_api.h"
#include "yun/serve/generation_job.h"
#include "yun/serve/kv_events.h"
#include "yun/serve/metrics_merge.h"
#include "yun/serve/ollama_api.h"
#include "yun/serve/ollama_format.h"
#include "yun/serve/openai_format.h"
#include "yun/serve/reasoning_parser.h"
#include "yun/serve/request_parse.h"
#include "yun/serve/responses_format.h"
#include "yun/serve/responses_request.h"
#include "yun/serve/responses_state.h"
#include "yun/serve/static_files.h"
#include "yun/serve/structured_output.h"
#include "yun/serve/tool_choice.h"

namespace yun::serve {

void send_error(ResponseWriter& w, const ApiError& e,
                std::vector<std::pair<std::string, std::string>> headers) {
  HttpResponse r{e.http_status, "application/json", e.to_json(), std::move(headers)};
  bool has_retry = false;
  for (auto& [k, v] : r.headers) has_retry |= k == "Retry-After";
  // A spent budget has no Retry-After unless the caller gave one (the period's reset).
  if ((e.http_status == 429 || e.http_status == 503) && !has_retry && e.code != "insufficient_quota") {
    r.headers.push_back({"Retry-After", "1"});
  }
  if (e.http_status == 401) r.headers.push_back({"WWW-Authenticate", "Bearer"});
  w.send(std::move(r));
}

namespace {

void send_json(ResponseWriter& w, const OJson& j) {
  w.send(HttpResponse{200, "application/json", dump_json(j), {}});
}

}  // namespace

OpenAiService::OpenAiService(ServiceOptions options, Engine* engine,
                             std::shared_ptr<const Tokenizer> tokenizer,
                             std::shared_ptr<const ChatTemplate> chat_template, Metrics* metrics)
    : OpenAiService(std::move(options), nullptr) {
  // One pinned, already loaded model that is not ours to shut down.
  own_registry_ = std::make_unique<ModelRegistry>();
  ModelSpec spec;
  spec.name = options_.served_model_names.empty() ? "default" : options_.served_model_names[0];
  for (size_t i = 1; i < options_.served_model_names.size(); ++i) {
    spec.aliases.push_back(options_.served_model_names[i]);
  }
  spec.source = options_.model_root.empty() ? spec.name : options_.model_root;
  LoadedModel m;
  m.model_dir = options_.model_root;
  m.engine = std::shared_ptr<Engine>(engine, [](Engine*) {});
  m.tokenizer = std::move(tokenizer);
  m.chat_template = std::move(chat_template);
  m.metrics = metrics;
  (void)own_registry_->add_loaded(std::move(spec), std::move(m));
  registry_ = own_registry_.get();
  build_routes();
}

OpenAiService::OpenAiService(ServiceOptions options, ModelRegistry* registry)
    : options_(std::move(options)),
      registry_(registry),
      created_(unix_time_now()),
      cors_(options_.allowed_origins),
      waiting_gate_(options_.max_waiting),
      responses_(options_.tenancy ? tenancy_response_store(options_.tenancy->store())
                                  : memory_response_store(options_.max_stored_responses,
                                                          options_.max_stored_response_bytes)),
      workers_(std::max(options_.request_workers, 1)) {
  if (registry_) {
    options_.served_model_names = registry_->names();
    build_routes();
  }
}

OpenAiService::~OpenAiService() {
  // Pending loads answer (cancelled) while the workers and writers still exist.
  if (own_registry_) own_registry_->shutdown();
}

namespace {

// The body's "keep_alive", when it has one (looked for only when the body
// mentions it, so other requests pay no second parse).
std::optional<ApiError> body_keep_alive(const std::string& body, std::optional<double>& out) {
  if (body.find("\"keep_alive\"") == std::string::npos) return std::nullopt;
  OJson j;
  if (parse_json_object(body, j)) return std::nullopt;  // the body's own parser reports it
  auto it = j.find("keep_alive");
  if (it == j.end() || it->is_null()) return std::nullopt;
  auto v = keep_alive_from_json(*it);
  if (!v.is_ok()) return bad_request(v.status().message(), "keep_alive");
  out = *v;
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> OpenAiService::lookup_model(const std::string& name,
                                                    const std::string& body,
                                                    const RequestContext& ctx, ModelHandle& out,
                                                    std::optional<double>* keep_alive_s) const {
  auto entry = registry_->resolve(name);
  if (!entry) return not_found_error("The model `" + name + "` does not exist.");
  const std::string& shown = name.empty() ? *entry : name;
  if (ctx.principal.identity && !ctx.principal.identity->allows_model(shown)) {
    return not_found_error("The model `" + shown +
                           "` does not exist or you do not have access to it.");
  }
  std::optional<double> keep_alive;
  if (auto e = body_keep_alive(body, keep_alive)) return e;
  if (keep_alive_s) *keep_alive_s = keep_alive;
  if (out) return std::nullopt;  // the caller has it (loaded for this request)
  auto h = registry_->try_acquire(*entry, keep_alive);
  if (!h.is_ok()) return model_acquire_error(h.status(), false);
  out = std::move(*h);
  return std::nullopt;
}

void OpenAiService::when_loaded(const std::string& name, const HttpRequest& http,
                                const RequestContext& ctx, std::shared_ptr<ResponseWriter> w,
                                Continue then) {
  std::optional<double> keep_alive;
  ModelHandle none;
  if (auto e = lookup_model(name, http.body, ctx, none, &keep_alive)) return send_error(*w, *e);
  if (none) return then(http, ctx, std::move(w), std::move(none));  // loaded meanwhile
  auto req = std::make_shared<const HttpRequest>(http);
  auto c = std::make_shared<const RequestContext>(ctx);
  registry_->acquire_async(
      *registry_->resolve(name), keep_alive,
      [this, req, c, w, then = std::move(then), known = registry_->resolve(name).has_value()](
          Result<ModelHandle> r) {
        // On the loader thread (or here): the rest runs where requests run.
        auto result = std::make_shared<Result<ModelHandle>>(std::move(r));
        auto cont = [req, c, w, then, result, known] {
          try {
            if (!result->is_ok()) return send_error(*w, model_acquire_error(result->status(), known));
            then(*req, *c, w, std::move(**result));
          } catch (const std::exception& e) {
            send_error(*w, server_error(std::string("internal error: ") + e.what()));
          }
        };
        if (req->body.size() > kInlineBodyBytes) {
          workers_.post(std::move(cont));
        } else {
          w->post(std::move(cont));
        }
      });
}

int64_t OpenAiService::max_request_tokens(const LoadedModel& model) const {
  return options_.max_request_tokens > 0
             ? options_.max_request_tokens
             : int64_t{16} * std::max(model.engine->max_model_len(), 1);
}

OJson OpenAiService::model_json(const ModelSnapshot& snap) const {
  OJson m;
  m["id"] = snap.name;
  m["object"] = "model";
  m["created"] = created_;
  m["owned_by"] = "yun";
  m["root"] = snap.source;
  m["parent"] = nullptr;
  if (snap.max_model_len > 0) m["max_model_len"] = snap.max_model_len;
  // yun's: the registry's state of the model (model_registry.h).
  m["status"] = model_state_name(snap.state);
  if (snap.state == ModelState::kFailed) m["error"] = snap.error;
  return m;
}

void OpenAiService::with_model(const std::string& name, const HttpRequest& http,
                               const RequestContext& ctx, std::shared_ptr<ResponseWriter> w,
                               Continue then) {
  ModelHandle model;
  if (auto e = lookup_model(name, http.body, ctx, model)) return send_error(*w, *e);
  if (model) return then(http, ctx, std::move(w), std::move(model));
  when_loaded(name, http, ctx, std::move(w), std::move(then));
}

EmbeddingsContext OpenAiService::embeddings_context() {
  EmbeddingsContext c;
  c.waiting_gate = &waiting_gate_;
  c.max_waiting = options_.max_waiting;
  c.with_model = [this](const std::string& model, const HttpRequest& http,
                        const RequestContext& ctx, std::shared_ptr<ResponseWriter> w,
                        ModelContinue then) {
    with_model(model, http, ctx, std::move(w), std::move(then));
  };
  c.max_request_tokens = [this](const LoadedModel& m) { return max_request_tokens(m); };
  c.admit_tenant = [this](const RequestContext& ctx, int64_t reserve, JobSetup& setup,
                          ResponseWriter& w) { return admit_tenant(ctx, reserve, setup, w); };
  c.on_complete = options_.on_job_complete;
  return c;
}

std::string OpenAiService::models_json(const RequestContext& ctx) const {
  OJson data = OJson::array();
  for (const auto& snap : registry_->snapshot()) {
    std::vector<std::string> ids = {snap.name};
    ids.insert(ids.end(), snap.aliases.begin(), snap.aliases.end());
    for (const auto& id : ids) {
      if (ctx.principal.identity && !ctx.principal.identity->allows_model(id)) continue;
      OJson m = model_json(snap);
      m["id"] = id;
      data.push_back(std::move(m));
    }
  }
  return dump_json(OJson{{"object", "list"}, {"data", std::move(data)}});
}

std::string OpenAiService::ps_json(const RequestContext& ctx) const {
  OJson models = OJson::array();
  for (const auto& s : registry_->snapshot()) {
    if (ctx.principal.identity && !ctx.principal.identity->allows_model(s.name)) continue;
    OJson m;
    m["name"] = s.name;
    m["aliases"] = s.aliases;
    m["source"] = s.source;
    m["default"] = s.is_default;
    m["status"] = model_state_name(s.state);
    if (s.state == ModelState::kFailed) m["error"] = s.error;
    m["weights_bytes"] = s.weight_bytes;
    m["kv_cache_bytes"] = s.kv_cache_bytes;
    m["memory_bytes"] = s.state == ModelState::kLoaded ? s.weight_bytes + s.kv_cache_bytes : 0;
    m["kv_cache_usage"] = s.kv_cache_usage;
    m["running"] = s.num_running;
    m["waiting"] = s.num_waiting;
    m["in_use"] = s.in_use;
    m["max_model_len"] = s.max_model_len > 0 ? OJson(s.max_model_len) : OJson(nullptr);
    m["idle_seconds"] = s.idle_s;
    m["keep_alive_seconds"] = s.keep_alive_s;  // < 0: pinned
    m["expires_in_seconds"] = s.expires_in_s >= 0 ? OJson(s.expires_in_s) : OJson(nullptr);
    m["expires_at"] = s.expires_at > 0 ? OJson(s.expires_at) : OJson(nullptr);
    m["loads"] = s.loads;
    models.push_back(std::move(m));
  }
  return dump_json(OJson{{"object", "list"}, {"models", std::move(models)}});
}

std::string OpenAiService::render_metrics() const {
  std::vector<std::string> parts;
  registry_->for_each_loaded([&](const LoadedModel& m) {
    if (m.metrics) parts.push_back(m.metrics->render(m.engine->stats()));
  });
  return merge_prometheus_families(parts);
}

void OpenAiService::handle(HttpRequest req, std::shared_ptr<ResponseWriter> w) {
  if (req.body.size() > kInlineBodyBytes) {
    workers_.post([this, req = std::move(req), w = std::move(w)] { route(req, w); });
    return;
  }
  route(req, w);
}

void OpenAiService::build_routes() {
  auto json_route = [](std::function<std::string()> body) {
    return [body = std::move(body)](const HttpRequest&, const RequestContext&,
                                    std::shared_ptr<ResponseWriter> w) {
      w->send(HttpResponse{200, "application/json", body(), {}});
    };
  };
  using A = Access;
  auto gen = [this](bool chat) {
    return [this, chat](const HttpRequest& r, const RequestContext& ctx,
                        std::shared_ptr<ResponseWriter> w) { handle_generate(r, ctx, chat, w); };
  };
  routes_.add({"POST", "/v1/chat/completions", A::kTenant, gen(true)});
  routes_.add({"POST", "/v1/completions", A::kTenant, gen(false)});
  routes_.add({"POST", "/v1/responses", A::kTenant,
               [this](const HttpRequest& r, const RequestContext& ctx,
                      std::shared_ptr<ResponseWriter> w) { handle_responses(r, ctx, w); }});
  auto stored = [this](const HttpRequest& r, const RequestContext& ctx,
                       std::shared_ptr<ResponseWriter> w) { handle_stored_response(r, ctx, w); };
  routes_.add({"GET", "/v1/responses/", A::kTenant, stored});
  routes_.add({"DELETE", "/v1/responses/", A::kTenant, stored});
  // vLLM's render endpoints: the token ids and resolved sampling parameters
  // generation would use (prepare_generation), without generating.
  auto render = [this](bool chat) {
    return [this, chat](const HttpRequest& r, const RequestContext& ctx,
                        std::shared_ptr<ResponseWriter> w) { handle_render(r, ctx, chat, w); };
  };
  routes_.add({"POST", "/v1/chat/completions/render", A::kTenant, render(true)});
  routes_.add({"POST", "/v1/completions/render", A::kTenant, render(false)});
  // Embeddings from whatever model is loaded (embeddings_api.h).
  routes_.add({"POST", "/v1/embeddings", A::kTenant, embeddings_handler(embeddings_context())});
  routes_.add({"GET", "/v1/models", A::kTenant,
               [this](const HttpRequest&, const RequestContext& ctx, std::shared_ptr<ResponseWriter> w) {
                 w->send(HttpResponse{200, "application/json", models_json(ctx), {}});
               }});
  routes_.add({"GET", "/v1/models/", A::kTenant,
               [this](const HttpRequest& r, const RequestContext& ctx, std::shared_ptr<ResponseWriter> w) {
                 std::string name = r.path.substr(11);
                 auto entry = registry_->resolve(name);
                 if (name.empty() || !entry ||
                     (ctx.principal.identity && !ctx.principal.identity->allows_model(name))) {
                   return send_error(*w, not_found_error("The model `" + name + "` does not exist."));
                 }
                 for (const auto& snap : registry_->snapshot()) {
                   if (snap.name != *entry) continue;
                   OJson m = model_json(snap);
                   m["id"] = name;
                   return send_json(*w, m);
                 }
                 send_error(*w, not_found_error("The model `" + name + "` does not exist."));
               }});
  // yun's `ps`: every model's state, memory, KV use, idle time and keep-alive.
  routes_.add({"GET", "/v1/yun/ps", A::kTenant,
               [this](const HttpRequest&, const RequestContext& ctx, std::shared_ptr<ResponseWriter> w) {
                 w->send(HttpResponse{200, "application/json", ps_json(ctx), {}});
               }});
  routes_.add({"POST", "/tokenize", A::kTenant,
               [this](const HttpRequest& r, const RequestContext& ctx,
                      std::shared_ptr<ResponseWriter> w) { handle_tokenize(r, ctx, w); }});
  routes_.add({"POST", "/detokenize", A::kTenant,
               [this](const HttpRequest& r, const RequestContext& ctx,
                      std::shared_ptr<ResponseWriter> w) { handle_detokenize(r, ctx, w); }});
  routes_.add({"GET", "/health", A::kPublic,
               [this](const HttpRequest&, const RequestContext&, std::shared_ptr<ResponseWriter> w) {
                 handle_health(std::move(w));
               }});
  routes_.add({"GET", "/health/ready", A::kPublic,
               [this](const HttpRequest&, const RequestContext&, std::shared_ptr<ResponseWriter> w) {
                 handle_ready(std::move(w));
               }});
  routes_.add({"GET", "/metrics", A::kPublic,
               [this](const HttpRequest&, const RequestContext&, std::shared_ptr<ResponseWriter> w) {
                 std::string text = render_metrics();
                 if (options_.tenancy) text += options_.tenancy->render_metrics();
                 w->send(HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                                      std::move(text), {}});
               }});
  routes_.add({"GET", "/version", A::kPublic,
               json_route([this] { return dump_json(OJson{{"version", options_.version}}); })});
  if (options_.tenancy) {
    AdminApiContext admin;
    admin.tenancy = options_.tenancy;
    admin.workers = &workers_;
    admin.engine_stats = [registry = registry_] { return registry->total_stats(); };
    admin.web_dir = options_.web_dir;
    add_admin_routes(routes_, admin);
  }
  OllamaApiContext ollama;
  ollama.registry = registry_;
  ollama.version = options_.version;
  ollama.reasoning = !options_.reasoning_parser.empty();
  ollama.workers = &workers_;
  ollama.generate = [this](const HttpRequest& r, const RequestContext& ctx, bool chat,
                           std::shared_ptr<JobOutput> out, std::shared_ptr<ResponseWriter> w) {
    handle_generate(r, ctx, chat, std::move(w), std::move(out));
  };
  add_ollama_routes(routes_, std::move(ollama));
}

void OpenAiService::handle_health(std::shared_ptr<ResponseWriter> w) {
  if (options_.tenancy) {
    std::string why = options_.tenancy->unavailable_reason();
    if (!why.empty()) {
      return send_error(*w, ApiError{503, why, "server_error", "", "service_unavailable"});
    }
  }
  w->send(HttpResponse{200, "application/json", "", {}});
}

void OpenAiService::handle_ready(std::shared_ptr<ResponseWriter> w) {
  if (!ready()) {
    return send_error(*w, ApiError{503, "not ready (loading, warming up or draining)",
                                   "server_error", "", "service_unavailable"});
  }
  handle_health(std::move(w));
}

void OpenAiService::route(const HttpRequest& req, std::shared_ptr<ResponseWriter> w) {
  try {
    const std::string& path = req.path;
    RouteTable::Match m = routes_.find(req.method, path);
    if (cors_.enabled()) {
      std::string origin = req.header("origin");
      if (req.method == "OPTIONS" && !origin.empty() &&
          !req.header("access-control-request-method").empty()) {
        if (cors_.allow_origin(origin).empty()) {
          return send_error(*w, ApiError{403, "origin " + origin + " is not allowed (--allowed-origins)",
                                         "invalid_request_error", "", ""});
        }
        if (m.allowed.empty()) {
          return send_error(*w, ApiError{404, "no route for " + path, "invalid_request_error", "", ""});
        }
        return w->send(cors_.preflight(req, m.allowed));
      }
      w = with_headers(std::move(w), cors_.response_headers(origin));
    }
    if (is_ollama_path(path)) w = ollama_errors(std::move(w));  // {"error": "..."} as Ollama
    // A matched route's own rule; else the strictest rule of the path's other
    // methods (a 405); unknown paths under /v1/ need a key too (no route
    // listing for strangers).
    Access access = m.route ? m.route->access : routes_.access_for(path);
    if (!m.route && m.allowed.empty() && path.rfind("/v1/", 0) == 0) access = Access::kTenant;
    RequestContext ctx;
    if (access != Access::kPublic && options_.tenancy) {
      std::string bearer = bearer_token(req.header("authorization"));
      auto a = options_.tenancy->authenticate(bearer);
      if (!a.identity) {
        const char* msg = tenancy::auth_failure_message(a.failure);
        if (a.failure == tenancy::AuthFailure::kSuspended) {
          return send_error(*w, ApiError{403, msg, "invalid_request_error", "", "permission_denied"});
        }
        return send_error(*w, unauthorized(msg));
      }
      if (access == Access::kAdmin && !a.identity->admin()) {
        return send_error(*w, ApiError{403, "this route needs an admin-scoped key",
                                       "invalid_request_error", "", "permission_denied"});
      }
      ctx.principal.tenant = a.identity->tenant.id;
      ctx.principal.key_id = a.identity->key.id;
      ctx.principal.admin = a.identity->admin();
      ctx.principal.identity = std::move(a.identity);
    } else if (access != Access::kPublic && !options_.api_keys.empty()) {
      auto who = authenticate_bearer(req.header("authorization"), options_.api_keys);
      if (!who) {
        return send_error(
            *w, unauthorized("missing or invalid API key (send Authorization: Bearer KEY)"));
      }
      ctx.principal = std::move(*who);
    }
    if (m.route) return m.route->handler(req, ctx, w);
    if (req.method == "GET" && m.allowed.empty()) {
      if (auto f = read_static_file(options_.web_dir, path)) {
        w->send(HttpResponse{200, f->content_type, std::move(f->body), {}});
        return;
      }
    }
    if (!m.allowed.empty()) {
      send_error(*w,
                 ApiError{405, "method " + req.method + " not allowed for " + path,
                          "invalid_request_error", "", ""},
                 {{"Allow", m.allowed}});
    } else {
      send_error(*w, ApiError{404, "no route for " + req.method + " " + path,
                              "invalid_request_error", "", ""});
    }
  } catch (const std::exception& e) {
    send_error(*w, server_error(std::string("internal error: ") + e.what()));
  }
}

std::optional<ApiError> OpenAiService::prepare_generation(const HttpRequest& http,
                                                          const RequestContext& ctx, bool chat,
                                                          PreparedGeneration& out) const {
  auto err = chat ? parse_chat_request(http.body, out.request)
                  : parse_completion_request(http.body, out.request);
  if (err) return err;
  return prepare_parsed(http.body, ctx, chat, out);
}

std::optional<ApiError> OpenAiService::prepare_parsed(const std::string& body,
                                                      const RequestContext& ctx, bool chat,
                                                      PreparedGeneration& out) const {
  OpenAiRequest& req = out.request;
  JobSetup& setup = out.setup;
  if (auto e = lookup_model(req.model, body, ctx, out.model)) return e;
  if (!out.model) return std::nullopt;  // not loaded yet: the caller loads it and calls again
  // The model's parts, named as the members they replaced.
  Engine* engine_ = out.model->engine.get();
  const std::shared_ptr<const Tokenizer>& tokenizer_ = out.model->tokenizer;
  const std::shared_ptr<const ChatTemplate>& chat_template_ = out.model->chat_template;
  const int64_t max_request_tokens_ = max_request_tokens(*out.model);
  setup.model_name = req.model.empty() ? out.model->name : req.model;
  StructuredOutputContext structured;  // structured output (structured_output.h)
  if (chat) {
    if (!chat_template_) return bad_request("this model has no chat template");
    if (!tokenizer_) return bad_request("this model has no tokenizer");
    ChatTemplateInputs in;
    in.messages = req.messages;
    in.tools = req.tools;
    in.add_generation_prompt = req.add_generation_prompt;
    in.extra = req.chat_template_kwargs;
    in.bos_token = tokenizer_->bos_token();
    in.eos_token = tokenizer_->eos_token();
    auto prompt = chat_template_->render(in);
    if (!prompt.is_ok()) {
      return bad_request("chat template: " + prompt.status().message(), "messages");
    }
    ForcedToolCall forced = forced_tool_call(req, *prompt);
    std::string text = *prompt + forced.prompt_suffix;
    setup.prompts.push_back(tokenizer_->encode(text));
    setup.reasoning = options_.reasoning_parser == "qwen3";
    setup.starts_in_reasoning = setup.reasoning && ReasoningParser::prompt_opens_reasoning(text);
    setup.parse_tools = !req.tools.is_null();
    setup.tool_reply_prefix = std::move(forced.reply_prefix);
    structured.strict_tool_call = forced.strict;
    // A forced call's start already opens the reply: no reasoning comes first.
    structured.reasoning_first =
        setup.reasoning && forced.prompt_suffix.empty() && reasoning_precedes_output(req, text);
  } else if (req.prompt_is_ids) {
    int64_t vocab = tokenizer_ ? tokenizer_->vocab_size() : engine_->model_config().vocab_size;
    vocab = std::max<int64_t>(vocab, engine_->model_config().vocab_size);
    for (auto& ids : req.prompt_ids) {
      if (auto e = check_token_ids(ids, vocab, "prompt")) return e;
      setup.prompt_texts.push_back(tokenizer_ ? tokenizer_->decode(ids, false) : "");
      setup.prompts.push_back(ids);
    }
  } else {
    if (!tokenizer_) return bad_request("this model has no tokenizer; send token ids");
    for (auto& text : req.prompt_texts) {
      setup.prompts.push_back(tokenizer_->encode(text));
      setup.prompt_texts.push_back(text);
    }
  }

  std::vector<SamplingParams>& params = out.params;
  params.assign(setup.prompts.size(), SamplingParams{});
  for (size_t p = 0; p < setup.prompts.size(); ++p) {
    if (auto e = resolve_sampling_params(req, engine_->model_config().generation,
                                         static_cast<int64_t>(setup.prompts[p].size()),
                                         engine_->max_model_len(), params[p])) {
      return e;
    }
  }
  structured.tokenizer = tokenizer_.get();
  structured.model = &engine_->model_config();
  if (auto e = apply_structured_output(req, structured, *out.model->grammars, params)) return e;
  if (ctx.principal.identity) {
    // The key's and its tenant's max_tokens cap: an explicit larger value is
    // an error; the default (the rest of the context) is lowered to it.
    const auto& who = *ctx.principal.identity;
    std::optional<int64_t> cap = who.tenant.limits.max_tokens;
    if (who.key.limits.max_tokens && (!cap || *who.key.limits.max_tokens < *cap)) {
      cap = who.key.limits.max_tokens;
    }
    if (cap) {
      if (req.max_tokens && *req.max_tokens > *cap) {
        return bad_request("max_tokens " + std::to_string(*req.max_tokens) +
                               " is more than this key's limit of " + std::to_string(*cap),
                           "max_tokens");
      }
      for (auto& p : params) p.max_tokens = static_cast<int32_t>(std::min<int64_t>(p.max_tokens, *cap));
    }
  }
  int64_t requested = 0;
  for (size_t p = 0; p < setup.prompts.size(); ++p) {
    requested += (static_cast<int64_t>(setup.prompts[p].size()) + params[p].max_tokens) * req.n;
  }
  if (requested > max_request_tokens_) {
    return bad_request("this request asks for up to " + std::to_string(requested) +
                           " tokens (prompt + max_tokens over its " +
                           std::to_string(setup.prompts.size() * req.n) +
                           " sequences), more than this server's limit of " +
                           std::to_string(max_request_tokens_) +
                           " per request (--max-request-tokens); set a smaller max_tokens or n",
                       "max_tokens");
  }
  out.requested_tokens = requested;
  return std::nullopt;
}

void OpenAiService::handle_generate(const HttpRequest& http, const RequestContext& ctx, bool chat,
                                    std::shared_ptr<ResponseWriter> w,
                                    std::shared_ptr<JobOutput> output, ModelHandle model) {
  PreparedGeneration prepared;
  prepared.model = std::move(model);
  if (auto e = prepare_generation(http, ctx, chat, prepared)) return send_error(*w, *e);
  if (!prepared.model) {
    return when_loaded(prepared.request.model, http, ctx, std::move(w),
                       [this, chat, output](const HttpRequest& r, const RequestContext& c,
                                            std::shared_ptr<ResponseWriter> w2, ModelHandle h) {
                         handle_generate(r, c, chat, std::move(w2), output, std::move(h));
                       });
  }
  start_job(ctx, std::move(prepared), std::move(w), std::move(output));
}

// One POST /v1/responses as it goes from resolution to the job.
struct OpenAiService::ResponsesCall {
  HttpRequest http;
  RequestContext ctx;
  OJson body;
  StoredRefs refs;
  OJson input_items = OJson::array();  // the request's own, as stored
  OJson context = OJson::array();      // the previous_response_id chain's
  ResponsesRequest request;            // the translation of body + chain
};

void OpenAiService::handle_responses(const HttpRequest& http, const RequestContext& ctx,
                                     std::shared_ptr<ResponseWriter> w) {
  auto call = std::make_shared<ResponsesCall>();
  if (auto e = parse_json_object(http.body, call->body)) return send_error(*w, *e);
  if (auto e = parse_stored_refs(call->body, call->refs)) return send_error(*w, *e);
  call->http = http;
  call->ctx = ctx;
  const bool lookups = !call->refs.previous_response_id.empty() || !call->refs.item_ids.empty();
  if (lookups && responses_->blocking()) {
    return workers_.post([this, call, w] {
      try {
        resolve_responses(call, w);
      } catch (const std::exception& e) {
        send_error(*w, server_error(std::string("internal error: ") + e.what()));
      }
    });
  }
  resolve_responses(std::move(call), std::move(w));
}

void OpenAiService::resolve_responses(std::shared_ptr<ResponsesCall> call,
                                      std::shared_ptr<ResponseWriter> w) {
  // previous_response_id and item_reference items -> the stored items
  // (responses_state.h), then the stateless translation of the whole input.
  const std::string& tenant = call->ctx.principal.tenant;
  if (!call->refs.previous_response_id.empty()) {
    auto prev = responses_->get(tenant, call->refs.previous_response_id);
    if (!prev.is_ok()) return send_error(*w, error_from_status(prev.status()));
    if (!prev->has_value()) {
      ApiError e = response_not_found(call->refs.previous_response_id);
      e.param = "previous_response_id";
      return send_error(*w, e);
    }
    call->context = chain_items(**prev);
  }
  std::map<std::string, OJson> resolved;
  for (const std::string& id : call->refs.item_ids) {
    if (resolved.count(id)) continue;
    auto item = responses_->find_item(tenant, id);
    if (!item.is_ok()) return send_error(*w, error_from_status(item.status()));
    OJson j = item->has_value() ? OJson::parse(**item, nullptr, false) : OJson();
    if (!j.is_object()) return send_error(*w, item_not_found(id, "input"));
    resolved[id] = std::move(j);
  }
  auto input = call->body.find("input");
  if (input != call->body.end()) call->input_items = own_input_items(*input, resolved);
  std::string body = call->refs.previous_response_id.empty() && resolved.empty()
                         ? call->http.body
                         : dump_json(expanded_body(call->body, call->context, call->input_items));
  if (auto e = parse_responses_request(body, call->request)) return send_error(*w, *e);
  call->request.echo["previous_response_id"] = call->refs.previous_response_id.empty()
                                                   ? OJson(nullptr)
                                                   : OJson(call->refs.previous_response_id);
  run_responses(std::move(call), std::move(w));
}

void OpenAiService::run_responses(std::shared_ptr<ResponsesCall> call,
                                  std::shared_ptr<ResponseWriter> w, ModelHandle model) {
  // The chat path; only the answer's shape differs (ResponsesOutput, responses_format.h).
  PreparedGeneration prepared;
  prepared.request = call->request.chat;
  prepared.model = std::move(model);
  if (auto e = prepare_parsed(call->http.body, call->ctx, true, prepared)) {
    return send_error(*w, responses_error(*e));
  }
  if (!prepared.model) {
    return when_loaded(
        prepared.request.model, call->http, call->ctx, std::move(w),
        [this, call](const HttpRequest&, const RequestContext&, std::shared_ptr<ResponseWriter> w2,
                     ModelHandle h) { run_responses(call, std::move(w2), std::move(h)); });
  }
  ResponsesInfo info{make_response_id(), unix_time_now(), prepared.setup.model_name,
                     call->request.echo};
  auto output = std::make_shared<ResponsesOutput>(std::move(info), prepared.model->tokenizer);
  if (call->refs.store) {
    // Stored before its bytes go out, so the client can use it at once.
    output->keep_final([store = responses_.get(), call](const OJson& response) {
      Status s = store->put(
          response_row(call->ctx.principal.tenant, response, call->input_items, call->context));
      if (!s.is_ok()) YUN_LOG(kWarn, "responses: not stored: " + s.to_string());
    });
  }
  start_job(call->ctx, std::move(prepared), std::move(w), std::move(output));
}

void OpenAiService::handle_stored_response(const HttpRequest& http, const RequestContext& ctx,
                                           std::shared_ptr<ResponseWriter> w) {
  std::string id, sub;
  if (!parse_response_path(http.path, id, sub) || (http.method == "DELETE" && !sub.empty())) {
    return send_error(*w, ApiError{404, "no route for " + http.method + " " + http.path,
                                   "invalid_request_error", "", ""});
  }
  ItemListQuery q;
  if (!sub.empty()) {
    if (auto e = parse_item_list_query(query_params(http.target), q)) return send_error(*w, *e);
  }
  auto run = [this, id, sub, q, del = http.method == "DELETE", tenant = ctx.principal.tenant, w] {
    if (del) {
      auto gone = responses_->remove(tenant, id);
      if (!gone.is_ok()) return send_error(*w, error_from_status(gone.status()));
      if (!*gone) return send_error(*w, response_not_found(id));
      return send_json(*w, OJson{{"id", id}, {"object", "response.deleted"}, {"deleted", true}});
    }
    auto row = responses_->get(tenant, id);
    if (!row.is_ok()) return send_error(*w, error_from_status(row.status()));
    if (!row->has_value()) return send_error(*w, response_not_found(id));
    if (sub.empty()) return w->send(HttpResponse{200, "application/json", (*row)->body, {}});
    OJson items = OJson::parse((*row)->input_items, nullptr, false), list;
    if (auto e = item_list(items, q, list)) return send_error(*w, *e);
    send_json(*w, list);
  };
  if (!responses_->blocking()) return run();
  workers_.post([run, w] {
    try {
      run();
    } catch (const std::exception& e) {
      send_error(*w, server_error(std::string("internal error: ") + e.what()));
    }
  });
}

void OpenAiService::start_job(const RequestContext& ctx, PreparedGeneration prepared,
                              std::shared_ptr<ResponseWriter> w,
                              std::shared_ptr<JobOutput> output) {
  OpenAiRequest& req = prepared.request;
  JobSetup& setup = prepared.setup;
  std::vector<SamplingParams>& params = prepared.params;
  const int64_t requested = prepared.requested_tokens;
  // Counted last, so a request rejected for anything else holds no slot.
  auto ticket = waiting_gate_.try_admit();
  if (!ticket) {
    return send_error(
        *w, overloaded("the server is overloaded (" + std::to_string(options_.max_waiting) +
                       " requests already waiting); retry later"));
  }
  setup.waiting_ticket = std::move(*ticket);
  // The job holds the model (loaded, never unloaded) until it ends.
  setup.on_complete = [done = options_.on_job_complete, model = prepared.model](
                          const JobOutcome& o) mutable {
    if (done) done(o);
    model.reset();
  };
  if (ctx.principal.identity && !admit_tenant(ctx, requested, setup, *w)) return;
  setup.request = std::move(req);
  setup.output = std::move(output);
  const LoadedModel& m = *prepared.model;
  auto job = std::make_shared<GenerationJob>(std::move(setup), m.engine.get(), m.tokenizer,
                                             m.metrics, w);
  // On the connection's strand, where every later event of the job runs.
  w->post([job, params = std::move(params)] { job->start(params); });
}

namespace {

// vLLM's SamplingParams field names (what its render endpoints return).
OJson sampling_params_json(const SamplingParams& p) {
  OJson j;
  j["n"] = p.n;
  j["presence_penalty"] = p.presence_penalty;
  j["frequency_penalty"] = p.frequency_penalty;
  j["repetition_penalty"] = p.repetition_penalty;
  j["temperature"] = p.temperature;
  j["top_p"] = p.top_p;
  j["top_k"] = p.top_k;
  j["min_p"] = p.min_p;
  j["seed"] = p.seed ? OJson(*p.seed) : OJson(nullptr);
  j["stop"] = p.stop;
  j["stop_token_ids"] = p.stop_token_ids;
  j["ignore_eos"] = p.ignore_eos;
  j["max_tokens"] = p.max_tokens;
  j["min_tokens"] = p.min_tokens;
  j["logprobs"] = p.logprobs >= 0 ? OJson(p.logprobs) : OJson(nullptr);
  j["skip_special_tokens"] = p.skip_special_tokens;
  return j;
}

}  // namespace

void OpenAiService::handle_render(const HttpRequest& http, const RequestContext& ctx, bool chat,
                                  std::shared_ptr<ResponseWriter> w, ModelHandle model) {
  PreparedGeneration prepared;
  prepared.model = std::move(model);
  if (auto e = prepare_generation(http, ctx, chat, prepared)) return send_error(*w, *e);
  if (!prepared.model) {
    return when_loaded(prepared.request.model, http, ctx, std::move(w),
                       [this, chat](const HttpRequest& r, const RequestContext& c,
                                    std::shared_ptr<ResponseWriter> w2, ModelHandle h) {
                         handle_render(r, c, chat, std::move(w2), std::move(h));
                       });
  }
  const JobSetup& setup = prepared.setup;
  RequestMeta meta;
  if (ctx.principal.identity) meta = engine_meta(ctx.principal.identity->tenant);
  // vLLM's GenerateRequest, one per prompt: what /inference/v1/generate
  // would take (chat: one object; completions: a list).
  OJson list = OJson::array();
  for (size_t p = 0; p < setup.prompts.size(); ++p) {
    OJson g;
    g["request_id"] = make_request_id(chat ? "chatcmpl" : "cmpl");
    g["token_ids"] = setup.prompts[p];
    g["features"] = nullptr;
    g["sampling_params"] = sampling_params_json(prepared.params[p]);
    g["model"] = setup.model_name;
    g["stream"] = prepared.request.stream;
    g["cache_salt"] = meta.cache_salt ? OJson(cache_salt_text(meta.cache_salt)) : OJson(nullptr);
    g["priority"] = meta.priority;
    list.push_back(std::move(g));
  }
  send_json(*w, chat ? list.at(0) : list);
}

namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

RequestMeta engine_meta(const tenancy::Tenant& t) {
  RequestMeta m;
  m.tenant = fnv1a(t.id) | 1;  // never 0, the engine's default tenant
  m.weight = t.weight;
  m.priority = t.priority;
  // Salted apart unless the tenant opts in to the shared (unsalted) cache.
  m.cache_salt = t.share_prefix_cache ? 0 : (fnv1a("salt:" + t.id) | 1);
  return m;
}

bool OpenAiService::admit_tenant(const RequestContext& ctx, int64_t reserve_tokens,
                                 JobSetup& setup, ResponseWriter& w) {
  tenancy::Tenancy* t = options_.tenancy;
  const tenancy::Identity& who = *ctx.principal.identity;
  // No generation that could not be billed.
  if (std::string why = t->unavailable_reason(); !why.empty()) {
    t->count_rejection(who.tenant.id, "unavailable");
    send_error(w, ApiError{503, why, "server_error", "", "service_unavailable"});
    return false;
  }
  tenancy::RateHeaders rate;
  auto r = t->admit(who, reserve_tokens, &rate);
  if (auto* rej = std::get_if<tenancy::Rejection>(&r)) {
    bool quota = rej->code == tenancy::Rejection::kInsufficientQuota;
    auto headers = rate.to_headers();
    if (rej->retry_after_s > 0) headers.push_back({"Retry-After", std::to_string(rej->retry_after_s)});
    send_error(w,
               ApiError{429, rej->message, quota ? "insufficient_quota" : "rate_limit_exceeded", "",
                        quota ? "insufficient_quota" : "rate_limit_exceeded"},
               std::move(headers));
    return false;
  }
  setup.response_headers = rate.to_headers();
  setup.meta = engine_meta(who.tenant);
  tenancy::Admission admission = std::get<tenancy::Admission>(std::move(r));
  setup.commit_usage = [t, admission, tenant = who.tenant.id, key = who.key.id](
                           const JobOutcome& o, std::function<void()> then) {
    tenancy::UsageRecord rec;
    rec.request_id = o.request_id;
    rec.tenant_id = tenant;
    rec.key_id = key;
    rec.model = o.model;
    rec.prompt_tokens = o.prompt_tokens;
    rec.cached_prompt_tokens = o.cached_prompt_tokens;
    rec.completion_tokens = o.completion_tokens;
    rec.finish_reason = o.finish_reason;
    rec.http_status = o.http_status;
    tenancy::Ledger::Committed committed;
    if (then) committed = [then = std::move(then)](bool) { then(); };
    t->finish(admission, std::move(rec), std::move(committed));
  };
  return true;
}

namespace {

// The "model" of a tokenize / detokenize body ("" when absent or not a string).
std::string body_model(const OJson& body) {
  auto it = body.find("model");
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

void OpenAiService::handle_tokenize(const HttpRequest& http, const RequestContext& ctx,
                                    std::shared_ptr<ResponseWriter> w, ModelHandle model) {
  OJson body;
  if (auto e = parse_json_object(http.body, body)) return send_error(*w, *e);
  if (auto e = lookup_model(body_model(body), http.body, ctx, model)) return send_error(*w, *e);
  if (!model) {
    return when_loaded(body_model(body), http, ctx, std::move(w),
                       [this](const HttpRequest& r, const RequestContext& c,
                              std::shared_ptr<ResponseWriter> w2, ModelHandle h) {
                         handle_tokenize(r, c, std::move(w2), std::move(h));
                       });
  }
  // The model's parts, named as the members they replaced.
  Engine* engine_ = model->engine.get();
  const std::shared_ptr<const Tokenizer>& tokenizer_ = model->tokenizer;
  const std::shared_ptr<const ChatTemplate>& chat_template_ = model->chat_template;
  if (!tokenizer_) return send_error(*w, bad_request("this model has no tokenizer"));
  std::string text;
  if (body.contains("messages")) {
    OpenAiRequest req;
    auto e = parse_chat_request(http.body, req);
    if (e) return send_error(*w, *e);
    if (!chat_template_) return send_error(*w, bad_request("this model has no chat template"));
    ChatTemplateInputs in;
    in.messages = req.messages;
    in.tools = req.tools;
    in.add_generation_prompt = body.value("add_generation_prompt", true);
    in.extra = req.chat_template_kwargs;
    in.bos_token = tokenizer_->bos_token();
    in.eos_token = tokenizer_->eos_token();
    auto prompt = chat_template_->render(in);
    if (!prompt.is_ok()) return send_error(*w, bad_request(prompt.status().message(), "messages"));
    text = *prompt;
  } else if (body.contains("prompt") && body["prompt"].is_string()) {
    text = body["prompt"].get<std::string>();
  } else {
    return send_error(*w, bad_request("'prompt' (a string) or 'messages' is required", "prompt"));
  }
  auto ids = tokenizer_->encode(text);
  OJson out;
  out["count"] = ids.size();
  out["max_model_len"] = engine_->max_model_len();
  out["tokens"] = ids;
  if (body.value("return_token_strs", false)) {
    OJson strs = OJson::array();
    for (int32_t id : ids) strs.push_back(token_text(tokenizer_.get(), id));
    out["token_strs"] = strs;
  } else {
    out["token_strs"] = nullptr;
  }
  send_json(*w, out);
}

void OpenAiService::handle_detokenize(const HttpRequest& http, const RequestContext& ctx,
                                      std::shared_ptr<ResponseWriter> w, ModelHandle model) {
  OJson body;
  if (auto e = parse_json_object(http.body, body)) return send_error(*w, *e);
  if (auto e = lookup_model(body_model(body), http.body, ctx, model)) return send_error(*w, *e);
  if (!model) {
    return when_loaded(body_model(body), http, ctx, std::move(w),
                       [this](const HttpRequest& r, const RequestContext& c,
                              std::shared_ptr<ResponseWriter> w2, ModelHandle h) {
                         handle_detokenize(r, c, std::move(w2), std::move(h));
                       });
  }
  const std::shared_ptr<const Tokenizer>& tokenizer_ = model->tokenizer;  // as the member it replaced
  if (!tokenizer_) return send_error(*w, bad_request("this model has no tokenizer"));
  auto it = body.find("tokens");
  if (it == body.end() || !it->is_array()) {
    return send_error(*w, bad_request("'tokens' (a list of token ids) is required", "tokens"));
  }
  std::vector<int32_t> ids;
  for (const auto& t : *it) {
    if (!t.is_number_integer())
      return send_error(*w, bad_request("token ids must be integers", "tokens"));
    int64_t v = t.get<int64_t>();
    if (v < 0 || v >= tokenizer_->vocab_size()) {
      return send_error(
          *w, bad_request("token id " + std::to_string(v) + " is out of vocabulary", "tokens"));
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  send_json(*w, OJson{{"prompt", tokenizer_->decode(ids, false)}});
}

}  // namespace yun::serve
