#include "yun/serve/model_registry.h"

#include <algorithm>
#include <filesystem>
#include <future>

#include "yun/base/log.h"
#include "yun/base/thread_name.h"
#include "yun/model/model_store.h"
#include "yun/text/model_text.h"

namespace yun::serve {

const char* model_state_name(ModelState s) {
  switch (s) {
    case ModelState::kUnloaded:
      return "unloaded";
    case ModelState::kLoading:
      return "loading";
    case ModelState::kLoaded:
      return "loaded";
    case ModelState::kFailed:
      return "failed";
  }
  return "unloaded";
}

namespace {

// The weight files' bytes: *.safetensors and *.gguf in the directory (or the
// file itself). 0 when it cannot be read.
int64_t weight_file_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return static_cast<int64_t>(fs::file_size(path, ec));
  int64_t total = 0;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::string ext = it->path().extension().string();
    if (ext != ".safetensors" && ext != ".gguf") continue;
    std::error_code fec;
    auto n = fs::file_size(it->path(), fec);  // follows symlinks (HF snapshots)
    if (!fec) total += static_cast<int64_t>(n);
  }
  return total;
}

}  // namespace

struct ModelRegistry::Waiter {
  std::optional<double> keep_alive_s;
  Done done;
  Clock::time_point deadline;
};

struct ModelRegistry::Entry {
  ModelSpec spec;
  bool external = false;  // add_loaded: never unloaded, engine not ours to shut down
  ModelState state = ModelState::kUnloaded;
  std::string error;
  std::shared_ptr<LoadedModel> model;  // while loaded
  std::unique_ptr<Metrics> metrics;    // made at the first load, kept across reloads
  int in_use = 0;
  Clock::time_point last_used = Clock::now();  // when the last use ended
  std::optional<double> keep_alive_s;          // the last request's; nullopt: the server's
  uint64_t lru = 0;                            // tick of the last acquire / release
  int64_t weight_bytes = -1;                   // the weight files' (-1: not measured yet)
  int64_t last_kv_bytes = 0;                   // the KV cache of the last load
  int64_t loads = 0;
  bool unload_when_idle = false;  // unload_when_idle() while in use: the last use ends it
  std::vector<Waiter> waiters;
};

struct ModelRegistry::Anchor {
  std::mutex mu;
  ModelRegistry* registry = nullptr;
};

struct ModelRegistry::Lease {
  std::shared_ptr<Anchor> anchor;
  Entry* entry;
  std::optional<double> keep_alive_s;
  std::shared_ptr<LoadedModel> model;
  ~Lease() {
    std::lock_guard<std::mutex> lock(anchor->mu);
    if (anchor->registry) anchor->registry->release(entry, keep_alive_s);
  }
};

ModelRegistry::ModelRegistry(RegistryOptions options)
    : options_(options), anchor_(std::make_shared<Anchor>()) {
  anchor_->registry = this;
  loader_ = std::thread([this] {
    set_current_thread_name("yun-loader");
    loader_loop();
  });
}

ModelRegistry::~ModelRegistry() {
  shutdown();
  std::lock_guard<std::mutex> lock(anchor_->mu);
  anchor_->registry = nullptr;
}

Status ModelRegistry::add(ModelSpec spec) {
  if (spec.name.empty()) return invalid_argument("a model needs a name");
  if (spec.source.empty())
    return invalid_argument("model " + spec.name + " needs a path or repo id");
  if (!spec.make_engine) return invalid_argument("model " + spec.name + " has no engine factory");
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names = spec.aliases;
  names.push_back(spec.name);
  for (const auto& n : names) {
    if (find_locked(n)) return invalid_argument("two models are named '" + n + "'");
  }
  auto e = std::make_unique<Entry>();
  // The weight files' size, for --memory-budget and `yun ps` before a load.
  if (auto dir = resolve_model_path(spec.source, ModelStore::from_env()); dir.is_ok()) {
    e->weight_bytes = weight_file_bytes(*dir);
  }
  e->spec = std::move(spec);
  entries_.push_back(std::move(e));
  return Status::ok();
}

