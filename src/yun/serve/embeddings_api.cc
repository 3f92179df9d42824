#include "yun/serve/embeddings_api.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "yun/serve/openai_format.h"
#include "yun/serve/openai_service.h"
#include "yun/serve/request_parse.h"

namespace yun::serve {

namespace {

using Json = nlohmann::ordered_json;

std::optional<ApiError> bad_input(const std::string& what) { return bad_request(what, "input"); }

// One token id of the input; false when it is no integer in [0, 2^31).
bool token_id(const Json& v, int32_t& out) {
  if (!v.is_number_integer()) return false;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<int32_t>::max())) return false;
    out = int32_t(u);
    return true;
  }
  const int64_t i = v.get<int64_t>();
  if (i < 0 || i > std::numeric_limits<int32_t>::max()) return false;
  out = int32_t(i);
  return true;
}

std::optional<ApiError> parse_ids(const Json& list, std::vector<int32_t>& out) {
  if (list.empty()) return bad_input("'input' must not contain an empty list of token ids");
  for (const Json& v : list) {
    int32_t id = 0;
    if (!token_id(v, id)) return bad_input("token ids in 'input' must be integers >= 0");
    out.push_back(id);
  }
  return std::nullopt;
}

std::optional<ApiError> parse_input(const Json& in, EmbeddingsRequest& r) {
  const std::string kinds =
      "'input' must be a string, a list of strings, a list of token ids or a list of token-id "
      "lists";
  if (in.is_string()) {
    if (in.get_ref<const std::string&>().empty()) return bad_input("'input' must not be empty");
    r.texts.push_back(in.get<std::string>());
    return std::nullopt;
  }
  if (!in.is_array()) return bad_input(kinds);
  if (in.empty()) return bad_input("'input' must not be an empty list");
  if (in.size() > size_t(kMaxEmbeddingInputs)) {
    return bad_input("'input' has " + std::to_string(in.size()) + " entries; at most " +
                     std::to_string(kMaxEmbeddingInputs) + " per request");
  }
  const Json& first = in.front();
  if (first.is_string()) {
    for (const Json& v : in) {
      if (!v.is_string()) return bad_input(kinds + " (not a mix)");
      if (v.get_ref<const std::string&>().empty())
        return bad_input("'input' must not contain an empty string");
      r.texts.push_back(v.get<std::string>());
    }
    return std::nullopt;
  }
  r.input_is_ids = true;
  if (first.is_number()) {
    r.token_ids.emplace_back();
    return parse_ids(in, r.token_ids.back());
  }
  if (!first.is_array()) return bad_input(kinds);
  for (const Json& v : in) {
    if (!v.is_array()) return bad_input(kinds + " (not a mix)");
    r.token_ids.emplace_back();
    if (auto e = parse_ids(v, r.token_ids.back())) return e;
  }
  return std::nullopt;
}

// One embedding request in flight: every input is one engine request; the
// answer goes out once all of them have ended (and, with tenancy, once the
// usage is committed). Every member runs on the connection's strand.
class EmbeddingJob : public std::enable_shared_from_this<EmbeddingJob> {
 public:
  // `model` stays loaded (in use) until the job ends.
  EmbeddingJob(JobSetup setup, bool base64, int64_t dimensions, ModelHandle model,
               std::shared_ptr<ResponseWriter> w)
      : setup_(std::move(setup)),
        base64_(base64),
        dimensions_(dimensions),
        model_(std::move(model)),
        engine_(model_->engine.get()),
        writer_(std::move(w)),
        id_(make_request_id("embd")),
        created_(unix_time_now()),
        results_(setup_.prompts.size()) {}

