#include "yun/serve/ollama_api.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "yun/engine/sampling_defaults.h"
#include "yun/hub/file_hash.h"
#include "yun/hub/pull.h"
#include "yun/model/config.h"
#include "yun/model/model_store.h"
#include "yun/model/safetensors.h"
#include "yun/serve/keep_alive.h"
#include "yun/serve/ollama_format.h"
#include "yun/serve/ollama_request.h"
#include "yun/serve/openai_service.h"
#include "yun/serve/request_parse.h"
#include "yun/text/model_text.h"

namespace yun::serve {
namespace {

namespace fs = std::filesystem;
using Ctx = std::shared_ptr<const OllamaApiContext>;

struct OllamaModel {
  std::string name;
  std::string source;  // a directory or a repo id (resolve with model_dir)
  ModelSnapshot snap;
};

// A model's directory (a repo id through the HF cache), for its files.
std::string model_dir(const OllamaModel& m) {
  auto dir = resolve_model_path(m.source, ModelStore::from_env());
  return dir.is_ok() ? *dir : m.source;
}

// The one place models are looked up: the registry's entries the caller may use.
std::vector<OllamaModel> served_models(const OllamaApiContext& c, const RequestContext& rc) {
  std::vector<OllamaModel> out;
  for (auto& s : c.registry->snapshot()) {
    // Each name a request may use, as /v1/models lists them.
    std::vector<std::string> names{s.name};
    names.insert(names.end(), s.aliases.begin(), s.aliases.end());
    for (const auto& n : names) {
      if (rc.principal.identity && !rc.principal.identity->allows_model(n)) continue;
      out.push_back({n, s.source, s});
    }
  }
  return out;
}

// `name` as a client sends it ("" : the default; "NAME:latest" is NAME; an
// alias is its entry).
std::optional<OllamaModel> find_model(const OllamaApiContext& c, const RequestContext& rc,
                                      const std::string& name) {
  auto entry = c.registry->resolve(ollama_model_name(name));
  if (!entry) return std::nullopt;
  const std::string want = ollama_model_name(name).empty() ? *entry : ollama_model_name(name);
  for (auto& m : served_models(c, rc)) {
    if (m.name == want) return m;
  }
  return std::nullopt;
}

ApiError model_not_found(const std::string& name) {
  return not_found_error("model \"" + name + "\" not found");
}

// What /api/tags, /api/ps and /api/show say of a model, from its files.
struct ModelFacts {
  int64_t size_bytes = 0;
  int64_t parameters = 0;
  std::string family, quantization, digest, modified_at;
  std::optional<ModelConfig> config;
};

std::string parameter_size(int64_t n) {
  char buf[32];
  if (n >= 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%.1fB", n / 1e9);
  } else if (n >= 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.2fK", n / 1e3);
  }
  return buf;
}

std::string quantization_level(const std::string& format) {
  if (format == "bfloat16") return "BF16";
  if (format == "float16") return "F16";
  if (format == "float32") return "F32";
  std::string up = format;
  for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return up;
}

ModelFacts model_facts(const std::string& dir) {
  ModelFacts f;
  if (auto w = WeightStore::open_dir(dir); w.is_ok()) {
    f.size_bytes = static_cast<int64_t>((*w)->total_bytes());
    for (const auto& [name, t] : (*w)->index) f.parameters += t->numel();
  }
  if (auto mc = load_model_config(dir); mc.is_ok()) {
    f.family = mc->model_type;
    f.config = std::move(*mc);
  }
  f.quantization = quantization_level(model_weight_format(dir));
  if (auto d = hub::sha256_file_hex(dir + "/config.json"); d.is_ok()) f.digest = *d;
  struct stat st {};
  auto when = std::chrono::system_clock::now();
  if (::stat((dir + "/config.json").c_str(), &st) == 0) {
    when = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) +
            std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  }
  f.modified_at = ollama_timestamp(when);
  return f;
}

OJson details_json(const ModelFacts& f) {
  return OJson{{"parent_model", ""},
               {"format", "safetensors"},
               {"family", f.family},
               {"families", f.family.empty() ? OJson(nullptr) : OJson::array({f.family})},
               {"parameter_size", parameter_size(f.parameters)},
               {"quantization_level", f.quantization}};
}

OJson model_entry(const OllamaModel& m, const ModelFacts& f) {
  OJson j;
  j["name"] = m.name;
  j["model"] = m.name;
  j["modified_at"] = f.modified_at;
  j["size"] = f.size_bytes;
  j["digest"] = f.digest;
  j["details"] = details_json(f);
  return j;
}

void send_json(ResponseWriter& w, const OJson& j) {
  w.send(HttpResponse{200, "application/json", dump_json(j), {}});
}

// GET /api/tags and /api/ps (ps: the same models, loaded and pinned).
void handle_list(const Ctx& c, const RequestContext& rc, std::shared_ptr<ResponseWriter> w,
                 bool ps) {
  c->workers->post([c, rc, w, ps] {
    OJson models = OJson::array();
    for (const auto& m : served_models(*c, rc)) {
      if (ps && m.snap.state != ModelState::kLoaded) continue;
      ModelFacts f = model_facts(model_dir(m));
      OJson e = model_entry(m, f);
      if (ps) {
        e.erase("modified_at");
        // Pinned (or in use with no idle clock yet): far ahead, as Ollama shows keep_alive -1.
        auto until = m.snap.expires_in_s >= 0
                         ? std::chrono::system_clock::now() +
                               std::chrono::milliseconds(int64_t(m.snap.expires_in_s * 1000))
                         : std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 100);
        e["expires_at"] = ollama_timestamp(until);
        e["size_vram"] = 0;
        e["context_length"] = m.snap.max_model_len;
      }
      models.push_back(std::move(e));
    }
    send_json(*w, OJson{{"models", std::move(models)}});
  });
}