Status ModelRegistry::add_loaded(ModelSpec spec, LoadedModel model) {
  if (spec.name.empty()) return invalid_argument("a model needs a name");
  if (!model.engine || !model.metrics)
    return invalid_argument("add_loaded needs an engine and metrics");
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names = spec.aliases;
  names.push_back(spec.name);
  for (const auto& n : names) {
    if (find_locked(n)) return invalid_argument("two models are named '" + n + "'");
  }
  auto e = std::make_unique<Entry>();
  e->spec = std::move(spec);
  e->external = true;
  e->state = ModelState::kLoaded;
  model.name = e->spec.name;
  e->weight_bytes = model.weight_bytes;
  e->last_kv_bytes = model.kv_cache_bytes;
  e->model = std::make_shared<LoadedModel>(std::move(model));
  e->loads = 1;
  e->keep_alive_s = -1;
  entries_.push_back(std::move(e));
  return Status::ok();
}

ModelRegistry::Entry* ModelRegistry::find_locked(const std::string& name) const {
  if (name.empty()) return entries_.empty() ? nullptr : entries_.front().get();
  for (const auto& e : entries_) {
    if (e->spec.name == name) return e.get();
  }
  for (const auto& e : entries_) {
    for (const auto& a : e->spec.aliases) {
      if (a == name) return e.get();
    }
  }
  return nullptr;
}

std::optional<std::string> ModelRegistry::resolve(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = find_locked(name);
  if (!e) return std::nullopt;
  return e->spec.name;
}

std::vector<std::string> ModelRegistry::names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e->spec.name);
  return out;
}

std::vector<std::string> ModelRegistry::names_of(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  if (Entry* e = find_locked(name)) {
    out.push_back(e->spec.name);
    out.insert(out.end(), e->spec.aliases.begin(), e->spec.aliases.end());
  }
  return out;
}

size_t ModelRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

ModelHandle ModelRegistry::make_handle_locked(Entry& e, std::optional<double> keep_alive_s) {
  ++e.in_use;
  e.lru = ++tick_;
  auto lease = std::make_shared<Lease>();
  lease->anchor = anchor_;
  lease->entry = &e;
  lease->keep_alive_s = keep_alive_s;
  lease->model = e.model;
  const LoadedModel* m = lease->model.get();
  return ModelHandle(std::move(lease), m);  // shares the lease's count
}

void ModelRegistry::release(Entry* e, std::optional<double> keep_alive_s) {
  std::lock_guard<std::mutex> lock(mu_);
  --e->in_use;
  e->last_used = Clock::now();
  e->lru = ++tick_;
  if (!e->external) e->keep_alive_s = e->unload_when_idle ? 0.0 : keep_alive_s;
  cv_.notify_all();
}

Result<ModelHandle> ModelRegistry::try_acquire(const std::string& name,
                                               std::optional<double> keep_alive_s) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = find_locked(name);
  if (!e) return not_found("The model `" + name + "` does not exist.");
  if (e->state != ModelState::kLoaded || stopping_) return ModelHandle();
  return make_handle_locked(*e, keep_alive_s);
}

void ModelRegistry::acquire_async(const std::string& name, std::optional<double> keep_alive_s,
                                  Done done) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) {
    lock.unlock();
    return done(aborted("the server is shutting down"));
  }
  Entry* e = find_locked(name);
  if (!e) {
    lock.unlock();
    return done(not_found("The model `" + name + "` does not exist."));
  }
  if (e->state == ModelState::kLoaded) {
    ModelHandle h = make_handle_locked(*e, keep_alive_s);
    lock.unlock();
    return done(std::move(h));
  }
  auto wait = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::max(options_.load_wait_s, 0.0)));
  e->waiters.push_back(Waiter{keep_alive_s, std::move(done), Clock::now() + wait});
  cv_.notify_all();
}

Result<ModelHandle> ModelRegistry::acquire(const std::string& name,
                                           std::optional<double> keep_alive_s) {
  auto p = std::make_shared<std::promise<Result<ModelHandle>>>();
  auto f = p->get_future();
  acquire_async(name, keep_alive_s, [p](Result<ModelHandle> r) { p->set_value(std::move(r)); });
  return f.get();
}