  void start() {
    auto self = shared_from_this();
    for (size_t i = 0; i < setup_.prompts.size(); ++i) {
      GenerateRequest r;
      r.kind = RequestKind::kEmbed;
      r.prompt_ids = setup_.prompts[i];
      r.meta = setup_.meta;
      r.sink = [self, w = writer_, i](const RequestEvent& ev) {
        if (!ev.finish) return;  // an embedding request has one (final) event
        w->post([self, i, ev] { self->on_final(i, ev); });
      };
      auto id = engine_->submit(std::move(r));
      if (!id.is_ok()) {
        // Inputs never submitted end here; the submitted ones end through
        // the engine's abort events, and the job completes with the last.
        failure_ = id.status();
        for (size_t k = i; k < results_.size(); ++k) results_[k].done = true;
        ended_ += int(results_.size() - i);
        abort_all();
        respond_error();
        if (ended_ == int(results_.size())) complete();
        return;
      }
      engine_ids_.push_back(*id);
    }
    writer_->on_close([self] {
      if (self->completed_) return;
      self->client_gone_ = true;
      self->abort_all();
    });
  }

 private:
  struct Result {
    bool done = false;
    std::vector<float> vector;
    Usage usage;
    FinishReason finish = FinishReason::kAbort;
  };

  void on_final(size_t i, const RequestEvent& ev) {
    Result& r = results_[i];
    if (r.done) return;
    r.done = true;
    r.usage = ev.usage;
    r.finish = *ev.finish;
    if (r.finish == FinishReason::kStop) {
      r.vector = normalize_embedding(ev.embedding, dimensions_);
    } else if (r.finish != FinishReason::kAbort && failure_.is_ok()) {
      failure_ = !ev.error.is_ok() ? ev.error
                                   : internal_error("input " + std::to_string(i) +
                                                    " ended without an embedding (" +
                                                    finish_reason_name(r.finish) + ")");
    }
    if (!failure_.is_ok()) {
      abort_all();
      respond_error();
    }
    if (++ended_ == int(results_.size())) complete();
  }

  void abort_all() {
    for (uint64_t id : engine_ids_) engine_->abort(id);
  }

  // The one terminal path (as GenerationJob::complete): once, after the last input ended.
  void complete() {
    if (completed_) return;
    completed_ = true;
    setup_.waiting_ticket.release();
    JobOutcome out;
    out.request_id = id_;
    out.model = setup_.model_name;
    bool any_abort = false;
    for (size_t i = 0; i < engine_ids_.size(); ++i) {  // inputs never submitted cost nothing
      out.prompt_tokens += int64_t(setup_.prompts[i].size());
      out.cached_prompt_tokens += results_[i].usage.cached_prompt_tokens;
      any_abort |= results_[i].finish == FinishReason::kAbort;
    }
    out.finish_reason =
        finish_reason_name(results_.empty() ? FinishReason::kStop : results_[0].finish);
    if (!failure_.is_ok()) {
      out.kind = JobOutcome::kFailed;
      out.error = failure_;
      out.http_status = error_from_status(failure_).http_status;
      out.finish_reason = "error";
    } else if (client_gone_ || any_abort) {
      out.kind = JobOutcome::kAborted;
      out.http_status = client_gone_ ? 499 : 503;
    }
    if (setup_.on_complete) setup_.on_complete(out);
    const bool answer = !responded_ && !client_gone_;
    if (setup_.commit_usage) {
      if (!answer) return setup_.commit_usage(out, nullptr);
      auto self = shared_from_this();
      setup_.commit_usage(
          out, [self, out] { self->writer_->post([self, out] { self->finalize(out); }); });
      return;
    }
    if (answer) finalize(out);
  }

