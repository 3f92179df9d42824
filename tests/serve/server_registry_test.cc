// OpenAiService on a ModelRegistry of FakeEngines (real HTTP server, no
// model): a request names its model and loads it, /v1/models shows each
// entry's status, keep_alive 0 in the body unloads after the request, a
// failed load is a 500 model_load_failed while the others serve, no room
// (the only slot in use) is a 503 after the load wait, GET /v1/yun/ps.
// Run: build/tests/yun_serve_tests --gtest_filter='ServerRegistry*'
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "server_fixture.h"
#include "yun/serve/model_registry.h"

namespace yun::serve::testing {
namespace {

using namespace std::chrono_literals;

class ServerRegistryTest : public ::testing::Test {
 protected:
  void start(RegistryOptions o = {}) {
    char tmpl[] = "/tmp/yun-registry-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;  // an empty model directory: no tokenizer, no template
    registry_ = std::make_unique<ModelRegistry>(o);
    for (const char* name : {"one", "two"}) {
      ModelSpec s;
      s.name = name;
      s.source = dir_;
      s.make_engine = [](const std::string&,
                         std::shared_ptr<const Tokenizer>) -> Result<EngineBuild> {
        EngineBuild b;
        b.engine = std::make_unique<FakeEngine>("abcdef");
        b.kv_cache_bytes = 1000;
        return b;
      };
      ASSERT_TRUE(registry_->add(std::move(s)).is_ok());
    }
    ModelSpec broken;
    broken.name = "broken";
    broken.source = dir_;
    broken.make_engine = [](const std::string&,
                            std::shared_ptr<const Tokenizer>) -> Result<EngineBuild> {
      return invalid_argument("weights are corrupt");
    };
    ASSERT_TRUE(registry_->add(std::move(broken)).is_ok());
    service_ = std::make_unique<OpenAiService>(ServiceOptions{}, registry_.get());
    HttpServerOptions h;
    h.port = 0;
    h.threads = 2;
    auto s = HttpServer::start(h, [this](HttpRequest r, std::shared_ptr<ResponseWriter> w) {
      service_->handle(std::move(r), std::move(w));
    });
    ASSERT_TRUE(s.is_ok());
    server_ = std::move(*s);
    port_ = server_->port();
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (registry_) registry_->shutdown();
    service_.reset();
    registry_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  json models() {
    auto r = http(port_, "GET", "/v1/models");
    EXPECT_EQ(r.status, 200);
    json list = json::parse(r.body), out;
    for (auto& m : list["data"]) out[m["id"].get<std::string>()] = m;
    return out;
  }
  Reply complete(const std::string& model, const std::string& extra = "") {
    return http(port_, "POST", "/v1/completions",
                R"({"model":")" + model + R"(","prompt":[65,66],"max_tokens":3)" + extra + "}");
  }

  std::string dir_;
  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<OpenAiService> service_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(ServerRegistryTest, RequestLoadsItsModel) {
  start();
  auto m = models();
  EXPECT_EQ(m["one"]["status"], "unloaded");
  EXPECT_EQ(m["two"]["status"], "unloaded");
  EXPECT_FALSE(m["two"].contains("max_model_len"));
  auto r = complete("two");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["model"], "two");
  EXPECT_EQ(j["choices"][0]["text"], "abc");  // the fake engine's script
  EXPECT_EQ(j["usage"]["completion_tokens"], 3);
  m = models();
  EXPECT_EQ(m["two"]["status"], "loaded");
  EXPECT_EQ(m["two"]["max_model_len"], 4096);
  EXPECT_EQ(m["one"]["status"], "unloaded");
  // No "model": the default (first) entry.
  r = http(port_, "POST", "/v1/completions", R"({"prompt":[65],"max_tokens":1})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["model"], "one");
  // Unknown: 404 model_not_found, nothing loaded.
  r = complete("three");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "model_not_found");
}

TEST_F(ServerRegistryTest, KeepAliveZeroUnloadsAfterTheRequest) {
  start();
  auto r = complete("two", R"(,"keep_alive":0)");
  ASSERT_EQ(r.status, 200) << r.body;
  bool unloaded = false;
  for (int i = 0; i < 200 && !unloaded; ++i) {
    unloaded = models()["two"]["status"] == "unloaded";
    if (!unloaded) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(unloaded);
  r = complete("two", R"(,"keep_alive":"later")");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["param"], "keep_alive");
}

TEST_F(ServerRegistryTest, FailedLoadIs500AndOthersServe) {
  start();
  auto r = complete("broken");
  ASSERT_EQ(r.status, 500) << r.body;
  auto e = json::parse(r.body)["error"];
  EXPECT_EQ(e["code"], "model_load_failed");
  EXPECT_NE(e["message"].get<std::string>().find("weights are corrupt"), std::string::npos);
  auto m = models();
  EXPECT_EQ(m["broken"]["status"], "failed");
  EXPECT_EQ(m["broken"]["error"], "weights are corrupt");
  EXPECT_EQ(complete("two").status, 200);
}

TEST_F(ServerRegistryTest, NoRoomIs503AfterTheWait) {
  RegistryOptions o;
  o.max_loaded = 1;
  o.load_wait_s = 0.3;
  start(o);
  auto held = registry_->acquire("one");  // in use: cannot be unloaded
  ASSERT_TRUE(held.is_ok());
  auto r = complete("two");
  ASSERT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("no room"), std::string::npos);
  EXPECT_NE(r.headers.find("Retry-After"), std::string::npos);
  held->reset();
  EXPECT_EQ(complete("two").status, 200);  // one unloads for it now
  EXPECT_EQ(models()["one"]["status"], "unloaded");
}

TEST_F(ServerRegistryTest, OllamaLoadAndUnloadRequests) {
  start();
  // No prompt: load the model and answer once it is loaded.
  auto r = http(port_, "POST", "/api/generate", R"({"model":"two"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["done_reason"], "load");
  EXPECT_EQ(j["response"], "");
  EXPECT_EQ(models()["two"]["status"], "loaded");
  // The request's keep_alive sets the model's.
  r = http(port_, "POST", "/api/chat", R"({"model":"one","messages":[],"keep_alive":"-1"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["done_reason"], "load");
  auto ps = json::parse(http(port_, "GET", "/v1/yun/ps").body)["models"];
  EXPECT_EQ(ps[0]["status"], "loaded");
  EXPECT_EQ(ps[0]["keep_alive_seconds"], -1);
  // keep_alive 0: unloaded by the time the answer comes.
  r = http(port_, "POST", "/api/chat", R"({"model":"two","messages":[],"keep_alive":0})");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["done_reason"], "unload");
  EXPECT_EQ(j["message"]["content"], "");
  EXPECT_EQ(models()["two"]["status"], "unloaded");
  // Unloading a model that is not loaded is a no-op answer.
  r = http(port_, "POST", "/api/generate", R"({"model":"two","keep_alive":"0s"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["done_reason"], "unload");
  // A model in use unloads when its last request ends.
  {
    auto held = registry_->acquire("one");
    ASSERT_TRUE(held.is_ok());
    r = http(port_, "POST", "/api/generate", R"({"model":"one","keep_alive":0})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(models()["one"]["status"], "loaded");
  }
  bool unloaded = false;
  for (int i = 0; i < 200 && !unloaded; ++i) {
    unloaded = models()["one"]["status"] == "unloaded";
    if (!unloaded) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(unloaded) << http(port_, "GET", "/v1/yun/ps").body;
  // A load that fails: Ollama's error object with the load's error.
  r = http(port_, "POST", "/api/generate", R"({"model":"broken"})");
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("weights are corrupt"),
            std::string::npos);
  r = http(port_, "POST", "/api/generate", R"({"model":"nope"})");
  EXPECT_EQ(r.status, 404) << r.body;
}

TEST_F(ServerRegistryTest, PsRoute) {
  start();
  ASSERT_EQ(complete("two", R"(,"keep_alive":"-1")").status, 200);
  auto r = http(port_, "GET", "/v1/yun/ps");
  ASSERT_EQ(r.status, 200);
  json body = json::parse(r.body);
  json& ps = body["models"];
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[0]["name"], "one");
  EXPECT_TRUE(ps[0]["default"].get<bool>());
  EXPECT_EQ(ps[1]["status"], "loaded");
  EXPECT_EQ(ps[1]["kv_cache_bytes"], 1000);
  EXPECT_EQ(ps[1]["keep_alive_seconds"], -1);
  EXPECT_TRUE(ps[1]["expires_at"].is_null());
  EXPECT_EQ(ps[1]["in_use"], 0);
  EXPECT_EQ(ps[2]["status"], "unloaded");
}

}  // namespace
}  // namespace yun::serve::testing