void ModelRegistry::say(const std::string& line) const {
  if (options_.log) options_.log(line);
}

double ModelRegistry::keep_alive_of(const Entry& e) const {
  return e.keep_alive_s.value_or(e.spec.keep_alive_s.value_or(options_.keep_alive_s));
}

int64_t ModelRegistry::estimate_bytes_locked(const Entry& e) const {
  if (e.model) return e.model->weight_bytes + e.model->kv_cache_bytes;
  return std::max<int64_t>(e.weight_bytes, 0) +
         (e.loads > 0 ? e.last_kv_bytes : e.spec.kv_cache_bytes_hint);
}

void ModelRegistry::unload_locked(Entry& e, std::vector<std::shared_ptr<LoadedModel>>& out) {
  out.push_back(std::move(e.model));
  e.model.reset();
  e.state = ModelState::kUnloaded;
  e.error.clear();
  e.unload_when_idle = false;
}

bool ModelRegistry::make_room_locked(Entry& e, std::vector<std::shared_ptr<LoadedModel>>& out) {
  const int64_t need = estimate_bytes_locked(e);
  for (;;) {
    int count = 0;
    int64_t bytes = 0;
    for (const auto& o : entries_) {
      if (o->state == ModelState::kLoaded || o->state == ModelState::kLoading) {
        ++count;
        bytes += estimate_bytes_locked(*o);
      }
    }
    bool over_count = options_.max_loaded > 0 && count + 1 > options_.max_loaded;
    bool over_bytes =
        options_.memory_budget > 0 && count > 0 && bytes + need > options_.memory_budget;
    if (!over_count && !over_bytes) return true;
    // The least recently used model nobody is using.
    Entry* victim = nullptr;
    for (const auto& o : entries_) {
      if (o->state != ModelState::kLoaded || o->in_use > 0 || o->external) continue;
      if (!victim || o->lru < victim->lru) victim = o.get();
    }
    if (!victim) return false;
    say("unloading model " + victim->spec.name + " (least recently used) to load " + e.spec.name);
    unload_locked(*victim, out);
  }
}

Result<std::shared_ptr<LoadedModel>> ModelRegistry::load(Entry& e) {
  const ModelSpec& spec = e.spec;  // immutable once added
  YUN_ASSIGN_OR_RETURN(std::string dir, resolve_model_path(spec.source, ModelStore::from_env()));
  ModelTextOptions text_options;
  text_options.template_override = spec.chat_template_file;
  YUN_ASSIGN_OR_RETURN(ModelText text, load_model_text(dir, text_options));
  YUN_ASSIGN_OR_RETURN(EngineBuild build, spec.make_engine(dir, text.tokenizer));
  if (!build.engine) return internal_error("the engine factory gave no engine");
  if (!text.tokenizer) {
    YUN_LOG(kWarn, "no tokenizer.json in " + dir + ": only token-id prompts work for " + spec.name);
  }
  auto m = std::make_shared<LoadedModel>();
  m->name = spec.name;
  m->model_dir = dir;
  m->engine = std::shared_ptr<Engine>(std::move(build.engine));
  m->tokenizer = std::move(text.tokenizer);
  m->chat_template = std::move(text.chat_template);
  m->weight_bytes = weight_file_bytes(dir);
  m->kv_cache_bytes = build.kv_cache_bytes;
  return m;
}