  void finalize(const JobOutcome& out) {
    if (responded_ || client_gone_) return;
    responded_ = true;
    if (out.kind == JobOutcome::kAborted) {  // the engine drained under us
      send_error(*writer_, ApiError{503, "the server is shutting down", "server_error", "",
                                    "service_unavailable"});
      return;
    }
    Json data = Json::array();
    for (size_t i = 0; i < results_.size(); ++i) {
      Json e;
      e["object"] = "embedding";
      e["index"] = i;
      if (base64_) {
        e["embedding"] = embedding_base64(results_[i].vector);
      } else {
        e["embedding"] = results_[i].vector;
      }
      data.push_back(std::move(e));
    }
    Json body;
    body["id"] = id_;
    body["object"] = "list";
    body["created"] = created_;
    body["model"] = setup_.model_name;
    body["data"] = std::move(data);
    body["usage"] = Json{{"prompt_tokens", out.prompt_tokens}, {"total_tokens", out.prompt_tokens}};
    writer_->send(HttpResponse{200, "application/json", dump_json(body), setup_.response_headers});
  }

  void respond_error() {
    if (responded_ || client_gone_) return;
    responded_ = true;
    send_error(*writer_, error_from_status(failure_));
  }

  JobSetup setup_;
  const bool base64_;
  const int64_t dimensions_;
  ModelHandle model_;
  Engine* engine_;
  std::shared_ptr<ResponseWriter> writer_;
  std::string id_;
  int64_t created_;
  std::vector<Result> results_;  // one per input
  std::vector<uint64_t> engine_ids_;
  int ended_ = 0;
  bool completed_ = false, responded_ = false, client_gone_ = false;
  Status failure_;
};

}  // namespace

std::optional<ApiError> parse_embeddings_request(std::string_view body, EmbeddingsRequest& r) {
  Json o;
  if (auto e = parse_json_object(body, o)) return e;
  r = EmbeddingsRequest{};
  if (auto m = o.find("model"); m != o.end() && !m->is_null()) {
    if (!m->is_string()) return bad_request("'model' must be a string", "model");
    r.model = m->get<std::string>();
  }
  auto in = o.find("input");
  if (in == o.end() || in->is_null()) return bad_input("'input' is required");
  if (auto e = parse_input(*in, r)) return e;
  if (auto f = o.find("encoding_format"); f != o.end() && !f->is_null()) {
    if (!f->is_string() || (*f != "float" && *f != "base64")) {
      return bad_request("'encoding_format' must be \"float\" or \"base64\"", "encoding_format");
    }
    r.base64 = *f == "base64";
  }
  if (auto d = o.find("dimensions"); d != o.end() && !d->is_null()) {
    // Huge values clamp (and fail the handler's hidden_size check).
    const int64_t v = !d->is_number_integer() ? 0
                      : d->is_number_unsigned()
                          ? int64_t(std::min<uint64_t>(d->get<uint64_t>(), uint64_t(INT64_MAX)))
                          : d->get<int64_t>();
    if (v < 1) return bad_request("'dimensions' must be an integer >= 1", "dimensions");
    r.dimensions = v;
  }
  if (auto u = o.find("user"); u != o.end() && !u->is_null() && !u->is_string()) {
    return bad_request("'user' must be a string", "user");
  }
  return std::nullopt;
}

std::vector<float> normalize_embedding(std::span<const float> hidden, int64_t dimensions) {
  size_t n = hidden.size();
  if (dimensions > 0 && size_t(dimensions) < n) n = size_t(dimensions);
  std::vector<float> v(hidden.begin(), hidden.begin() + long(n));
  double sq = 0;
  for (float x : v) sq += double(x) * x;
  if (sq > 0) {
    const double inv = 1.0 / std::sqrt(sq);
    for (float& x : v) x = float(x * inv);
  }
  return v;
}

std::string embedding_base64(std::span<const float> v) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<uint8_t> bytes(v.size() * 4);
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, &v[i], 4);
    for (int b = 0; b < 4; ++b) bytes[i * 4 + size_t(b)] = uint8_t(u >> (8 * b));  // little-endian
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t left = bytes.size() - i;
    const uint32_t n = (uint32_t(bytes[i]) << 16) | (left > 1 ? uint32_t(bytes[i + 1]) << 8 : 0) |
                       (left > 2 ? uint32_t(bytes[i + 2]) : 0);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += left > 1 ? kAlphabet[(n >> 6) & 63] : '=';
    out += left > 2 ? kAlphabet[n & 63] : '=';
  }
  return out;
}