std::string read_text_file(const std::string& path, size_t limit = 1 << 20) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::string s(limit, '\0');
  in.read(s.data(), static_cast<std::streamsize>(limit));
  s.resize(static_cast<size_t>(in.gcount()));
  return s;
}

std::string license_text(const std::string& dir) {
  for (const char* name : {"LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "LICENCE.txt",
                           "license.txt", "LICENSE-MODEL"}) {
    std::string s = read_text_file(dir + "/" + name);
    if (!s.empty()) return s;
  }
  return "";
}

// POST /api/show {"model"} (or the older "name").
void handle_show(const Ctx& c, const HttpRequest& http, const RequestContext& rc,
                 std::shared_ptr<ResponseWriter> w) {
  OJson body;
  if (auto e = parse_json_object(http.body, body)) return send_error(*w, *e);
  std::string name;
  for (const char* key : {"model", "name"}) {
    if (body.contains(key) && body[key].is_string()) name = body[key].get<std::string>();
    if (!name.empty()) break;
  }
  if (name.empty()) return send_error(*w, bad_request("'model' (a string) is required", "model"));
  auto m = find_model(*c, rc, name);
  if (!m) return send_error(*w, model_not_found(name));
  c->workers->post([c, m = *m, w] {
    const std::string dir = model_dir(m);
    ModelFacts f = model_facts(dir);
    OJson out;
    out["license"] = license_text(dir);
    out["modelfile"] = "# yun serves this model from " + dir + "\nFROM " + dir + "\n";
    std::string params, templ;
    OJson info = OJson::object();
    std::string arch = f.family.empty() ? "unknown" : f.family;
    info["general.architecture"] = arch;
    info["general.parameter_count"] = f.parameters;
    if (f.config) {
      const ModelConfig& mc = *f.config;
      if (!mc.architecture_name.empty()) info["general.basename"] = mc.architecture_name;
      info[arch + ".context_length"] = mc.max_position_embeddings;
      info[arch + ".embedding_length"] = mc.hidden_size;
      info[arch + ".block_count"] = mc.num_hidden_layers;
      info[arch + ".feed_forward_length"] = mc.intermediate_size;
      info[arch + ".attention.head_count"] = mc.num_attention_heads;
      info[arch + ".attention.head_count_kv"] = mc.num_key_value_heads;
      info[arch + ".attention.key_length"] = mc.head_dim;
      info[arch + ".vocab_size"] = mc.vocab_size;
      if (mc.num_experts > 0) {
        info[arch + ".expert_count"] = mc.num_experts;
        info[arch + ".expert_used_count"] = mc.num_experts_per_tok;
      }
      SamplingParams d = model_sampling_defaults(mc.generation);
      std::ostringstream p;
      p << "temperature " << d.temperature << "\ntop_k " << d.top_k << "\ntop_p " << d.top_p;
      if (d.repetition_penalty != 1.0) p << "\nrepeat_penalty " << d.repetition_penalty;
      params = p.str();
    }
    if (auto text = load_model_text(dir); text.is_ok()) templ = text->template_source;
    out["parameters"] = params;
    out["template"] = templ;
    out["details"] = details_json(f);
    out["model_info"] = std::move(info);
    OJson caps = OJson::array({"completion"});
    if (templ.find("tools") != std::string::npos) caps.push_back("tools");
    if (c->reasoning || templ.find("enable_thinking") != std::string::npos ||
        templ.find("<think>") != std::string::npos) {
      caps.push_back("thinking");
    }
    out["capabilities"] = std::move(caps);
    out["modified_at"] = f.modified_at;
    send_json(*w, out);
  });
}