void ModelRegistry::loader_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const auto now = Clock::now();
    std::vector<std::shared_ptr<LoadedModel>> to_shut;
    std::vector<std::pair<Done, Result<ModelHandle>>> to_call;
    auto next_wake = Clock::time_point::max();
    Entry* to_load = nullptr;
    for (const auto& ep : entries_) {
      Entry& e = *ep;
      // Waiters of a model loaded meanwhile get their handles.
      if (e.state == ModelState::kLoaded) {
        for (auto& w : e.waiters)
          to_call.emplace_back(std::move(w.done), make_handle_locked(e, w.keep_alive_s));
        e.waiters.clear();
      }
      // Waiters past their deadline give up.
      for (auto it = e.waiters.begin(); it != e.waiters.end();) {
        if (it->deadline <= now) {
          std::string why = e.state == ModelState::kLoading
                                ? "model `" + e.spec.name + "` is still loading; retry later"
                                : "no room to load model `" + e.spec.name +
                                      "`: the loaded models are all in use "
                                      "(--max-loaded-models / --memory-budget); retry later";
          to_call.emplace_back(std::move(it->done), unavailable(why));
          it = e.waiters.erase(it);
        } else {
          next_wake = std::min(next_wake, it->deadline);
          ++it;
        }
      }
      // Idle models past their keep_alive unload.
      if (e.state == ModelState::kLoaded && !e.external && e.in_use == 0) {
        double ka = keep_alive_of(e);
        if (ka >= 0) {
          auto expiry = e.last_used + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(ka));
          if (expiry <= now && e.waiters.empty()) {
            say("unloading model " + e.spec.name + " (idle past its keep_alive)");
            unload_locked(e, to_shut);
          } else if (expiry > now) {
            next_wake = std::min(next_wake, expiry);
          }
        }
      }
    }
    if (to_shut.empty() && to_call.empty()) {
      for (const auto& ep : entries_) {
        Entry& e = *ep;
        if (e.waiters.empty() || e.state == ModelState::kLoaded) continue;
        if (make_room_locked(e, to_shut)) {
          to_load = &e;
          break;
        }
      }
    }
    if (!to_shut.empty() || !to_call.empty()) {
      lock.unlock();
      for (auto& m : to_shut) {
        m->engine->shutdown();
        m.reset();
      }
      for (auto& [done, r] : to_call) done(std::move(r));
      to_call.clear();  // handles dropped here, unlocked
      lock.lock();
      continue;
    }
    if (to_load) {
      to_load->state = ModelState::kLoading;
      to_load->error.clear();
      lock.unlock();
      say("loading model " + to_load->spec.name + " from " + to_load->spec.source);
      auto t0 = Clock::now();
      auto r = load(*to_load);
      double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      lock.lock();
      Entry& e = *to_load;
      if (r.is_ok()) {
        e.model = std::move(*r);
        if (!e.metrics)
          e.metrics = std::make_unique<Metrics>(e.spec.name, e.model->engine->max_model_len());
        e.model->metrics = e.metrics.get();
        e.weight_bytes = e.model->weight_bytes;
        e.last_kv_bytes = e.model->kv_cache_bytes;
        e.state = ModelState::kLoaded;
        e.last_used = Clock::now();
        e.lru = ++tick_;
        ++e.loads;
        say("model " + e.spec.name + " loaded in " + std::to_string(secs) + " s");
        for (auto& w : e.waiters)
          to_call.emplace_back(std::move(w.done), make_handle_locked(e, w.keep_alive_s));
      } else {
        e.state = ModelState::kFailed;
        e.error = r.status().message();
        say("model " + e.spec.name + " failed to load: " + e.error);
        Status st(r.status().code(), "model `" + e.spec.name + "` failed to load: " + e.error);
        for (auto& w : e.waiters) to_call.emplace_back(std::move(w.done), st);
      }
      e.waiters.clear();
      lock.unlock();
      for (auto& [done, res] : to_call) done(std::move(res));
      to_call.clear();
      lock.lock();
      continue;
    }
    if (next_wake == Clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, next_wake);
    }
  }
}

