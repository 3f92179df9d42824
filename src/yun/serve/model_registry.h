// ModelRegistry: the models one `yun serve` offers, loaded on first use and
// unloaded when idle (issue 16).
//
// Each entry is a ModelSpec (a name, aliases, a directory or HF repo id and
// its own engine factory) in one of four states: unloaded, loading, loaded,
// failed (with the error). A loaded entry owns its Engine, tokenizer, chat
// template (text/model_text.h's one rule) and ModelConfig (the engine's).
//
// Acquiring. acquire_async(name) hands out a ModelHandle: a shared_ptr to
// the loaded model that also counts as one use of it. While any copy of a
// handle is alive the model is "in use" and is never unloaded; the last copy
// dropped ends the use (and starts the idle clock). A model that is not
// loaded is loaded on the registry's loader thread (one thread: loads run one
// at a time, never on the caller's thread); acquisitions that arrive during a
// load wait for it and all get the same instance. A waiter gives up after
// options.load_wait_s with kUnavailable ("still loading" or "no room").
// A failed load gives its error (kept as the entry's state) to the waiters of
// that load; the next acquisition tries again. Other models are unaffected.
//
// Unloading. A model not in use unloads keep_alive seconds after its last use
// ended. keep_alive is the model's default (its spec's keep_alive_s, else the
// server's options.keep_alive_s, `--keep-alive`) unless the last request that
// used it gave its own (the `keep_alive` body field): < 0 pins the model
// (never unloaded when idle), 0 unloads it as soon as the request ends. As
// Ollama does, each request sets it again: a request without one puts back
// the default.
//
// Room. Before a load, while it would pass options.max_loaded (models loaded
// or loading) or options.memory_budget (the sum of their weights + KV cache
// bytes, the new one estimated from its weight files and its last KV size,
// or its kv_cache_bytes_hint before its first load),
// the least recently used model not in use is unloaded first. A model in use
// is never unloaded: when nothing can go, the load waits (bounded, as above).
// The memory budget never stops a load when no other model is loaded (the
// only model always fits).
//
// Threads. Every method is thread-safe. Completion callbacks run on the
// caller's thread (already loaded), or on the loader thread (after a load,
// or a timeout): they must be quick (post the rest elsewhere).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "yun/base/status.h"
#include "yun/engine/engine.h"
#include "yun/serve/grammar_cache.h"
#include "yun/serve/keep_alive.h"
#include "yun/serve/metrics.h"
#include "yun/text/chat_template.h"
#include "yun/text/tokenizer.h"

namespace yun::serve {

// What an engine factory gives back: the started engine and the bytes of its
// KV cache (for --memory-budget and `yun ps`; 0 when unknown).
struct EngineBuild {
  std::unique_ptr<Engine> engine;
  int64_t kv_cache_bytes = 0;
};

// Builds the engine of a model from its resolved directory and its tokenizer
// (null when it has none). The per-model engine options live in it.
using EngineFactory = std::function<Result<EngineBuild>(const std::string& model_dir,
                                                        std::shared_ptr<const Tokenizer>)>;

struct ModelSpec {
  std::string name;                  // the served name (the /v1/models id); unique
  std::vector<std::string> aliases;  // more names a request may use; unique
  std::string source;                // a model directory or a repo id (ORG/NAME[@REV])
  std::string chat_template_file;    // overrides the model's chat template ("" none)
  EngineFactory make_engine;         // required (add() refuses an empty one)
  // Its KV cache's bytes before it was ever loaded (--memory-budget's
  // estimate; e.g. --kv-cache-memory / N); 0: unknown.
  int64_t kv_cache_bytes_hint = 0;
  // Its default keep_alive (seconds, < 0 never); nullopt: the server's.
  std::optional<double> keep_alive_s;
};

// A loaded model: what a request needs of it. Immutable once loaded.
struct LoadedModel {
  std::string name;                                   // the entry's served name
  std::string model_dir;                              // the resolved directory
  std::shared_ptr<Engine> engine;                     // never null
  std::shared_ptr<const Tokenizer> tokenizer;         // null: token-id prompts only
  std::shared_ptr<const ChatTemplate> chat_template;  // null: no chat template
  Metrics* metrics = nullptr;                         // the entry's; lives as long as the registry
  // Its compiled structured-output grammars (they depend on its vocabulary);
  // thread-safe, dropped with the model.
  std::shared_ptr<GrammarCache> grammars = std::make_shared<GrammarCache>();
  int64_t weight_bytes = 0;  // the weight files' size
  int64_t kv_cache_bytes = 0;
  const ModelConfig& config() const { return engine->model_config(); }
};

// One use of a loaded model (see the top of this file).
using ModelHandle = std::shared_ptr<const LoadedModel>;

enum class ModelState { kUnloaded, kLoading, kLoaded, kFailed };
const char* model_state_name(ModelState s);  // "unloaded", "loading", "loaded", "failed"

// One entry as snapshot() sees it (`yun ps`, /v1/models, /v1/yun/ps).
struct ModelSnapshot {
  std::string name;
  std::vector<std::string> aliases;
  std::string source;
  ModelState state = ModelState::kUnloaded;
  std::string error;           // kFailed: why
  bool is_default = false;     // the first entry
  int64_t weight_bytes = 0;    // loaded: the model's; else the estimate (weight files)
  int64_t kv_cache_bytes = 0;  // loaded: its KV cache; else 0
  double kv_cache_usage = 0;   // fraction of KV blocks in use (loaded)
  int64_t num_running = 0, num_waiting = 0;
  int32_t max_model_len = 0;  // loaded
  int in_use = 0;             // handles alive now
  double idle_s = 0;          // loaded and not in use: seconds since its last use ended
  double keep_alive_s = 0;    // what applies now (< 0: pinned)
  // Loaded, idle and not pinned: seconds until it unloads (>= 0) and that
  // moment as Unix seconds; -1 and 0 otherwise.
  double expires_in_s = -1;
  int64_t expires_at = 0;
  int64_t loads = 0;  // times it was loaded
};

struct RegistryOptions {
  double keep_alive_s = 300;  // the default idle time before unloading; < 0: never
  int max_loaded = 0;         // most models loaded (or loading) at once; 0: no limit
  int64_t memory_budget = 0;  // bytes of weights + KV caches; 0: no limit
  double load_wait_s = 600;   // how long an acquisition waits for a load or for room
  // Gets one line per load, unload and failed load (on the loader thread, or
  // the caller of unload/shutdown); empty: silent.
  std::function<void(const std::string&)> log;
};

class ModelRegistry {
 public:
  explicit ModelRegistry(RegistryOptions options = {});
  // Stops the loader thread and unloads every model (shutdown()).
  ~ModelRegistry();
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // Adds an unloaded entry; the first added is the default model.
  // Errors: kInvalidArgument for an empty name or source, no factory, or a
  // name / alias another entry already has.
  Status add(ModelSpec spec);
  // Adds an entry that is already loaded (an engine built elsewhere: the
  // one-engine OpenAiService constructor, tests) and pinned. `model.engine`
  // and `model.metrics` must be set. Errors: as add().
  Status add_loaded(ModelSpec spec, LoadedModel model);

