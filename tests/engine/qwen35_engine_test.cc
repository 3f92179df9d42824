// Engine invariants for the Qwen3.5 hybrids (recurrent state per sequence)
// with the CPU runner: each golden prompt's greedy continuation
// (expected.safetensors, 20 tokens, ignore_eos) is reproduced alone, among
// 15 other requests, with chunked prefill (16- and 17-token budgets), with a
// KV pool small enough to force preemption (recompute from a zero state),
// with max_num_seqs 2, as n = 3 samples of one request (forks), and when
// sent twice, with the prefix cache off and on: on, the second copy hits
// (the KV blocks up to a state snapshot, engine/state_snapshots.h, restored)
// at several block sizes and snapshot intervals, chunked, in a pool small
// enough to evict snapshotted blocks, and forks restore the prompt's
// snapshot. Then the logprobs of prompts sharing prefixes, cache on vs off.
// Run: build/tests/yun_engine_tests --gtest_filter='*Qwen35Engine*'
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "test_util.h"
#include "yun/engine/block_manager.h"
#include "yun/engine/engine.h"
#include "yun/engine/state_slots.h"
#include "yun/model/safetensors.h"

namespace yun {
namespace {

struct GoldenPrompt {
  std::vector<int32_t> ids, greedy;
};

template <typename T>
std::vector<T> read_tensor(const SafetensorsFile& f, const std::string& name) {
  auto it = f.tensors().find(name);
  if (it == f.tensors().end()) return {};
  std::vector<T> v(size_t(it->second.numel()));
  std::memcpy(v.data(), it->second.data, v.size() * sizeof(T));
  return v;
}

std::vector<GoldenPrompt> load_golden(const std::string& model) {
  auto f = SafetensorsFile::open(test::golden_model(model) + "/expected.safetensors");
  if (!f.is_ok()) return {};
  std::vector<GoldenPrompt> out;
  for (int j = 0;; ++j) {
    const std::string p = "p" + std::to_string(j) + ".";
    GoldenPrompt g{read_tensor<int32_t>(**f, p + "ids"),
                   read_tensor<int32_t>(**f, p + "greedy_ids")};
    if (g.ids.empty() || g.greedy.empty()) break;
    out.push_back(std::move(g));
  }
  return out;
}

// Collects every sample's tokens: key (request id, sample index).
class Waiter {
 public:
  RequestSink sink() {
    return [this](const RequestEvent& e) {
      std::lock_guard<std::mutex> lk(mu_);
      auto& ids = out_[{e.request_id, e.index}];
      ids.insert(ids.end(), e.token_ids.begin(), e.token_ids.end());
      auto& lps = logprobs_[{e.request_id, e.index}];
      for (const TokenLogprob& lp : e.logprobs) lps.push_back(lp.logprob);
      if (e.finish) cached_[{e.request_id, e.index}] = e.usage.cached_prompt_tokens;
      if (e.finish) {
        if (*e.finish == FinishReason::kError) errors_.push_back(e.error.to_string());
        ++done_;
        cv_.notify_all();
      }
    };
  }
  void wait(int n) {
    std::unique_lock<std::mutex> lk(mu_);
    ASSERT_TRUE(cv_.wait_for(lk, std::chrono::seconds(300), [&] { return done_ >= n; }));
  }
  std::vector<int32_t> ids(uint64_t id, int32_t index = 0) {
    std::lock_guard<std::mutex> lk(mu_);
    return out_[{id, index}];
  }
  std::vector<float> logprobs(uint64_t id, int32_t index = 0) {
    std::lock_guard<std::mutex> lk(mu_);
    return logprobs_[{id, index}];
  }
  int32_t cached(uint64_t id, int32_t index = 0) {
    std::lock_guard<std::mutex> lk(mu_);
    return cached_[{id, index}];
  }
  std::vector<std::string> errors() {
    std::lock_guard<std::mutex> lk(mu_);
    return errors_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<uint64_t, int32_t>, std::vector<int32_t>> out_;
  std::map<std::pair<uint64_t, int32_t>, std::vector<float>> logprobs_;
  std::map<std::pair<uint64_t, int32_t>, int32_t> cached_;
  std::vector<std::string> errors_;
  int done_ = 0;
};

struct Scenario {
  std::string name;
  EngineConfig cfg;
  bool crowd = false;      // 15 other requests
  bool duplicate = false;  // every golden prompt twice (the second after the first)
  bool expect_preemption = false;
  int32_t n = 1;  // samples per golden request
  bool expect_hits = false;  // prefix hits (duplicates) or restores (forks) must happen
};

void run_scenario(const std::string& model, const Scenario& sc) {
  auto golden = load_golden(model);
  ASSERT_FALSE(golden.empty()) << "no golden data for " << model;
  auto runner = create_cpu_runner(test::golden_model(model), CpuRunnerOptions{2});
  ASSERT_TRUE(runner.is_ok()) << runner.status().to_string();
  ASSERT_GT((*runner)->state_bytes_per_slot(), 0u);
  const int64_t vocab = (*runner)->config().vocab_size;
  auto engine = Engine::create(sc.cfg, std::move(*runner), nullptr);
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  Engine& e = **engine;
  Waiter w;
  SamplingParams p;
  p.temperature = 0;
  p.ignore_eos = true;
  p.max_tokens = 20;
  p.n = sc.n;
  SamplingParams filler_p = p;
  filler_p.n = 1;
  std::vector<std::pair<uint64_t, size_t>> ids;
  std::vector<uint64_t> dup_ids;
  std::mt19937 rng(5);
  int total = 0;
  for (size_t j = 0; j < golden.size(); ++j) {
    if (sc.crowd) {
      for (int k = 0; k < 3; ++k) {
        std::vector<int32_t> filler(1 + rng() % 90);
        for (auto& t : filler) t = static_cast<int32_t>(rng() % vocab);
        ASSERT_TRUE(e.submit({filler, filler_p, w.sink()}).is_ok());
        ++total;
      }
    }
    auto r = e.submit({golden[j].ids, p, w.sink()});
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ids.push_back({*r, j});
    total += sc.n;
  }
  w.wait(total);
  if (sc.duplicate) {
    for (size_t j = 0; j < golden.size(); ++j) {
      auto d = e.submit({golden[j].ids, p, w.sink()});
      ASSERT_TRUE(d.is_ok());
      dup_ids.push_back(*d);
      total += sc.n;
    }
    w.wait(total);
  }
  EXPECT_TRUE(w.errors().empty()) << w.errors().front();
  for (size_t i = 0; i < ids.size(); ++i) {
    auto [id, j] = ids[i];
    // The golden prompts have margins >= 2e-3 at every step: exact match.
    for (int32_t k = 0; k < sc.n; ++k)
      EXPECT_EQ(w.ids(id, k), golden[j].greedy) << sc.name << " p" << j << " sample " << k;
    if (sc.duplicate) EXPECT_EQ(w.ids(dup_ids[i]), golden[j].greedy) << "duplicate of p" << j;
  }
  EngineStats s = e.stats();
  EXPECT_EQ(s.prefix_cache_enabled, sc.cfg.enable_prefix_cache);
  if (!sc.cfg.enable_prefix_cache) {
    EXPECT_EQ(s.prefix_cache_hits, 0);
    EXPECT_EQ(s.state_snapshot_capacity, 0);
  }
  if (sc.expect_hits) {
    EXPECT_GT(s.state_snapshot_restores, 0);
    if (sc.duplicate) EXPECT_GT(s.prefix_cache_hits, 0);
  }
  EXPECT_LE(s.num_state_snapshots, s.state_snapshot_capacity);
  if (sc.expect_preemption) EXPECT_GT(s.num_preemptions, 0);
  std::printf(
      "[qwen35] %s %s: prefix hits %lld of %lld tokens, snapshots taken %lld, restored %lld, "
      "evicted %lld\n",
      model.c_str(), sc.name.c_str(), (long long)s.prefix_cache_hits,
      (long long)s.prefix_cache_queries, (long long)s.state_snapshots_taken,
      (long long)s.state_snapshot_restores, (long long)s.state_snapshot_evictions);
}

std::vector<Scenario> scenarios() {
  std::vector<Scenario> v;
  EngineConfig base;
  base.num_kv_blocks = 512;
  v.push_back({"alone", base});
  v.push_back({"crowd", base, true});
  EngineConfig chunk = base;
  chunk.max_num_batched_tokens = 16;
  v.push_back({"chunked16", chunk, true});
  chunk.max_num_batched_tokens = 17;
  v.push_back({"chunked17", chunk, true});
  EngineConfig tiny = base;
  tiny.num_kv_blocks = 14;  // 224 tokens: the 150-token request cannot sit beside many others
  v.push_back({"tiny_pool", tiny, true, false, true});
  EngineConfig two = base;
  two.max_num_seqs = 2;
  v.push_back({"max_seqs2", two, true});
  EngineConfig off = base;
  off.enable_prefix_cache = false;
  v.push_back({"duplicates_no_prefix_cache", off, false, true});
  v.push_back({"forks_no_prefix_cache", off, false, false, false, 3});
  v.push_back({"duplicates_prefix_cache", base, false, true, false, 1, true});
  EngineConfig every = base;
  every.block_size = 4;
  every.num_kv_blocks = 2048;
  every.state_snapshot_interval = 1;
  v.push_back({"duplicates_bs4_every_block", every, true, true, false, 1, true});
  EngineConfig chunked_cache = base;
  chunked_cache.block_size = 8;
  chunked_cache.state_snapshot_interval = 2;
  chunked_cache.max_num_batched_tokens = 17;
  v.push_back({"duplicates_bs8_every2_chunked17", chunked_cache, true, true, false, 1, true});
  EngineConfig evict = base;
  evict.num_kv_blocks = 14;  // blocks with snapshots are evicted by the crowd
  v.push_back({"duplicates_tiny_pool", evict, true, true, true});
  v.push_back({"forks_n3", base, false, false, false, 3, true});
  EngineConfig forks_tight = base;
  forks_tight.max_num_seqs = 2;
  v.push_back({"forks_n3_max_seqs2", forks_tight, false, false, false, 3, true});
  EngineConfig forks_bs4 = every;
  forks_bs4.max_num_batched_tokens = 13;
  v.push_back({"forks_n3_bs4_chunked13", forks_bs4, true, false, false, 3, true});
  return v;
}

class Qwen35EngineTest : public ::testing::TestWithParam<std::string> {};

TEST_P(Qwen35EngineTest, Scenarios) {
  for (const Scenario& sc : scenarios()) {
    SCOPED_TRACE(sc.name);
    run_scenario(GetParam(), sc);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Qwen35EngineTest,
                         ::testing::Values("qwen3_5-tiny", "qwen3_5moe-tiny"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

// Prompts sharing prefixes (a golden prompt's tokens cut at several places,
// then their own suffixes; one exact repeat), sent one after another with
// logprobs: with the prefix cache the later ones hit, and every generated
// token and its logprob equal the run without the cache, for several block
// sizes, snapshot intervals and chunk budgets.
TEST(Qwen35PrefixCacheTest, HitsGiveTheTokensAndLogprobsOfNoCache) {
  for (const std::string model : {"qwen3_5-tiny", "qwen3_5moe-tiny"}) {
    auto golden = load_golden(model);
    ASSERT_FALSE(golden.empty());
    const std::vector<int32_t>& base = golden.back().ids;  // 130 / 140 tokens
    std::mt19937 rng(11);
    std::vector<std::vector<int32_t>> prompts;
    for (size_t cut :
         {size_t(100), base.size(), size_t(64), size_t(37), base.size(), size_t(101)}) {
      std::vector<int32_t> p(base.begin(), base.begin() + std::min(cut, base.size()));
      const bool repeat = prompts.size() == 4;  // the whole prompt again, as is
      for (int k = 0; !repeat && k < 3 + int(rng() % 9); ++k) p.push_back(int32_t(rng() % 1000));
      prompts.push_back(p);
    }
    struct Config {
      int32_t block_size, interval, budget;
    };
    for (Config c :
         {Config{16, 4, 2048}, Config{4, 1, 2048}, Config{8, 2, 17}, Config{16, 1, 40}}) {
      SCOPED_TRACE(model + " block " + std::to_string(c.block_size) + " every " +
                   std::to_string(c.interval) + " budget " + std::to_string(c.budget));
      std::vector<std::vector<int32_t>> ids[2];
      std::vector<std::vector<float>> lps[2];
      int64_t hits = 0;
      for (int on = 0; on < 2; ++on) {
        auto runner = create_cpu_runner(test::golden_model(model), CpuRunnerOptions{2});
        ASSERT_TRUE(runner.is_ok());
        EngineConfig cfg;
        cfg.block_size = c.block_size;
        cfg.num_kv_blocks = 4096 / c.block_size;
        cfg.state_snapshot_interval = c.interval;
        cfg.max_num_batched_tokens = c.budget;
        cfg.enable_prefix_cache = on == 1;
        auto engine = Engine::create(cfg, std::move(*runner), nullptr);
        ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
        Waiter w;
        SamplingParams p;
        p.temperature = 0;
        p.ignore_eos = true;
        p.max_tokens = 12;
        p.logprobs = 0;
        int done = 0;
        for (size_t i = 0; i < prompts.size(); ++i) {
          auto r = (*engine)->submit({prompts[i], p, w.sink()});
          ASSERT_TRUE(r.is_ok());
          w.wait(++done);
          ids[on].push_back(w.ids(*r));
          lps[on].push_back(w.logprobs(*r));
          // Every later prompt shares >= 64 tokens with an earlier one's
          // snapshot (the 37-token one only a 32-token boundary, which has a
          // snapshot when 32 tokens are a multiple of the interval).
          const bool at32 = (32 / c.block_size) % c.interval == 0;
          if (on == 1 && i > 0 && (i != 3 || at32)) EXPECT_GT(w.cached(*r), 0) << "prompt " << i;
        }
        EXPECT_TRUE(w.errors().empty());
        if (on == 1) hits = (*engine)->stats().prefix_cache_hits;
      }
      EXPECT_GT(hits, 0);
      for (size_t i = 0; i < prompts.size(); ++i) {
        EXPECT_EQ(ids[1][i], ids[0][i]) << "prompt " << i;
        ASSERT_EQ(lps[0][i].size(), 12u);
        ASSERT_EQ(lps[1][i].size(), lps[0][i].size());
        for (size_t t = 0; t < lps[0][i].size(); ++t)
          EXPECT_NEAR(lps[1][i][t], lps[0][i][t], 2e-3) << "prompt " << i << " token " << t;
      }
    }
  }
}

// Aborted requests give their slots back: with max_num_seqs 2 (2 slots),
// eight requests aborted at once or mid-decode leave the golden prompts
// running to the right answer afterwards.
TEST(Qwen35EngineAbortTest, AbortsReleaseTheirStateSlots) {
  const std::string model = "qwen3_5-tiny";
  auto golden = load_golden(model);
  ASSERT_FALSE(golden.empty());
  auto runner = create_cpu_runner(test::golden_model(model), CpuRunnerOptions{2});
  ASSERT_TRUE(runner.is_ok());
  EngineConfig cfg;
  cfg.num_kv_blocks = 512;
  cfg.max_num_seqs = 2;
  auto engine = Engine::create(cfg, std::move(*runner), nullptr);
  ASSERT_TRUE(engine.is_ok());
  Engine& e = **engine;
  Waiter w;
  SamplingParams p;
  p.temperature = 0;
  p.ignore_eos = true;
  p.max_tokens = 200;
  for (int i = 0; i < 8; ++i) {
    auto r = e.submit({golden[size_t(i % 5)].ids, p, w.sink()});
    ASSERT_TRUE(r.is_ok());
    if (i % 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    e.abort(*r);
  }
  w.wait(8);
  p.max_tokens = 20;
  std::vector<uint64_t> ids;
  for (const auto& g : golden) ids.push_back(*e.submit({g.ids, p, w.sink()}));
  w.wait(8 + int(golden.size()));
  for (size_t j = 0; j < golden.size(); ++j) EXPECT_EQ(w.ids(ids[j]), golden[j].greedy) << j;
}

TEST(StateSlotsTest, BlockManagerTakesAndReturnsSlots) {
  BlockPool pool(8, 4, /*enable_prefix_cache=*/false);
  StateSlots slots(2);
  BlockManager bm(pool, &slots);
  Sequence a, b, c;
  for (Sequence* s : {&a, &b, &c}) s->tokens = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(bm.allocate_slots(a, 6));
  ASSERT_TRUE(bm.allocate_slots(b, 6));
  EXPECT_NE(a.state_slot, b.state_slot);
  EXPECT_GE(a.state_slot, 0);
  // Blocks are left but no slot: c does not fit, and takes nothing.
  EXPECT_FALSE(bm.allocate_slots(c, 6));
  EXPECT_TRUE(c.block_table.empty());
  EXPECT_EQ(c.state_slot, -1);
  // Growing a sequence that holds a slot takes no other.
  a.num_computed = 6;
  a.tokens.push_back(7);
  EXPECT_TRUE(bm.allocate_slots(a, 1));
  // A fork shares nothing (no state at the boundary).
  Sequence child;
  child.tokens = a.tokens;
  EXPECT_EQ(bm.share_prompt_blocks(a, child), 0);
  EXPECT_TRUE(child.block_table.empty());
  bm.free(b);
  EXPECT_EQ(b.state_slot, -1);
  EXPECT_TRUE(bm.allocate_slots(c, 6));
  EXPECT_GE(c.state_slot, 0);
  // Without slots (a model without recurrent state) nothing changes.
  BlockPool pool2(8, 4, false);
  BlockManager plain(pool2);
  Sequence d;
  d.tokens = {1, 2, 3};
  EXPECT_TRUE(plain.allocate_slots(d, 3));
  EXPECT_EQ(d.state_slot, -1);
}

TEST(StateSlotsTest, AcquireReleaseAndDisabled) {
  StateSlots none;
  EXPECT_FALSE(none.enabled());
  EXPECT_EQ(none.acquire(), -1);
  StateSlots s(3);
  EXPECT_TRUE(s.enabled());
  const int32_t a = s.acquire(), b = s.acquire(), c = s.acquire();
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(c, 2);
  EXPECT_EQ(s.acquire(), -1);
  s.release(b);
  EXPECT_EQ(s.num_free(), 1);
  EXPECT_EQ(s.acquire(), b);
}

}  // namespace
}  // namespace yun