namespace {

// The request once its model is loaded: tokenize, check, admit, submit.
void embed_with(const EmbeddingsContext& c, EmbeddingsRequest req, const RequestContext& ctx,
                std::shared_ptr<ResponseWriter> w, ModelHandle model) {
  JobSetup setup;
  setup.model_name = req.model.empty() ? model->name : req.model;
  const int64_t max_tokens = c.max_request_tokens(*model);
  const ModelConfig& mc = model->engine->model_config();
  if (req.dimensions && *req.dimensions > mc.hidden_size) {
    return send_error(
        *w, bad_request("'dimensions' must be between 1 and " + std::to_string(mc.hidden_size) +
                            " (this model's hidden size)",
                        "dimensions"));
  }
  if (req.input_is_ids) {
    for (auto& ids : req.token_ids) {
      if (auto e = check_token_ids(ids, mc.vocab_size, "input")) return send_error(*w, *e);
    }
    setup.prompts = std::move(req.token_ids);
  } else {
    if (!model->tokenizer) {
      return send_error(*w, bad_input("this model has no tokenizer; send token ids").value());
    }
    for (const auto& t : req.texts) setup.prompts.push_back(model->tokenizer->encode(t));
  }
  const int64_t max_len = model->engine->max_model_len();
  int64_t total = 0;
  for (size_t i = 0; i < setup.prompts.size(); ++i) {
    const int64_t n = int64_t(setup.prompts[i].size());
    const std::string which = setup.prompts.size() > 1 ? "input " + std::to_string(i) : "input";
    if (n == 0) return send_error(*w, bad_input(which + " has no tokens").value());
    if (n > max_len) {
      return send_error(
          *w, bad_input("this model's maximum context length is " + std::to_string(max_len) +
                        " tokens, but " + which + " has " + std::to_string(n) + " tokens")
                  .value());
    }
    total += n;
  }
  if (total > max_tokens) {
    return send_error(*w, bad_input("this request has " + std::to_string(total) +
                                    " input tokens, more than this server's limit of " +
                                    std::to_string(max_tokens) +
                                    " per request (--max-request-tokens)")
                              .value());
  }
  if (c.waiting_gate) {
    auto ticket = c.waiting_gate->try_admit();
    if (!ticket) {
      return send_error(*w,
                        overloaded("the server is overloaded (" + std::to_string(c.max_waiting) +
                                   " requests already waiting); retry later"));
    }
    setup.waiting_ticket = std::move(*ticket);
  }
  setup.on_complete = c.on_complete;
  if (ctx.principal.identity && c.admit_tenant && !c.admit_tenant(ctx, total, setup, *w)) return;
  auto job = std::make_shared<EmbeddingJob>(std::move(setup), req.base64,
                                            req.dimensions.value_or(0), model, w);
  w->post([job] { job->start(); });
}

}  // namespace

RouteHandler embeddings_handler(EmbeddingsContext c) {
  return [c = std::move(c)](const HttpRequest& http, const RequestContext& ctx,
                            std::shared_ptr<ResponseWriter> w) {
    EmbeddingsRequest req;
    if (auto e = parse_embeddings_request(http.body, req)) return send_error(*w, *e);
    const std::string model = req.model;  // read before the lambda takes req
    c.with_model(model, http, ctx, std::move(w),
                 [c, req = std::move(req)](const HttpRequest&, const RequestContext& ctx,
                                           std::shared_ptr<ResponseWriter> w,
                                           ModelHandle model) mutable {
                   embed_with(c, std::move(req), ctx, std::move(w), std::move(model));
                 });
  };
}

}  // namespace yun::serve