// A request with nothing to generate: Ollama's "load" (or "unload") answer.
void send_load_answer(ResponseWriter& w, const std::string& model, bool chat, bool unload) {
  OJson j;
  j["model"] = model;
  j["created_at"] = ollama_timestamp(std::chrono::system_clock::now());
  if (chat) {
    j["message"] = {{"role", "assistant"}, {"content", ""}};
  } else {
    j["response"] = "";
  }
  j["done_reason"] = unload ? "unload" : "load";
  j["done"] = true;
  send_json(w, j);
}

// A request with nothing to generate does what Ollama's does: it loads the
// model (waiting for the load, as a generation would) and sets its
// keep_alive; with keep_alive 0 it unloads the model now, or, while requests
// are using it, as soon as the last one ends.
void load_or_unload(const Ctx& c, const std::string& entry, const std::string& shown, bool chat,
                    const OllamaRequest& req, std::shared_ptr<ResponseWriter> w) {
  if (req.unload) {
    c->workers->post([c, entry, shown, chat, w] {
      (void)c->registry->unload_when_idle(entry);  // in use: when the last use ends
      send_load_answer(*w, shown, chat, true);
    });
    return;
  }
  std::optional<double> keep_alive;
  if (auto it = req.openai_body.find("keep_alive"); it != req.openai_body.end() && !it->is_null()) {
    auto v = keep_alive_from_json(*it);
    if (!v.is_ok()) return send_error(*w, bad_request(v.status().message(), "keep_alive"));
    keep_alive = *v;
  }
  c->registry->acquire_async(entry, keep_alive, [w, shown, chat](Result<ModelHandle> r) {
    // On the loader thread (or here): answer on the connection's thread. The
    // handle is dropped after the answer: the idle clock starts then.
    auto result = std::make_shared<Result<ModelHandle>>(std::move(r));
    w->post([w, shown, chat, result] {
      if (!result->is_ok()) return send_error(*w, model_acquire_error(result->status(), true));
      send_load_answer(*w, shown, chat, false);
    });
  });
}

// POST /api/chat and /api/generate.
void handle_generation(const Ctx& c, const HttpRequest& http, const RequestContext& rc,
                       std::shared_ptr<ResponseWriter> w, bool chat_route) {
  OllamaRequest req;
  auto err = chat_route ? translate_ollama_chat(http.body, req)
                        : translate_ollama_generate(http.body, req);
  if (err) return send_error(*w, *err);
  auto m = find_model(*c, rc, req.model);
  if (!m) return send_error(*w, model_not_found(req.model));
  const std::string shown = req.model.empty() ? m->name : req.model;  // echoed as sent
  if (req.load_only) {
    return load_or_unload(c, m->snap.name, shown, chat_route, req, std::move(w));
  }
  req.openai_body["model"] = m->name;
  HttpRequest openai;
  openai.method = "POST";
  openai.path = req.openai_chat ? "/v1/chat/completions" : "/v1/completions";
  openai.target = openai.path;
  openai.headers = http.headers;
  openai.body = dump_json(req.openai_body);
  auto output = std::make_shared<OllamaOutput>(
      chat_route ? OllamaOutput::Kind::kChat : OllamaOutput::Kind::kGenerate, shown);
  c->generate(openai, rc, req.openai_chat, std::move(output), std::move(w));
}