std::vector<ModelSnapshot> ModelRegistry::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ModelSnapshot> out;
  const auto now = Clock::now();
  const auto wall = std::chrono::system_clock::now();
  bool first = true;
  for (const auto& ep : entries_) {
    const Entry& e = *ep;
    ModelSnapshot s;
    s.name = e.spec.name;
    s.aliases = e.spec.aliases;
    s.source = e.spec.source;
    s.state = e.state;
    s.error = e.error;
    s.is_default = first;
    first = false;
    s.in_use = e.in_use;
    s.loads = e.loads;
    s.keep_alive_s = e.external ? -1 : keep_alive_of(e);
    s.weight_bytes = std::max<int64_t>(e.weight_bytes, 0);
    if (e.state == ModelState::kLoaded && e.model) {
      EngineStats st = e.model->engine->stats();
      s.weight_bytes = e.model->weight_bytes;
      s.kv_cache_bytes = e.model->kv_cache_bytes;
      s.kv_cache_usage = st.kv_cache_usage;
      s.num_running = st.num_running;
      s.num_waiting = st.num_waiting;
      s.max_model_len = e.model->engine->max_model_len();
      if (e.in_use == 0) {
        s.idle_s = std::chrono::duration<double>(now - e.last_used).count();
        if (s.keep_alive_s >= 0) {
          s.expires_in_s = std::max(0.0, s.keep_alive_s - s.idle_s);
          s.expires_at =
              std::chrono::duration_cast<std::chrono::seconds>(
                  (wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              std::chrono::duration<double>(s.expires_in_s)))
                      .time_since_epoch())
                  .count();
        }
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

EngineStats ModelRegistry::total_stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  EngineStats t;
  double used_blocks = 0;
  for (const auto& ep : entries_) {
    if (ep->state != ModelState::kLoaded || !ep->model) continue;
    EngineStats s = ep->model->engine->stats();
    t.num_running += s.num_running;
    t.num_waiting += s.num_waiting;
    t.num_kv_blocks += s.num_kv_blocks;
    used_blocks += s.kv_cache_usage * static_cast<double>(s.num_kv_blocks);
    t.block_size = s.block_size;
    t.prefix_cache_enabled = t.prefix_cache_enabled || s.prefix_cache_enabled;
    t.prefix_cache_queries += s.prefix_cache_queries;
    t.prefix_cache_hits += s.prefix_cache_hits;
    t.prompt_tokens_total += s.prompt_tokens_total;
    t.generation_tokens_total += s.generation_tokens_total;
    t.num_preemptions += s.num_preemptions;
    t.steps += s.steps;
    t.memory_trims += s.memory_trims;
  }
  t.kv_cache_usage = t.num_kv_blocks > 0 ? used_blocks / static_cast<double>(t.num_kv_blocks) : 0;
  return t;
}

void ModelRegistry::for_each_loaded(const std::function<void(const LoadedModel&)>& fn) const {
  std::vector<std::shared_ptr<LoadedModel>> loaded;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& ep : entries_) {
      if (ep->state == ModelState::kLoaded && ep->model) loaded.push_back(ep->model);
    }
  }
  for (const auto& m : loaded) fn(*m);
}

bool ModelRegistry::unload(const std::string& name) {
  std::vector<std::shared_ptr<LoadedModel>> to_shut;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find_locked(name);
    if (!e || e->external || e->state != ModelState::kLoaded || e->in_use > 0) return false;
    unload_locked(*e, to_shut);
  }
  for (auto& m : to_shut) m->engine->shutdown();
  return true;
}

bool ModelRegistry::unload_when_idle(const std::string& name) {
  std::vector<std::shared_ptr<LoadedModel>> to_shut;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find_locked(name);
    if (!e || e->external || e->state != ModelState::kLoaded) return false;
    if (e->in_use > 0) {
      e->unload_when_idle = true;
      return true;
    }
    unload_locked(*e, to_shut);
  }
  for (auto& m : to_shut) m->engine->shutdown();
  return true;
}

void ModelRegistry::shutdown() {
  std::vector<Done> cancelled;
  std::vector<std::shared_ptr<LoadedModel>> to_shut;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !loader_.joinable()) return;
    stopping_ = true;
    for (const auto& ep : entries_) {
      for (auto& w : ep->waiters) cancelled.push_back(std::move(w.done));
      ep->waiters.clear();
    }
    cv_.notify_all();
  }
  if (loader_.joinable()) loader_.join();
  for (auto& d : cancelled) d(aborted("the server is shutting down"));
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& ep : entries_) {
      if (ep->state == ModelState::kLoaded && !ep->external) unload_locked(*ep, to_shut);
    }
  }
  for (auto& m : to_shut) m->engine->shutdown();
}

}  // namespace yun::serve
