// Embedding requests (RequestKind::kEmbed) through the engine with the CPU
// runner on the golden qwen3-tiny model: the final event carries the last
// prompt token's final normed hidden state, which times lm_head gives
// transformers' logits of the last position (expected.safetensors
// p{j}.prefill_logits); the vector is the same alone, batched with generation
// requests (whose tokens are unchanged too), with chunked prefill
// (max_num_batched_tokens 4), under preemption (a 24-block pool) and from the
// prefix cache; no KV block stays in use afterwards; an aborted one ends with
// no vector; bad requests are refused at submit.
// Run: build/tests/yun_engine_tests --gtest_filter='EngineEmbed*'
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "test_util.h"
#include "yun/engine/engine.h"
#include "yun/model/safetensors.h"

namespace yun {
namespace {

constexpr const char* kModel = "qwen3-tiny";

struct Got {
  std::vector<float> embedding;
  std::vector<int32_t> ids;
  std::optional<FinishReason> finish;
  Usage usage;
  int events = 0;
};

class Waiter {
 public:
  RequestSink sink() {
    return [this](const RequestEvent& e) {
      std::lock_guard<std::mutex> lk(mu_);
      Got& g = got_[e.request_id];
      ++g.events;
      g.ids.insert(g.ids.end(), e.token_ids.begin(), e.token_ids.end());
      if (!e.embedding.empty()) g.embedding = e.embedding;
      if (e.finish) {
        g.finish = e.finish;
        g.usage = e.usage;
        ++done_;
        cv_.notify_all();
      }
    };
  }
  void wait(int n) {
    std::unique_lock<std::mutex> lk(mu_);
    ASSERT_TRUE(cv_.wait_for(lk, std::chrono::seconds(120), [&] { return done_ >= n; }));
  }
  Got get(uint64_t id) {
    std::lock_guard<std::mutex> lk(mu_);
    return got_[id];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Got> got_;
  int done_ = 0;
};

std::unique_ptr<Engine> make_engine(int32_t max_batched_tokens = 2048, bool prefix_cache = true,
                                    int32_t num_kv_blocks = 128) {
  auto runner = create_cpu_runner(test::golden_model(kModel), CpuRunnerOptions{2});
  EXPECT_TRUE(runner.is_ok()) << runner.status().to_string();
  if (!runner.is_ok()) return nullptr;
  EngineConfig cfg;
  cfg.num_kv_blocks = num_kv_blocks;
  cfg.block_size = 4;
  cfg.max_num_batched_tokens = max_batched_tokens;
  cfg.enable_prefix_cache = prefix_cache;
  auto e = Engine::create(cfg, std::move(*runner), nullptr);
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return e.is_ok() ? std::move(*e) : nullptr;
}

GenerateRequest embed_request(std::vector<int32_t> ids, RequestSink sink) {
  GenerateRequest r;
  r.prompt_ids = std::move(ids);
  r.sink = std::move(sink);
  r.kind = RequestKind::kEmbed;
  return r;
}

GenerateRequest greedy_request(std::vector<int32_t> ids, RequestSink sink) {
  GenerateRequest r;
  r.prompt_ids = std::move(ids);
  r.params.temperature = 0;
  r.params.ignore_eos = true;
  r.params.max_tokens = 12;
  r.sink = std::move(sink);
  return r;
}

// Stats are published after the step whose events ended the requests: poll.
double settled_kv_usage(const Engine& e) {
  for (int i = 0; i < 200 && e.stats().kv_cache_usage > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return e.stats().kv_cache_usage;
}

double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || b.empty()) return 1e9;
  double mx = 0, err = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    mx = std::max(mx, double(std::fabs(b[i])));
    err = std::max(err, double(std::fabs(a[i] - b[i])));
  }
  return err / mx;
}

struct GoldenPrompt {
  std::vector<int32_t> ids;
  std::vector<float> last_logits;
};

std::vector<GoldenPrompt> load_golden(int64_t vocab) {
  std::vector<GoldenPrompt> out;
  auto f = SafetensorsFile::open(test::golden_model(kModel) + "/expected.safetensors");
  EXPECT_TRUE(f.is_ok());
  if (!f.is_ok()) return out;
  const auto& t = (*f)->tensors();
  for (int j = 0;; ++j) {
    const std::string p = "p" + std::to_string(j) + ".";
    auto ids = t.find(p + "ids");
    auto pl = t.find(p + "prefill_logits");
    if (ids == t.end() || pl == t.end()) break;
    GoldenPrompt g;
    g.ids.resize(size_t(ids->second.numel()));
    std::memcpy(g.ids.data(), ids->second.data, g.ids.size() * 4);
    const auto* rows = static_cast<const float*>(pl->second.data);
    g.last_logits.assign(rows + (pl->second.dim(0) - 1) * vocab, rows + pl->second.dim(0) * vocab);
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<float> lm_head_f32() {
  auto f = SafetensorsFile::open(test::golden_model(kModel) + "/model.safetensors");
  EXPECT_TRUE(f.is_ok());
  if (!f.is_ok()) return {};
  const TensorView& w = (*f)->tensors().at("lm_head.weight");  // untied model
  EXPECT_EQ(w.dtype, DType::kBF16);
  std::vector<float> out(size_t(w.numel()));
  const auto* src = static_cast<const uint16_t*>(w.data);
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t bits = uint32_t(src[i]) << 16;
    std::memcpy(&out[i], &bits, 4);
  }
  return out;
}

TEST(EngineEmbed, PooledStateTimesLmHeadIsTheGoldenLastLogits) {
  auto engine = make_engine();
  ASSERT_TRUE(engine);
  const int64_t H = engine->model_config().hidden_size, V = engine->model_config().vocab_size;
  auto golden = load_golden(V);
  ASSERT_FALSE(golden.empty());
  const std::vector<float> head = lm_head_f32();
  ASSERT_EQ(int64_t(head.size()), V * H);
  Waiter w;
  std::vector<uint64_t> ids;
  for (const auto& g : golden) {
    auto id = engine->submit(embed_request(g.ids, w.sink()));
    ASSERT_TRUE(id.is_ok()) << id.status().to_string();
    ids.push_back(*id);
  }
  w.wait(int(ids.size()));
  for (size_t j = 0; j < golden.size(); ++j) {
    Got got = w.get(ids[j]);
    EXPECT_EQ(got.finish, FinishReason::kStop);
    EXPECT_EQ(got.events, 1) << "one final event";
    EXPECT_TRUE(got.ids.empty()) << "nothing sampled";
    EXPECT_EQ(got.usage.prompt_tokens, int32_t(golden[j].ids.size()));
    EXPECT_EQ(got.usage.completion_tokens, 0);
    ASSERT_EQ(int64_t(got.embedding.size()), H);
    std::vector<float> logits(static_cast<size_t>(V));
    for (int64_t v = 0; v < V; ++v) {
      double acc = 0;
      for (int64_t h = 0; h < H; ++h)
        acc += double(got.embedding[size_t(h)]) * head[size_t(v * H + h)];
      logits[size_t(v)] = float(acc);
    }
    EXPECT_LT(max_rel(logits, golden[j].last_logits), 1e-4) << "p" << j;
  }
  // Nothing kept: every block is back in the pool (full ones stay findable).
  EXPECT_EQ(settled_kv_usage(*engine), 0.0);
}

// The same vectors alone, among generation requests, chunked, and cached.
TEST(EngineEmbed, AloneBatchedChunkedAndCachedAgree) {
  std::vector<std::vector<int32_t>> inputs;
  for (int n : {1, 7, 19, 33}) {
    std::vector<int32_t> v;
    for (int i = 0; i < n; ++i) v.push_back((i * 131 + n * 17) % 1000);
    inputs.push_back(v);
  }
  auto run = [&](int32_t budget, bool with_generation, bool prefix_cache,
                 std::vector<std::vector<float>>& emb, std::vector<std::vector<int32_t>>& gen,
                 int32_t num_kv_blocks = 128) {
    auto engine = make_engine(budget, prefix_cache, num_kv_blocks);
    ASSERT_TRUE(engine);
    Waiter w;
    std::vector<uint64_t> e_ids, g_ids;
    int total = 0;
    for (const auto& in : inputs) {
      if (with_generation) {
        auto g = engine->submit(greedy_request(in, w.sink()));
        ASSERT_TRUE(g.is_ok());
        g_ids.push_back(*g);
        ++total;
      }
      auto id = engine->submit(embed_request(in, w.sink()));
      ASSERT_TRUE(id.is_ok()) << id.status().to_string();
      e_ids.push_back(*id);
      ++total;
      if (!with_generation) w.wait(total);  // alone: one at a time
    }
    w.wait(total);
    for (uint64_t id : e_ids) emb.push_back(w.get(id).embedding);
    for (uint64_t id : g_ids) gen.push_back(w.get(id).ids);
    if (prefix_cache && !with_generation) {
      // Again: the full blocks come from the prefix cache, the vector is the same.
      auto again = engine->submit(embed_request(inputs.back(), w.sink()));
      ASSERT_TRUE(again.is_ok());
      w.wait(total + 1);
      Got g = w.get(*again);
      EXPECT_GT(g.usage.cached_prompt_tokens, 0);
      EXPECT_LT(max_rel(g.embedding, emb.back()), 1e-5);
    }
    EXPECT_EQ(settled_kv_usage(*engine), 0.0);
    if (num_kv_blocks < 128) EXPECT_GT(engine->stats().num_preemptions, 0);
  };
  std::vector<std::vector<float>> alone, batched, chunked, squeezed;
  std::vector<std::vector<int32_t>> gen_none, gen_batched, gen_chunked, gen_squeezed;
  run(2048, false, true, alone, gen_none);
  run(2048, true, true, batched, gen_batched);
  run(4, true, false, chunked, gen_chunked);
  run(2048, true, false, squeezed, gen_squeezed, 24);  // 96 KV slots: preemption
  ASSERT_EQ(alone.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_FALSE(alone[i].empty());
    EXPECT_LT(max_rel(batched[i], alone[i]), 1e-5) << "input " << i << " batched";
    EXPECT_LT(max_rel(chunked[i], alone[i]), 1e-5) << "input " << i << " chunked";
    EXPECT_LT(max_rel(squeezed[i], alone[i]), 1e-5) << "input " << i << " with preemption";
    EXPECT_EQ(gen_squeezed[i], gen_batched[i]) << "generation beside embeddings, preempted";
    EXPECT_EQ(gen_batched[i].size(), 12u);
    EXPECT_EQ(gen_chunked[i], gen_batched[i]) << "generation beside embeddings, chunked";
  }
  // Different inputs, different vectors (the test can tell them apart).
  EXPECT_GT(max_rel(alone[0], alone[1]), 1e-3);
}

TEST(EngineEmbed, AbortEndsItWithoutAVector) {
  auto engine = make_engine(4);  // 4 tokens a step: a long input takes many steps
  ASSERT_TRUE(engine);
  Waiter w;
  std::vector<int32_t> in(200, 7);
  auto id = engine->submit(embed_request(in, w.sink()));
  ASSERT_TRUE(id.is_ok());
  engine->abort(*id);
  w.wait(1);
  Got g = w.get(*id);
  EXPECT_EQ(g.finish, FinishReason::kAbort);
  EXPECT_TRUE(g.embedding.empty());
  EXPECT_EQ(g.events, 1);
  EXPECT_EQ(settled_kv_usage(*engine), 0.0);
}

TEST(EngineEmbed, BadRequestsAreRefusedAtSubmit) {
  auto engine = make_engine();
  ASSERT_TRUE(engine);
  Waiter w;
  EXPECT_EQ(engine->submit(embed_request({}, w.sink())).status().code(),
            StatusCode::kInvalidArgument);
  GenerateRequest n2 = embed_request({1, 2, 3}, w.sink());
  n2.params.n = 2;
  EXPECT_EQ(engine->submit(std::move(n2)).status().code(), StatusCode::kInvalidArgument);
  std::vector<int32_t> too_long(size_t(engine->max_model_len()) + 1, 5);
  auto r = engine->submit(embed_request(too_long, w.sink()));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("maximum context length"), std::string::npos);
  // max_tokens does not count against the context of an embedding request.
  std::vector<int32_t> full(size_t(engine->max_model_len()), 5);
  GenerateRequest fits = embed_request(full, w.sink());
  fits.params.max_tokens = 1000;
  Status s = engine->submit(std::move(fits)).status();
  // The whole context may not fit this test's small KV pool: then it is
  // refused for that, not for max_tokens.
  if (!s.is_ok()) EXPECT_NE(s.message().find("KV blocks"), std::string::npos) << s.to_string();
  EXPECT_EQ(engine->submit(embed_request({5, 1024}, w.sink())).status().code(),
            StatusCode::kInvalidArgument);  // outside the vocabulary
}

}  // namespace
}  // namespace yun
