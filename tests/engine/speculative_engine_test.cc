// Speculative decoding with the MTP head (engine/speculative.h) on the
// Qwen3.5 golden hybrids: greedy output is identical with and without it,
// alone, batched (among random filler requests), with chunked prefill, with
// preemption, with n = 3 forks, and when a request ends mid-draft (EOS, a
// stop id, max_tokens), for three kinds of draft: the real MTP head, drafts
// forced to the golden next token (always accepted) and forced to another
// token (always rejected: every verify step rolls the recurrent state back).
// The golden prompts must reproduce expected.safetensors' greedy ids; every
// other request must match a run of the same workload without speculation.
// Run: build/tests/yun_engine_tests --gtest_filter='*Speculative*'
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <random>

#include "test_util.h"
#include "yun/engine/engine.h"
#include "yun/engine/sequence.h"
#include "yun/engine/speculative_config.h"
#include "yun/model/safetensors.h"

namespace yun {
namespace {

struct GoldenPrompt {
  std::vector<int32_t> ids, greedy;
};

std::vector<int32_t> read_ids(const SafetensorsFile& f, const std::string& name) {
  auto it = f.tensors().find(name);
  if (it == f.tensors().end()) return {};
  std::vector<int32_t> v(size_t(it->second.numel()));
  std::memcpy(v.data(), it->second.data, v.size() * sizeof(int32_t));
  return v;
}

std::vector<GoldenPrompt> load_golden(const std::string& model) {
  auto f = SafetensorsFile::open(test::golden_model(model) + "/expected.safetensors");
  if (!f.is_ok()) return {};
  std::vector<GoldenPrompt> out;
  for (int j = 0;; ++j) {
    const std::string p = "p" + std::to_string(j) + ".";
    GoldenPrompt g{read_ids(**f, p + "ids"), read_ids(**f, p + "greedy_ids")};
    if (g.ids.empty() || g.greedy.empty()) break;
    out.push_back(std::move(g));
  }
  return out;
}

struct Req {
  std::vector<int32_t> prompt;
  SamplingParams params;
};

struct RunResult {
  std::vector<std::vector<std::vector<int32_t>>> out;  // [request][sample] tokens
  std::vector<std::string> errors;
  EngineStats stats;
};

enum class Drafts { kOff, kMtp, kAccept, kReject };
const char* name(Drafts d) {
  switch (d) {
    case Drafts::kOff:
      return "off";
    case Drafts::kMtp:
      return "mtp";
    case Drafts::kAccept:
      return "always-accept";
    case Drafts::kReject:
      return "always-reject";
  }
  return "?";
}

// Runs `reqs` to completion on a fresh engine; `oracle` maps a prompt to its
// known greedy continuation (for the forced drafts).
RunResult run(const std::string& model, EngineConfig cfg, const std::vector<Req>& reqs,
              Drafts drafts, const std::map<std::vector<int32_t>, std::vector<int32_t>>& oracle) {
  RunResult res;
  CpuRunnerOptions ro;
  ro.num_threads = 2;
  ro.load_mtp = drafts != Drafts::kOff;
  auto runner = create_cpu_runner(test::golden_model(model), ro);
  EXPECT_TRUE(runner.is_ok()) << runner.status().to_string();
  if (!runner.is_ok()) return res;
  const int64_t vocab = (*runner)->config().vocab_size;
  if (drafts != Drafts::kOff) {
    EXPECT_TRUE((*runner)->supports_mtp());
    cfg.speculative.method = "mtp";
    if (drafts != Drafts::kMtp) {
      cfg.speculative.draft_hook = [&oracle, drafts, vocab](const Sequence& s, int32_t d) {
        std::vector<int32_t> prompt(s.tokens.begin(), s.tokens.begin() + s.num_prompt_tokens);
        auto it = oracle.find(prompt);
        const size_t i = size_t(s.num_tokens() - s.num_prompt_tokens);
        if (it == oracle.end() || i >= it->second.size()) return d;
        const int32_t g = it->second[i];
        return drafts == Drafts::kAccept ? g : int32_t((g + 1) % vocab);
      };
    }
  }
  auto engine = Engine::create(cfg, std::move(*runner), nullptr);
  EXPECT_TRUE(engine.is_ok()) << engine.status().to_string();
  if (!engine.is_ok()) return res;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, total = 0;
  std::map<uint64_t, size_t> index;
  res.out.resize(reqs.size());
  std::map<uint64_t, std::map<int32_t, std::vector<int32_t>>> got;
  auto sink = [&](const RequestEvent& e) {
    std::lock_guard<std::mutex> lk(mu);
    auto& ids = got[e.request_id][e.index];
    ids.insert(ids.end(), e.token_ids.begin(), e.token_ids.end());
    if (e.finish) {
      if (*e.finish == FinishReason::kError) res.errors.push_back(e.error.to_string());
      ++done;
      cv.notify_all();
    }
  };
  std::vector<uint64_t> ids;
  for (const Req& r : reqs) {
    auto id = (*engine)->submit({r.prompt, r.params, sink});
    EXPECT_TRUE(id.is_ok()) << id.status().to_string();
    if (!id.is_ok()) return res;
    ids.push_back(*id);
    total += r.params.n;
  }
  {
    std::unique_lock<std::mutex> lk(mu);
    EXPECT_TRUE(cv.wait_for(lk, std::chrono::seconds(300), [&] { return done >= total; }));
  }
  res.stats = (*engine)->stats();
  (*engine)->shutdown();
  for (size_t i = 0; i < reqs.size(); ++i)
    for (int32_t k = 0; k < reqs[i].params.n; ++k) res.out[i].push_back(got[ids[i]][k]);
  return res;
}

struct Scenario {
  std::string name;
  EngineConfig cfg;
  bool crowd = false;  // 3 random filler requests before each golden one
  int32_t n = 1;
  bool expect_preemption = false;
};

std::vector<Scenario> scenarios() {
  EngineConfig base;
  base.num_kv_blocks = 512;
  // Speculate in every step, however many sequences, so batched steps verify too.
  base.speculative.disable_by_batch_size = 1024;
  std::vector<Scenario> v;
  v.push_back({"alone", base});
  v.push_back({"crowd", base, true});
  EngineConfig chunk = base;
  chunk.max_num_batched_tokens = 17;
  v.push_back({"chunked17", chunk, true});
  EngineConfig tiny = base;
  tiny.num_kv_blocks = 14;
  v.push_back({"tiny_pool", tiny, true, 1, true});
  v.push_back({"forks_n3", base, false, 3});
  EngineConfig two = base;
  two.max_num_seqs = 2;
  v.push_back({"forks_n3_max_seqs2", two, false, 3});
  EngineConfig def = base;
  def.speculative.disable_by_batch_size = 3;  // the default rule: batched steps do not speculate
  v.push_back({"crowd_default_rule", def, true});
  return v;
}

class SpeculativeEngineTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SpeculativeEngineTest, GreedyIdenticalWithAndWithoutSpeculation) {
  const std::string model = GetParam();
  auto golden = load_golden(model);
  ASSERT_FALSE(golden.empty());
  std::map<std::vector<int32_t>, std::vector<int32_t>> oracle;
  for (const auto& g : golden) oracle[g.ids] = g.greedy;
  for (const Scenario& sc : scenarios()) {
    SCOPED_TRACE(sc.name);
    SamplingParams p;
    p.temperature = 0;
    p.ignore_eos = true;
    p.max_tokens = 20;
    p.n = sc.n;
    SamplingParams filler_p = p;
    filler_p.n = 1;
    std::mt19937 rng(7);
    std::vector<Req> reqs;
    std::vector<size_t> golden_of;  // request -> golden index, or SIZE_MAX
    for (size_t j = 0; j < golden.size(); ++j) {
      if (sc.crowd) {
        for (int k = 0; k < 3; ++k) {
          std::vector<int32_t> filler(1 + rng() % 90);
          for (auto& t : filler) t = int32_t(rng() % 1000);
          reqs.push_back({filler, filler_p});
          golden_of.push_back(SIZE_MAX);
        }
      }
      reqs.push_back({golden[j].ids, p});
      golden_of.push_back(j);
    }
    const RunResult ref = run(model, sc.cfg, reqs, Drafts::kOff, oracle);
    ASSERT_TRUE(ref.errors.empty()) << ref.errors.front();
    for (Drafts d : {Drafts::kMtp, Drafts::kAccept, Drafts::kReject}) {
      SCOPED_TRACE(name(d));
      const RunResult got = run(model, sc.cfg, reqs, d, oracle);
      ASSERT_TRUE(got.errors.empty()) << got.errors.front();
      for (size_t i = 0; i < reqs.size(); ++i) {
        EXPECT_EQ(got.out[i], ref.out[i]) << "request " << i;
        if (golden_of[i] != SIZE_MAX) {
          for (const auto& sample : got.out[i]) EXPECT_EQ(sample, golden[golden_of[i]].greedy);
        }
      }
      const EngineStats& s = got.stats;
      if (sc.expect_preemption) {
        EXPECT_GT(s.num_preemptions, 0);
      }
      if (d == Drafts::kMtp)
        std::printf("%s %s: %lld of %lld MTP drafts accepted, %lld steps (%lld without)\n",
                    model.c_str(), sc.name.c_str(), (long long)s.spec_accepted_tokens,
                    (long long)s.spec_draft_tokens, (long long)s.steps, (long long)ref.stats.steps);
      if (sc.name == "crowd_default_rule") continue;  // drafts only once the batch is small
      EXPECT_GT(s.spec_draft_tokens, 0);
      if (!sc.crowd && d == Drafts::kAccept) {
        EXPECT_EQ(s.spec_accepted_tokens, s.spec_draft_tokens);
        EXPECT_LT(s.steps, ref.stats.steps);  // two tokens per verify step
      }
      if (!sc.crowd && d == Drafts::kReject) {
        EXPECT_EQ(s.spec_accepted_tokens, 0);
      }
    }
  }
}

// A request that ends inside a verify step: on the main token (the verify
// token is dropped) or on the accepted verify token; by EOS, a stop id or
// max_tokens. Outputs must equal those without speculation.
TEST_P(SpeculativeEngineTest, EndsMidDraft) {
  const std::string model = GetParam();
  auto golden = load_golden(model);
  ASSERT_FALSE(golden.empty());
  std::map<std::vector<int32_t>, std::vector<int32_t>> oracle;
  for (const auto& g : golden) oracle[g.ids] = g.greedy;
  EngineConfig base;
  base.num_kv_blocks = 512;
  for (int cut = 2; cut <= 7; ++cut) {
    SCOPED_TRACE("cut " + std::to_string(cut));
    std::vector<Req> reqs;
    for (const auto& g : golden) {
      SamplingParams p;
      p.temperature = 0;
      p.max_tokens = 20;
      p.stop_token_ids = {g.greedy[size_t(cut)]};  // ends at its first occurrence
      reqs.push_back({g.ids, p});
      p.stop_token_ids.clear();
      p.max_tokens = cut;
      reqs.push_back({g.ids, p});
    }
    EngineConfig eos = base;
    eos.eos_token_ids = {golden[0].greedy[size_t(cut)]};
    for (const EngineConfig& cfg : {base, eos}) {
      const RunResult ref = run(model, cfg, {reqs[0]}, Drafts::kOff, oracle);
      const RunResult all_ref = run(model, cfg, reqs, Drafts::kOff, oracle);
      for (Drafts d : {Drafts::kMtp, Drafts::kAccept, Drafts::kReject}) {
        SCOPED_TRACE(name(d));
        // One at a time (speculation on at batch 1 by default), then all together.
        EXPECT_EQ(run(model, cfg, {reqs[0]}, d, oracle).out, ref.out);
        EngineConfig every = cfg;
        every.speculative.disable_by_batch_size = 1024;
        EXPECT_EQ(run(model, every, reqs, d, oracle).out, all_ref.out);
      }
      for (size_t i = 1; i < reqs.size(); i += 2) EXPECT_LE(all_ref.out[i][0].size(), size_t(cut));
    }
  }
}

// The min_acceptance rule: a sequence whose first probe_drafts drafts were
// all rejected drafts no more; one whose drafts are accepted keeps drafting;
// min_acceptance 0 never stops. Outputs stay the golden ones.
TEST_P(SpeculativeEngineTest, StopsDraftingBelowMinAcceptance) {
  const std::string model = GetParam();
  auto golden = load_golden(model);
  ASSERT_FALSE(golden.empty());
  std::map<std::vector<int32_t>, std::vector<int32_t>> oracle;
  std::vector<Req> reqs;
  for (const auto& g : golden) {
    oracle[g.ids] = g.greedy;
    SamplingParams p;
    p.temperature = 0;
    p.ignore_eos = true;
    p.max_tokens = 20;
    reqs.push_back({g.ids, p});
  }
  EngineConfig cfg;
  cfg.num_kv_blocks = 512;
  cfg.max_num_seqs = 1;  // one at a time: every step speculates
  cfg.speculative.probe_drafts = 4;
  for (Drafts d : {Drafts::kReject, Drafts::kAccept}) {
    for (double min_acc : {0.5, 0.0}) {
      SCOPED_TRACE(std::string(name(d)) + " min_acceptance " + std::to_string(min_acc));
      cfg.speculative.min_acceptance = min_acc;
      const RunResult got = run(model, cfg, reqs, d, oracle);
      ASSERT_TRUE(got.errors.empty()) << got.errors.front();
      for (size_t i = 0; i < reqs.size(); ++i) EXPECT_EQ(got.out[i][0], golden[i].greedy);
      const int64_t n = int64_t(reqs.size());
      if (d == Drafts::kReject && min_acc > 0) {
        EXPECT_EQ(got.stats.spec_draft_tokens, 4 * n);
      } else {
        EXPECT_GT(got.stats.spec_draft_tokens, 4 * n);
      }
      if (d == Drafts::kAccept) {
        EXPECT_EQ(got.stats.spec_accepted_tokens, got.stats.spec_draft_tokens);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, SpeculativeEngineTest,
                         ::testing::Values("qwen3_5-tiny", "qwen3_5moe-tiny"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(SpeculativeConfigTest, ParsesVllmSpelling) {
  auto c = parse_speculative_config(R"({"method":"mtp","num_speculative_tokens":1})");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_TRUE(c->enabled());
  EXPECT_EQ(c->method, "mtp");
  EXPECT_EQ(c->num_speculative_tokens, 1);
  EXPECT_EQ(c->disable_by_batch_size, 3);
  EXPECT_EQ(c->spare_slots(), 2);
  auto d = parse_speculative_config(
      R"({"method":"qwen3_5_mtp","disable_by_batch_size":8,"min_acceptance":0.25,"probe_drafts":9})");
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ(d->method, "mtp");
  EXPECT_EQ(d->disable_by_batch_size, 8);
  EXPECT_EQ(d->min_acceptance, 0.25);
  EXPECT_EQ(d->probe_drafts, 9);
  for (const char* bad :
       {"", "[]", "{", R"({"method":"eagle"})", R"({"method":"mtp","x":1})",
        R"({"method":"mtp","num_speculative_tokens":2})",
        R"({"method":"mtp","num_speculative_tokens":"1"})",
        R"({"method":"mtp","disable_by_batch_size":1})", R"({"method":"mtp","min_acceptance":1.5})",
        R"({"method":"mtp","probe_drafts":0})", R"({})"}) {
    auto r = parse_speculative_config(bad);
    EXPECT_FALSE(r.is_ok()) << bad;
    if (!r.is_ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

// Without the MTP head loaded, asking for speculation is a clear error.
TEST(SpeculativeConfigTest, EngineRefusesARunnerWithoutMtp) {
  auto runner = create_cpu_runner(test::golden_model("qwen3_5-tiny"), CpuRunnerOptions{2});
  ASSERT_TRUE(runner.is_ok());
  EngineConfig cfg;
  cfg.num_kv_blocks = 64;
  cfg.speculative.method = "mtp";
  auto e = Engine::create(cfg, std::move(*runner), nullptr);
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("MTP head"), std::string::npos) << e.status().to_string();
}

}  // namespace
}  // namespace yun
