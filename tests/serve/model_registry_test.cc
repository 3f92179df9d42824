// ModelRegistry (serve/model_registry.h) on the tiny golden checkpoints of
// tests/data/golden/models (real CPU runners and engines): load on first use,
// one load for concurrent acquisitions, idle unload by keep_alive (the
// server's and a request's, 0 and -1), LRU unload at --max-loaded-models and
// --memory-budget, a model in use never unloaded, a failed load isolated;
// parse_keep_alive; merge_prometheus_families.
// Run: build/tests/yun_serve_tests --gtest_filter='ModelRegistry*:KeepAlive*:MetricsMerge*'
#include "yun/serve/model_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "test_util.h"
#include "yun/compute/runner_factory.h"
#include "yun/serve/metrics_merge.h"

namespace yun::serve {
namespace {

using namespace std::chrono_literals;

struct FactoryProbe {
  std::atomic<int> calls{0};
  std::atomic<int> delay_ms{0};
};

// A real engine for a golden checkpoint: CPU, one thread, a small KV cache.
EngineFactory tiny_engine(std::shared_ptr<FactoryProbe> probe) {
  return
      [probe](const std::string& dir, std::shared_ptr<const Tokenizer> tok) -> Result<EngineBuild> {
        ++probe->calls;
        if (probe->delay_ms > 0)
          std::this_thread::sleep_for(std::chrono::milliseconds(probe->delay_ms.load()));
        DeviceOptions device;
        device.device = "cpu";
        device.cpu.num_threads = 1;
        YUN_ASSIGN_OR_RETURN(auto runner, create_runner(dir, device));
        EngineConfig cfg;
        cfg.kv_cache_memory = 2 << 20;
        cfg.max_num_seqs = 4;
        cfg.max_model_len = 128;
        YUN_ASSIGN_OR_RETURN(auto engine, Engine::create(cfg, std::move(runner), std::move(tok)));
        EngineBuild b;
        b.engine = std::move(engine);
        b.kv_cache_bytes = 2 << 20;
        return b;
      };
}

ModelSpec spec(const std::string& name, const std::string& golden,
               std::shared_ptr<FactoryProbe> probe) {
  ModelSpec s;
  s.name = name;
  s.source = golden.empty() ? "/nonexistent/yun-test-model" : test::golden_model(golden);
  s.make_engine = tiny_engine(std::move(probe));
  return s;
}

ModelSnapshot snap_of(const ModelRegistry& r, const std::string& name) {
  for (auto& s : r.snapshot()) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no entry " << name;
  return {};
}

// Waits until `name` is in `state` (or 5 s pass).
bool wait_for_state(const ModelRegistry& r, const std::string& name, ModelState state) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (snap_of(r, name).state == state) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// One greedy token from the model: the engine really runs.
void generate_one(const LoadedModel& m) {
  auto done = std::make_shared<std::promise<FinishReason>>();
  GenerateRequest req;
  req.prompt_ids = {1, 2, 3};
  req.params.temperature = 0;
  req.params.max_tokens = 1;
  req.params.ignore_eos = true;
  req.sink = [done](const RequestEvent& ev) {
    if (ev.finish) done->set_value(*ev.finish);
  };
  ASSERT_TRUE(m.engine->submit(std::move(req)).is_ok());
  auto f = done->get_future();
  ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(f.get(), FinishReason::kLength);
}

TEST(ModelRegistryTest, LoadsOnFirstUse) {
  auto probe = std::make_shared<FactoryProbe>();
  ModelRegistry r;
  ASSERT_TRUE(r.add(spec("qwen2", "qwen2-tiny", probe)).is_ok());
  EXPECT_EQ(snap_of(r, "qwen2").state, ModelState::kUnloaded);
  EXPECT_GT(snap_of(r, "qwen2").weight_bytes, 0);  // measured from the files before a load
  EXPECT_EQ(probe->calls, 0);
  auto h = r.acquire("qwen2");
  ASSERT_TRUE(h.is_ok()) << h.status().message();
  ASSERT_TRUE(*h);
  EXPECT_EQ((*h)->name, "qwen2");
  EXPECT_EQ(probe->calls, 1);
  EXPECT_EQ(snap_of(r, "qwen2").state, ModelState::kLoaded);
  EXPECT_EQ(snap_of(r, "qwen2").in_use, 1);
  generate_one(**h);
  // The default model is the first; "" names it.
  EXPECT_EQ(r.resolve(""), "qwen2");
  auto again = r.try_acquire("", std::nullopt);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->get(), h->get());
  EXPECT_EQ(probe->calls, 1);
}

TEST(ModelRegistryTest, UnknownNameIsNotFound) {
  ModelRegistry r;
  ASSERT_TRUE(r.add(spec("qwen2", "qwen2-tiny", std::make_shared<FactoryProbe>())).is_ok());
  auto h = r.acquire("nope");
  ASSERT_FALSE(h.is_ok());
  EXPECT_EQ(h.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(r.try_acquire("nope", std::nullopt).is_ok());
  // Names are unique across names and aliases.
  ModelSpec dup = spec("other", "qwen3-tiny", std::make_shared<FactoryProbe>());
  dup.aliases = {"qwen2"};
  EXPECT_FALSE(r.add(std::move(dup)).is_ok());
}

TEST(ModelRegistryTest, ConcurrentAcquireDuringLoadWaitsForOneLoad) {
  auto probe = std::make_shared<FactoryProbe>();
  probe->delay_ms = 300;
  ModelRegistry r;
  ASSERT_TRUE(r.add(spec("qwen3", "qwen3-tiny", probe)).is_ok());
  std::vector<std::future<Result<ModelHandle>>> got;
  for (int i = 0; i < 6; ++i) {
    got.push_back(std::async(std::launch::async, [&r] { return r.acquire("qwen3"); }));
  }
  EXPECT_TRUE(wait_for_state(r, "qwen3", ModelState::kLoading));
  std::vector<ModelHandle> handles;
  for (auto& f : got) {
    auto h = f.get();
    ASSERT_TRUE(h.is_ok()) << h.status().message();
    handles.push_back(*h);
  }
  EXPECT_EQ(probe->calls, 1);
  for (auto& h : handles) EXPECT_EQ(h.get(), handles[0].get());
  EXPECT_EQ(snap_of(r, "qwen3").in_use, 6);
  handles.clear();
  EXPECT_EQ(snap_of(r, "qwen3").in_use, 0);
}

TEST(ModelRegistryTest, AsyncAcquireNeverRunsTheLoadOnTheCaller) {
  auto probe = std::make_shared<FactoryProbe>();
  probe->delay_ms = 200;
  ModelRegistry r;
  ASSERT_TRUE(r.add(spec("qwen2", "qwen2-tiny", probe)).is_ok());
  auto done = std::make_shared<std::promise<std::thread::id>>();
  auto t0 = std::chrono::steady_clock::now();
  r.acquire_async("qwen2", std::nullopt, [done](Result<ModelHandle> h) {
    EXPECT_TRUE(h.is_ok());
    done->set_value(std::this_thread::get_id());
  });
  // Returned at once, before the (200 ms) load.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 150ms);
  auto f = done->get_future();
  ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
  EXPECT_NE(f.get(), std::this_thread::get_id());
}

TEST(ModelRegistryTest, IdleUnloadAfterKeepAlive) {
  RegistryOptions o;
  o.keep_alive_s = 0.2;
  ModelRegistry r(o);
  auto probe = std::make_shared<FactoryProbe>();
  ASSERT_TRUE(r.add(spec("qwen2", "qwen2-tiny", probe)).is_ok());
  {
    auto h = r.acquire("qwen2");
    ASSERT_TRUE(h.is_ok());
    std::this_thread::sleep_for(400ms);  // in use: past keep_alive, still loaded
    EXPECT_EQ(snap_of(r, "qwen2").state, ModelState::kLoaded);
  }
  auto s = snap_of(r, "qwen2");
  EXPECT_GE(s.expires_in_s, 0);
  EXPECT_LE(s.expires_in_s, 0.2);
  EXPECT_TRUE(wait_for_state(r, "qwen2", ModelState::kUnloaded));
  // Loads again on the next use.
  auto h = r.acquire("qwen2");
  ASSERT_TRUE(h.is_ok());
  EXPECT_EQ(probe->calls, 2);
  EXPECT_EQ(snap_of(r, "qwen2").loads, 2);
}

TEST(ModelRegistryTest, RequestKeepAliveZeroUnloadsAndMinusOnePins) {
  RegistryOptions o;
  o.keep_alive_s = 0.2;
  ModelRegistry r(o);
  ASSERT_TRUE(r.add(spec("qwen2", "qwen2-tiny", std::make_shared<FactoryProbe>())).is_ok());
  ASSERT_TRUE(r.add(spec("qwen3", "qwen3-tiny", std::make_shared<FactoryProbe>())).is_ok());
  {
    auto pinned = r.acquire("qwen3", -1.0);
    ASSERT_TRUE(pinned.is_ok());
    auto once = r.acquire("qwen2", 0.0);
    ASSERT_TRUE(once.is_ok());
  }
  EXPECT_TRUE(wait_for_state(r, "qwen2", ModelState::kUnloaded));
  std::this_thread::sleep_for(500ms);  // past the server's keep_alive
  auto s = snap_of(r, "qwen3");
  EXPECT_EQ(s.state, ModelState::kLoaded);
  EXPECT_LT(s.keep_alive_s, 0);
  EXPECT_EQ(s.expires_in_s, -1);
  // A later request without keep_alive puts back the server's default.
  { auto h = r.acquire("qwen3"); }
  EXPECT_TRUE(wait_for_state(r, "qwen3", ModelState::kUnloaded));
}

TEST(ModelRegistryTest, SpecKeepAliveIsTheModelsDefault) {
  RegistryOptions o;
  o.keep_alive_s = 0.2;  // the server's
  ModelRegistry r(o);
  ModelSpec pinned = spec("qwen3", "qwen3-tiny", std::make_shared<FactoryProbe>());
  pinned.keep_alive_s = -1;  // --models-config "keep_alive": -1
  ASSERT_TRUE(r.add(std::move(pinned)).is_ok());
  ASSERT_TRUE(r.add(spec("qwen2", "qwen2-tiny", std::make_shared<FactoryProbe>())).is_ok());
  { auto a = r.acquire("qwen3"), b = r.acquire("qwen2"); }
  EXPECT_TRUE(wait_for_state(r, "qwen2", ModelState::kUnloaded));  // the server's 0.2 s
  auto s = snap_of(r, "qwen3");
  EXPECT_EQ(s.state, ModelState::kLoaded);
  EXPECT_LT(s.keep_alive_s, 0);
  // A request's own keep_alive still wins, until the next request.
  { auto h = r.acquire("qwen3", 0.0); }
  EXPECT_TRUE(wait_for_state(r, "qwen3", ModelState::kUnloaded));
}

TEST(ModelRegistryTest, LeastRecentlyUsedUnloadsAtMaxLoaded) {
  RegistryOptions o;
  o.max_loaded = 2;
  ModelRegistry r(o);
  ASSERT_TRUE(r.add(spec("a", "qwen2-tiny", std::make_shared<FactoryProbe>())).is_ok());
  ASSERT_TRUE(r.add(spec("b", "qwen3-tiny", std::make_shared<FactoryProbe>())).is_ok());
  ASSERT_TRUE(r.add(spec("c", "llama-tiny", std::make_shared<FactoryProbe>())).is_ok());
  {
    auto h = r.acquire("a");
    ASSERT_TRUE(h.is_ok());
  }
  {
    auto h = r.acquire("b");
    ASSERT_TRUE(h.is_ok());
  }
  {
    auto h = r.acquire("a");
    ASSERT_TRUE(h.is_ok());
  }  // a is now the more recent
  auto c = r.acquire("c");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(snap_of(r, "a").state, ModelState::kLoaded);
  EXPECT_EQ(snap_of(r, "b").state, ModelState::kUnloaded);
  EXPECT_EQ(snap_of(r, "c").state, ModelState::kLoaded);
}

TEST(ModelRegistryTest, MemoryBudgetUnloadsLeastRecentlyUsed) {
  // Room for one tiny model (weights + its 2 MiB KV cache) and half of
  // another's weights: loading b must unload a.
  int64_t one = 0;
  {
    ModelRegistry probe_registry;
    ASSERT_TRUE(
        probe_registry.add(spec("a", "qwen3-tiny", std::make_shared<FactoryProbe>())).is_ok());
    auto h = probe_registry.acquire("a");
    ASSERT_TRUE(h.is_ok());
    one = (*h)->weight_bytes + (*h)->kv_cache_bytes;
  }
  RegistryOptions o;
  ModelRegistry sizes;
  ASSERT_TRUE(sizes.add(spec("b", "qwen2-tiny", std::make_shared<FactoryProbe>())).is_ok());
  o.memory_budget = one + snap_of(sizes, "b").weight_bytes / 2;
  ModelRegistry r(o);
  ASSERT_TRUE(r.add(spec("a", "qwen3-tiny", std::make_shared<FactoryProbe>())).is_ok());
  ASSERT_TRUE(r.add(spec("b", "qwen2-tiny", std::make_shared<FactoryProbe>())).is_ok());
  ASSERT_GT(snap_of(r, "b").weight_bytes, 0);
  {
    auto h = r.acquire("a");
    ASSERT_TRUE(h.is_ok());
  }
  auto b = r.acquire("b");
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  EXPECT_EQ(snap_of(r, "a").state, ModelState::kUnloaded);
  EXPECT_EQ(snap_of(r, "b").state, ModelState::kLoaded);
}

TEST(ModelRegistryTest, ModelInUseIsNeverUnloaded) {
  RegistryOptions o;
  o.max_loaded = 1;
  o.keep_alive_s = 0;  // idle models would go at once
  o.load_wait_s = 0.4;
  ModelRegistry r(o);
  ASSERT_TRUE(r.add(spec("a", "qwen2-tiny", std::make_shared<FactoryProbe>())).is_ok());
  ASSERT_TRUE(r.add(spec("b", "qwen3-tiny", std::make_shared<FactoryProbe>())).is_ok());
  auto a = r.acquire("a");
  ASSERT_TRUE(a.is_ok());
  auto t0 = std::chrono::steady_clock::now();
  auto b = r.acquire("b");  // no room: a is in use
  ASSERT_FALSE(b.is_ok());
  EXPECT_EQ(b.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(b.status().message().find("no room"), std::string::npos) << b.status().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 350ms);
  EXPECT_EQ(snap_of(r, "a").state, ModelState::kLoaded);
  generate_one(**a);  // still serving
  // A waiter gets its model once the one in use is released.
  auto pending = std::async(std::launch::async, [&r] { return r.acquire("b"); });
  std::this_thread::sleep_for(100ms);
  a->reset();
  auto got = pending.get();
  ASSERT_TRUE(got.is_ok()) << got.status().message();
  EXPECT_EQ(snap_of(r, "a").state, ModelState::kUnloaded);
}

TEST(ModelRegistryTest, FailedLoadIsIsolated) {
  ModelRegistry r;
  auto good_probe = std::make_shared<FactoryProbe>();
  ASSERT_TRUE(r.add(spec("good", "qwen2-tiny", good_probe)).is_ok());
  ASSERT_TRUE(r.add(spec("broken", "", std::make_shared<FactoryProbe>())).is_ok());
  auto good = r.acquire("good");
  ASSERT_TRUE(good.is_ok());
  auto bad = r.acquire("broken");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("model `broken` failed to load"), std::string::npos)
      << bad.status().message();
  auto s = snap_of(r, "broken");
  EXPECT_EQ(s.state, ModelState::kFailed);
  EXPECT_FALSE(s.error.empty());
  EXPECT_EQ(snap_of(r, "good").state, ModelState::kLoaded);
  generate_one(**good);
  // The next acquisition tries again (and fails the same way).
  EXPECT_FALSE(r.acquire("broken").is_ok());
  EXPECT_EQ(good_probe->calls, 1);
}

TEST(ModelRegistryTest, HandlesOutliveShutdown) {
  auto probe = std::make_shared<FactoryProbe>();
  ModelHandle kept;
  {
    ModelRegistry r;
    ASSERT_TRUE(r.add(spec("a", "qwen2-tiny", probe)).is_ok());
    auto h = r.acquire("a");
    ASSERT_TRUE(h.is_ok());
    kept = *h;
    r.shutdown();
    EXPECT_FALSE(r.acquire("a").is_ok());
  }
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->name, "a");
  kept.reset();  // after the registry: no crash
}