  // The served name `name` stands for (an entry name or alias; "" is the
  // default model); nullopt when no entry has it.
  std::optional<std::string> resolve(const std::string& name) const;
  std::vector<std::string> names() const;  // entry names, default first
  // An entry's names: its served name, then its aliases (empty when unknown).
  std::vector<std::string> names_of(const std::string& name) const;
  size_t size() const;

  using Done = std::function<void(Result<ModelHandle>)>;
  // A use of the model `name` (resolve()'s rule), loading it first when it
  // is not loaded. `keep_alive_s` (nullopt: the server's) applies when this
  // use ends. `done` gets the handle, or kNotFound (unknown name),
  // kUnavailable (waited options.load_wait_s), "model `NAME` failed to
  // load: WHY" with the load error's code, or kAborted (shutting down); see
  // the top of this file for the thread it runs on.
  void acquire_async(const std::string& name, std::optional<double> keep_alive_s, Done done);
  // The handle at once when the model is loaded; nullptr (and nothing
  // started) when it is not. Errors: kNotFound for an unknown name.
  Result<ModelHandle> try_acquire(const std::string& name, std::optional<double> keep_alive_s);
  // acquire_async, waiting for `done` (not on an io thread).
  Result<ModelHandle> acquire(const std::string& name, std::optional<double> keep_alive_s = {});

  // Every entry, in order.
  std::vector<ModelSnapshot> snapshot() const;
  // The engine stats of every loaded model, summed (num_kv_blocks, counters;
  // kv_cache_usage is the block-weighted mean).
  EngineStats total_stats() const;
  // Calls fn(handle) for every loaded model (without making it "in use"
  // beyond the call). For /metrics.
  void for_each_loaded(const std::function<void(const LoadedModel&)>& fn) const;

  // Unloads a model now unless it is in use. False when in use, not loaded
  // or unknown.
  bool unload(const std::string& name);
  // Unloads a model now, or, while it is in use, as soon as its last use
  // ends (whatever keep_alive those uses gave: Ollama's keep_alive 0
  // request). False when not loaded or unknown.
  bool unload_when_idle(const std::string& name);
  // Fails pending acquisitions (kAborted), stops the loader thread, shuts
  // down every engine. Idempotent.
  void shutdown();

 private:
  struct Entry;
  struct Waiter;
  struct Lease;
  using Clock = std::chrono::steady_clock;

  Entry* find_locked(const std::string& name) const;
  ModelHandle make_handle_locked(Entry& e, std::optional<double> keep_alive_s);
  void release(Entry* e, std::optional<double> keep_alive_s);
  void loader_loop();
  // True when `e` may start loading now, after unloading what must go (the
  // unloaded engines are appended to `out` to be shut down unlocked).
  bool make_room_locked(Entry& e, std::vector<std::shared_ptr<LoadedModel>>& out);
  void unload_locked(Entry& e, std::vector<std::shared_ptr<LoadedModel>>& out);
  int64_t estimate_bytes_locked(const Entry& e) const;
  double keep_alive_of(const Entry& e) const;
  void say(const std::string& line) const;
  Result<std::shared_ptr<LoadedModel>> load(Entry& e);  // unlocked; on the loader thread

  RegistryOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;                   // wakes the loader thread
  std::vector<std::unique_ptr<Entry>> entries_;  // guarded by mu_ (the vector; entries are stable)
  bool stopping_ = false;                        // guarded by mu_
  uint64_t tick_ = 0;                            // LRU clock; guarded by mu_
  struct Anchor;                                 // leases reach the registry through it
  std::shared_ptr<Anchor> anchor_;               // (null once the registry is gone)
  std::thread loader_;
};

}  // namespace yun::serve