// POST /api/pull {"model", "stream"}: one pull at a time per server, on a
// thread of its own (a pull outlives any request worker's fair share).
void handle_pull(const HttpRequest& http, std::shared_ptr<ResponseWriter> w) {
  OJson body;
  if (auto e = parse_json_object(http.body, body)) return send_error(*w, *e);
  std::string name;
  for (const char* key : {"model", "name"}) {
    if (body.contains(key) && body[key].is_string()) name = body[key].get<std::string>();
    if (!name.empty()) break;
  }
  bool stream = true;
  if (body.contains("stream") && !body["stream"].is_null()) {
    if (!body["stream"].is_boolean())
      return send_error(*w, bad_request("'stream' must be true or false", "stream"));
    stream = body["stream"].get<bool>();
  }
  const char* kNames =
      "model names here are Hugging Face repo ids (ORG/NAME[@REVISION], e.g. Qwen/Qwen3-0.6B), "
      "not Ollama library names";
  if (name.empty())
    return send_error(*w, bad_request(std::string("'model' is required; ") + kNames, "model"));
  auto ref = parse_repo_ref(name);
  if (!ref.is_ok() || name.find(':') != std::string::npos) {
    std::string why = ref.is_ok() ? "a ':' tag" : ref.status().message();
    return send_error(
        *w, bad_request("cannot pull \"" + name + "\" (" + why + "): " + kNames, "model"));
  }
  if (stream) {
    w->start_stream(200, kNdjsonType);
    w->write(dump_json(OJson{{"status", "pulling manifest"}}) + "\n");
  }
  std::thread([w, ref = *ref, stream, name] {
    static std::mutex one_pull;
    std::lock_guard<std::mutex> lock(one_pull);
    const std::string digest = ref.repo_id + "@" + ref.revision;
    auto last = std::chrono::steady_clock::time_point{};
    auto pulled = hub::pull_repo(
        ModelStore::from_env(), ref, hub::pull_options_from_env(), [&](const hub::PullProgress& p) {
          if (!stream) return;
          auto now = std::chrono::steady_clock::now();
          if (p.finished_file.empty() && now - last < std::chrono::milliseconds(100)) {
            return;
          }
          last = now;
          w->write(dump_json(OJson{{"status", "downloading"},
                                   {"digest", digest},
                                   {"total", p.bytes_total},
                                   {"completed", p.bytes_done}}) +
                   "\n");
        });
    if (!stream) {
      if (pulled.is_ok()) return send_json(*w, OJson{{"status", "success"}});
      return send_error(*w, error_from_status(pulled.status()));
    }
    if (pulled.is_ok()) {
      w->write(dump_json(OJson{{"status", "verifying sha256 digest"}}) + "\n");
      w->write(dump_json(OJson{{"status", "success"}}) + "\n");
    } else {
      w->write(ollama_error_json(pulled.status().message()) + "\n");
    }
    w->finish();
  }).detach();
}

}  // namespace

bool is_ollama_path(const std::string& path) { return path.rfind("/api/", 0) == 0; }

void add_ollama_routes(RouteTable& routes, OllamaApiContext context) {
  Ctx c = std::make_shared<const OllamaApiContext>(std::move(context));
  using A = Access;
  routes.add({"GET", "/api/version", A::kPublic,
              [c](const HttpRequest&, const RequestContext&, std::shared_ptr<ResponseWriter> w) {
                send_json(*w, OJson{{"version", c->version}});
              }});
  routes.add({"GET", "/api/tags", A::kTenant,
              [c](const HttpRequest&, const RequestContext& rc, std::shared_ptr<ResponseWriter> w) {
                handle_list(c, rc, std::move(w), false);
              }});
  routes.add({"GET", "/api/ps", A::kTenant,
              [c](const HttpRequest&, const RequestContext& rc, std::shared_ptr<ResponseWriter> w) {
                handle_list(c, rc, std::move(w), true);
              }});
  routes.add({"POST", "/api/show", A::kTenant,
              [c](const HttpRequest& r, const RequestContext& rc,
                  std::shared_ptr<ResponseWriter> w) { handle_show(c, r, rc, std::move(w)); }});
  routes.add(
      {"POST", "/api/chat", A::kTenant,
       [c](const HttpRequest& r, const RequestContext& rc, std::shared_ptr<ResponseWriter> w) {
         handle_generation(c, r, rc, std::move(w), true);
       }});
  routes.add(
      {"POST", "/api/generate", A::kTenant,
       [c](const HttpRequest& r, const RequestContext& rc, std::shared_ptr<ResponseWriter> w) {
         handle_generation(c, r, rc, std::move(w), false);
       }});
  // Writes to the server's disk: an admin key with tenancy (any key without).
  routes.add({"POST", "/api/pull", A::kAdmin,
              [](const HttpRequest& r, const RequestContext&, std::shared_ptr<ResponseWriter> w) {
                handle_pull(r, std::move(w));
              }});
}

}  // namespace yun::serve