TEST(KeepAliveTest, ParsesOllamaDurations) {
  EXPECT_EQ(*parse_keep_alive("5m"), 300);
  EXPECT_EQ(*parse_keep_alive("30s"), 30);
  EXPECT_EQ(*parse_keep_alive("1h30m"), 5400);
  EXPECT_DOUBLE_EQ(*parse_keep_alive("250ms"), 0.25);
  EXPECT_EQ(*parse_keep_alive("90"), 90);
  EXPECT_EQ(*parse_keep_alive("0"), 0);
  EXPECT_EQ(*parse_keep_alive("-1"), -1);
  EXPECT_EQ(*parse_keep_alive("-5m"), -1);
  EXPECT_FALSE(parse_keep_alive("").is_ok());
  EXPECT_FALSE(parse_keep_alive("soon").is_ok());
  EXPECT_FALSE(parse_keep_alive("5x").is_ok());
  EXPECT_FALSE(parse_keep_alive("5m3").is_ok());
  EXPECT_EQ(*keep_alive_from_json(nlohmann::ordered_json(12)), 12);
  EXPECT_EQ(*keep_alive_from_json(nlohmann::ordered_json(-1)), -1);
  EXPECT_EQ(*keep_alive_from_json(nlohmann::ordered_json("2m")), 120);
  EXPECT_FALSE(keep_alive_from_json(nlohmann::ordered_json(true)).is_ok());
}

TEST(MetricsMergeTest, EachFamilyOnce) {
  std::string a =
      "# HELP x_total X.\n# TYPE x_total counter\nx_total{model_name=\"a\"} 1\n"
      "# HELP y Y.\n# TYPE y gauge\ny{model_name=\"a\"} 2\n";
  std::string b =
      "# HELP x_total X.\n# TYPE x_total counter\nx_total{model_name=\"b\"} 3\n"
      "# HELP y Y.\n# TYPE y gauge\ny{model_name=\"b\"} 4\n";
  EXPECT_EQ(merge_prometheus_families({a}), a);
  EXPECT_EQ(merge_prometheus_families({}), "");
  EXPECT_EQ(merge_prometheus_families({a, b}),
            "# HELP x_total X.\n# TYPE x_total counter\nx_total{model_name=\"a\"} 1\n"
            "x_total{model_name=\"b\"} 3\n"
            "# HELP y Y.\n# TYPE y gauge\ny{model_name=\"a\"} 2\ny{model_name=\"b\"} 4\n");
}

}  // namespace
}  // namespace yun::serve
