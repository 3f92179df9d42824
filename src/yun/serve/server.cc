#include "yun/base/mapped_file.h"
#include "yun/serve/server.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "yun/base/exit_code.h"
#include "yun/base/log.h"
#include "yun/model/model_store.h"
#include "yun/text/model_text.h"

namespace yun::serve {
namespace {

int fail(int code, const std::string& msg) {
  std::fprintf(stderr, "yun serve: %s\n", msg.c_str());
  return code;
}

// Seconds since this process started (/proc/self/stat's start time, in
// clock ticks since boot, against /proc/uptime); -1 when unknown.
double seconds_since_process_start() {
  std::ifstream stat("/proc/self/stat"), up("/proc/uptime");
  std::string line;
  double uptime = 0;
  if (!std::getline(stat, line) || !(up >> uptime)) return -1;
  auto close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  for (int i = 3; i < 22; ++i) rest >> field;  // fields 3..21; 22 is the start time
  unsigned long long start_ticks = 0;
  if (!(rest >> start_ticks)) return -1;
  return uptime - static_cast<double>(start_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// One tiny greedy generation (one prompt token, one new token) so that the
// first real request does not pay for first-touch page faults and lazy set-up.
Status warm_up(Engine& engine) {
  auto done = std::make_shared<std::promise<Status>>();
  auto result = done->get_future();
  GenerateRequest req;
  req.prompt_ids = {0};
  req.params.temperature = 0;
  req.params.max_tokens = 1;
  req.params.ignore_eos = true;
  req.sink = [done](const RequestEvent& ev) {
    if (!ev.finish) return;
    done->set_value(*ev.finish == FinishReason::kError ? ev.error : Status());
  };
  auto id = engine.submit(std::move(req));
  if (!id.is_ok()) return id.status();
  if (result.wait_for(std::chrono::minutes(5)) != std::future_status::ready) {
    engine.abort(*id);
    return unavailable("warm-up generation took over 5 minutes");
  }
  return result.get();
}

}  // namespace

int run_server(ServerConfig cfg) {
  // Block the signals in every thread we start; the main thread sigwaits.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<tenancy::Tenancy> tenancy;
  if (!cfg.tenancy.where.empty()) {
    std::string bootstrap;
    auto t = tenancy::Tenancy::open(cfg.tenancy, &bootstrap);
    if (!t.is_ok()) return fail(exit_code_for(t.status()), "tenancy: " + t.status().message());
    tenancy = std::move(*t);
    cfg.service.tenancy = tenancy.get();
    std::fprintf(stderr, "yun serve: tenancy on (%s)\n", tenancy->store().describe().c_str());
    if (!bootstrap.empty()) {
      std::fprintf(stderr,
                   "yun serve: no admin key yet; created one for the tenant \"admin\". It is "
                   "shown this once, store it now:\n  %s\n",
                   bootstrap.c_str());
    }
  }

  if (cfg.models.empty()) return fail(2, "no model to serve");
  // Loads and unloads are logged once the server is up (a failed start
  // stays one line).
  auto started = std::make_shared<std::atomic<bool>>(false);
  if (!cfg.registry.log) {
    cfg.registry.log = [started](const std::string& line) {
      if (started->load()) std::fprintf(stderr, "yun serve: %s\n", line.c_str());
    };
  }
  ModelRegistry registry(cfg.registry);
  for (auto& spec : cfg.models) {
    if (Status st = registry.add(std::move(spec)); !st.is_ok()) return fail(2, st.message());
  }
  const std::string default_name = registry.names().front();
  // The default model loads now (on the registry's loader thread), and stays
  // in use until its warm-up is done.
  auto loaded = registry.acquire(default_name);
  if (!loaded.is_ok()) return fail(exit_code_for(loaded.status()), loaded.status().message());
  ModelHandle default_model = std::move(*loaded);
  Engine* engine = default_model->engine.get();

  OpenAiService service(cfg.service, &registry);
  auto server_r =
      HttpServer::start(cfg.http, [&service](HttpRequest req, std::shared_ptr<ResponseWriter> w) {
        service.handle(std::move(req), std::move(w));
      });
  if (!server_r.is_ok()) {
    default_model.reset();
    registry.shutdown();
    if (cfg.kv_events) cfg.kv_events->stop();
    return fail(1, server_r.status().message());
  }
  std::unique_ptr<HttpServer> server = std::move(*server_r);
  std::fprintf(stderr, "yun serve: model %s (max_model_len %d) on http://%s:%d\n",
               default_name.c_str(), engine->max_model_len(), cfg.http.host.c_str(),
               server->port());
  if (registry.size() > 1) {
    std::string others;
    for (const auto& n : registry.names()) {
      if (n != default_name) others += (others.empty() ? "" : ", ") + n;
    }
    std::fprintf(stderr, "yun serve: %zu more model%s, loaded on first use: %s\n",
                 registry.size() - 1, registry.size() > 2 ? "s" : "", others.c_str());
  }
  if (cfg.kv_events) {
    std::string topic = cfg.kv_events_topic.empty()
                            ? default_kv_events_topic(cfg.http.host, server->port(), default_name)
                            : cfg.kv_events_topic;
    cfg.kv_events->start(topic);
    std::fprintf(stderr, "yun serve: KV-cache events on topic %s\n", topic.c_str());
  }
  std::fflush(stderr);
  if (Status st = warm_up(*engine); !st.is_ok()) {
    server->stop();
    default_model.reset();
    registry.shutdown();
    return fail(1, "warm-up generation failed: " + st.message());
  }
  default_model.reset();  // idle from now: keep_alive applies
  started->store(true);
  service.set_ready(true);
  std::fprintf(stderr, "yun serve: ready (/health/ready 200) %.3f s after process start\n",
               seconds_since_process_start());
  std::fflush(stderr);

  int sig = 0;
  sigwait(&set, &sig);
  service.set_ready(false);  // /health/ready 503 from here: load balancers stop sending work
  std::fprintf(stderr, "yun serve: %s received, draining (up to %.0f s)\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM", cfg.drain_timeout_s);
  server->stop_accepting();
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(cfg.drain_timeout_s * 1000));
  timespec tick{0, 50 * 1000 * 1000};
  while (server->active_requests() > 0 && std::chrono::steady_clock::now() < deadline) {
    if (sigtimedwait(&set, nullptr, &tick) > 0) {
      std::fprintf(stderr, "yun serve: second signal, stopping now\n");
      break;
    }
  }
  registry.shutdown();  // every engine aborts what is left; their clients get a final event
  if (cfg.kv_events) cfg.kv_events->stop();  // the engine's last events, then AllBlocksCleared
  for (int i = 0; i < 20 && server->active_requests() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server->stop();
  if (tenancy) {
    tenancy->drain(std::chrono::seconds(10));  // every usage record committed
    auto ls = tenancy->ledger().stats();
    if (ls.dropped > 0) {
      std::fprintf(stderr, "yun serve: %lld usage records could not be committed\n",
                   static_cast<long long>(ls.dropped));
    }
  }
  std::fprintf(stderr, "yun serve: stopped\n");
  std::fflush(stderr);
  // Connections still referenced by in-flight jobs die with the process.
  std::_Exit(0);
}

}  // namespace yun::serve
