// CudaRunner against the golden references (tests/data/golden/models/*,
// float64 Hugging Face logits): whole-prompt prefill logits, teacher-forced
// greedy decode steps (CUDA graph path), a chunked prefill on top of a cached
// prefix, and all prompts decoded together in one ragged batch. bf16 engine
// tolerance: max |diff| <= 5e-2 * max |ref| (the golden README: "a few 1e-2").
// Skips without a GPU.
#include <memory>

#include "cuda/cuda_test_util.h"
#include "test_util.h"
#include "yun/compute/cpu/sampler.h"
#include "yun/compute/cuda/cuda_runner.h"
#include "yun/model/safetensors.h"

namespace yun::cuda_test {
namespace {

constexpr double kTol = 5e-2;

struct Prompt {
  std::vector<int32_t> ids, greedy;
  std::vector<float> prefill, steps, margin;
  int64_t prefill_rows = 0;
};

std::vector<Prompt> load_expected(const std::string& dir) {
  std::vector<Prompt> out;
  auto f = SafetensorsFile::open(dir + "/expected.safetensors");
  EXPECT_TRUE(f.is_ok()) << f.status().to_string();
  if (!f.is_ok()) return out;
  const auto& t = (*f)->tensors();
  auto get = [&](const std::string& n) -> const TensorView* {
    auto it = t.find(n);
    return it == t.end() ? nullptr : &it->second;
  };
  for (int j = 0;; ++j) {
    const std::string p = "p" + std::to_string(j) + ".";
    const TensorView* ids = get(p + "ids");
    if (!ids) break;
    Prompt pr;
    auto i32 = [](const TensorView* v) {
      const int32_t* d = static_cast<const int32_t*>(v->data);
      return std::vector<int32_t>(d, d + v->numel());
    };
    auto f32 = [](const TensorView* v) {
      const float* d = static_cast<const float*>(v->data);
      return std::vector<float>(d, d + v->numel());
    };
    pr.ids = i32(ids);
    if (auto* v = get(p + "greedy_ids")) pr.greedy = i32(v);
    if (auto* v = get(p + "greedy_margin")) pr.margin = f32(v);
    if (auto* v = get(p + "step_logits")) pr.steps = f32(v);
    if (auto* v = get(p + "prefill_logits")) {
      pr.prefill = f32(v);
      pr.prefill_rows = v->dim(0);
    }
    out.push_back(std::move(pr));
  }
  return out;
}

::testing::AssertionResult logits_close(const float* got, const float* want, int64_t n, const std::string& what) {
  double mx = 0, diff = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(got[i])) return ::testing::AssertionFailure() << what << ": non-finite logit";
    mx = std::max(mx, std::fabs(double(want[i])));
    diff = std::max(diff, std::fabs(double(got[i]) - want[i]));
  }
  if (diff > kTol * mx) return ::testing::AssertionFailure() << what << ": max diff " << diff << " vs max |ref| " << mx;
  return ::testing::AssertionSuccess();
}

// Sequence `s` of a batch: prompt-relative rows, blocks [first_block, ...).
SeqSlice make_seq(int32_t start, int32_t n, int32_t ctx, int32_t first_block, int32_t block_size) {
  SeqSlice s;
  s.token_start = start;
  s.num_tokens = n;
  s.context_len = ctx;
  for (int32_t b = 0; b * block_size < ctx; ++b) s.block_table.push_back(first_block + b);
  return s;
}

void add_seq(ForwardBatch& b, const std::vector<int32_t>& tokens, int32_t ctx, int32_t first_block, int32_t bs) {
  const int32_t start = b.total_tokens(), n = int32_t(tokens.size());
  b.seqs.push_back(make_seq(start, n, ctx, first_block, bs));
  for (int32_t i = 0; i < n; ++i) {
    b.token_ids.push_back(tokens[size_t(i)]);
    b.positions.push_back(ctx - n + i);
  }
}

class CudaRunnerGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(CudaRunnerGolden, MatchesReference) {
  YUN_SKIP_WITHOUT_GPU();
  const std::string dir = yun::test::golden_model(GetParam());
  CudaRunnerOptions opts;
  opts.max_num_tokens = 256;
  opts.auto_allocate_kv_cache = false;
  auto r = create_cuda_runner(dir, opts);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ModelRunner& runner = **r;
  const int32_t bs = 16, per_seq = 32;  // blocks per sequence region (512 tokens)
  auto prompts = load_expected(dir);
  ASSERT_FALSE(prompts.empty());
  ASSERT_STATUS_OK(runner.allocate_kv_cache({int32_t(per_seq * (prompts.size() + 1)), bs}));
  const int64_t V = runner.config().vocab_size;
  std::vector<float> logits;

  for (size_t j = 0; j < prompts.size(); ++j) {
    const Prompt& p = prompts[j];
    const int32_t n = int32_t(p.ids.size()), region = int32_t(j) * per_seq;
    SCOPED_TRACE(std::string(GetParam()) + " prompt " + std::to_string(j));
    // 1. Whole prompt in one step.
    ForwardBatch b;
    add_seq(b, p.ids, n, region, bs);
    const int64_t rows = p.prefill_rows ? p.prefill_rows : 1;
    for (int64_t i = n - rows; i < n; ++i) b.logit_rows.push_back(int32_t(i));
    ASSERT_STATUS_OK(runner.forward(b, logits));
    ASSERT_EQ(int64_t(logits.size()), rows * V);
    if (!p.prefill.empty()) {
      EXPECT_TRUE(logits_close(logits.data(), p.prefill.data(), rows * V, "prefill"));
    }
    // 2. Teacher-forced greedy decode (one-sequence decode: graph bucket 1).
    int32_t ctx = n;
    for (size_t step = 0; step < p.greedy.size(); ++step) {
      const float* row = step == 0 ? logits.data() + (rows - 1) * V : logits.data();
      if (!p.steps.empty()) {
        EXPECT_TRUE(logits_close(row, p.steps.data() + step * V, V, "step " + std::to_string(step)));
      }
      // Greedy agreement wherever the reference margin exceeds what our error
      // on this row could flip (2 * max |diff|; 0.25 without step logits).
      double flip = 0.25;
      if (!p.steps.empty()) {
        flip = 0;
        for (int64_t i = 0; i < V; ++i) flip = std::max(flip, 2.0 * std::fabs(double(row[i]) - p.steps[step * V + i]));
      }
      if (step < p.margin.size() && p.margin[step] > flip) {
        const int64_t arg = std::max_element(row, row + V) - row;
        EXPECT_EQ(arg, p.greedy[step]) << "greedy step " << step << " margin " << p.margin[step];
      }
      if (step + 1 == p.greedy.size() || ctx + 1 > per_seq * bs) break;
      ForwardBatch d;
      ++ctx;
      add_seq(d, {p.greedy[step]}, ctx, region, bs);
      d.logit_rows = {0};
      ASSERT_STATUS_OK(runner.forward(d, logits));
    }
  }

  // 3. Chunked prefill of the longest prompt (7-token chunks over the cached
  //    prefix) gives the same last-row logits as one step.
  const Prompt& longest = *std::max_element(prompts.begin(), prompts.end(),
                                            [](const Prompt& a, const Prompt& b) { return a.ids.size() < b.ids.size(); });
  const int32_t n = int32_t(longest.ids.size()), region = int32_t(prompts.size()) * per_seq;
  for (int32_t done = 0; done < n;) {
    const int32_t c = std::min<int32_t>(7, n - done);
    ForwardBatch b;
    add_seq(b, std::vector<int32_t>(longest.ids.begin() + done, longest.ids.begin() + done + c), done + c, region, bs);
    b.logit_rows = {c - 1};
    ASSERT_STATUS_OK(runner.forward(b, logits));
    done += c;
  }
  if (!longest.steps.empty()) {
    EXPECT_TRUE(logits_close(logits.data(), longest.steps.data(), V, "chunked prefill"));
  }

  // 4. All prompts' first decode step in one batch (ragged, graph bucket
  //    padding); their caches hold prompt + greedy[0] from step 2... so
  //    re-prefill each region first, then decode greedy[0] together.
  ForwardBatch pre;
  for (size_t j = 0; j < prompts.size(); ++j) add_seq(pre, prompts[j].ids, int32_t(prompts[j].ids.size()), int32_t(j) * per_seq, bs);
  ASSERT_STATUS_OK(runner.forward(pre, logits));
  ForwardBatch dec;
  for (size_t j = 0; j < prompts.size(); ++j) {
    if (prompts[j].greedy.empty()) continue;
    add_seq(dec, {prompts[j].greedy[0]}, int32_t(prompts[j].ids.size()) + 1, int32_t(j) * per_seq, bs);
    dec.logit_rows.push_back(int32_t(dec.seqs.size() - 1));
  }
  if (dec.seqs.empty()) return;
  for (int rep = 0; rep < 2; ++rep) {  // first run eager + capture, second replays the graph
    ASSERT_STATUS_OK(runner.forward(dec, logits));
    size_t k = 0;
    for (size_t j = 0; j < prompts.size(); ++j) {
      if (prompts[j].greedy.empty()) continue;
      if (prompts[j].steps.size() >= size_t(2 * V)) {
        EXPECT_TRUE(logits_close(logits.data() + k * V, prompts[j].steps.data() + V, V,
                                 "batched decode prompt " + std::to_string(j) + " rep " + std::to_string(rep)));
      }
      ++k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, CudaRunnerGolden,
                         ::testing::Values("qwen2-tiny", "qwen3-tiny", "llama-tiny", "qwen3moe-tiny", "qwen2-yarn-tiny"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& c : s) if (c == '-') c = '_';
                           return s;
                         });

// qwen3-e2e: real 151,936-token vocabulary, tied embeddings. The reference
// keeps the 64 largest last-position logits and the greedy continuation.
TEST(CudaRunnerGoldenE2e, TopLogitsAndGreedy) {
  YUN_SKIP_WITHOUT_GPU();
  const std::string dir = yun::test::golden_model("qwen3-e2e");
  CudaRunnerOptions opts;
  opts.max_num_tokens = 256;
  opts.auto_allocate_kv_cache = false;
  auto r = create_cuda_runner(dir, opts);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ModelRunner& runner = **r;
  ASSERT_STATUS_OK(runner.allocate_kv_cache({32, 16}));
  auto f = SafetensorsFile::open(dir + "/expected.safetensors");
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  const auto& t = (*f)->tensors();
  const int64_t V = runner.config().vocab_size;
  std::vector<float> logits;
  for (int j = 0; t.count("p" + std::to_string(j) + ".ids"); ++j) {
    const std::string p = "p" + std::to_string(j) + ".";
    auto i32 = [&](const std::string& n) {
      const TensorView& v = t.at(p + n);
      return std::vector<int32_t>(static_cast<const int32_t*>(v.data), static_cast<const int32_t*>(v.data) + v.numel());
    };
    auto f32 = [&](const std::string& n) {
      const TensorView& v = t.at(p + n);
      return std::vector<float>(static_cast<const float*>(v.data), static_cast<const float*>(v.data) + v.numel());
    };
    const auto ids = i32("ids"), top_ids = i32("last_top64_ids"), greedy = i32("greedy_ids");
    const auto top = f32("last_top64_logits"), margin = f32("greedy_margin");
    SCOPED_TRACE("qwen3-e2e prompt " + std::to_string(j));
    ForwardBatch b;
    add_seq(b, ids, int32_t(ids.size()), 0, 16);
    b.logit_rows = {int32_t(ids.size()) - 1};
    ASSERT_STATUS_OK(runner.forward(b, logits));
    ASSERT_EQ(int64_t(logits.size()), V);
    std::vector<float> got(top_ids.size());
    for (size_t k = 0; k < top_ids.size(); ++k) got[k] = logits[size_t(top_ids[k])];
    EXPECT_TRUE(logits_close(got.data(), top.data(), int64_t(top.size()), "top64"));
    int32_t ctx = int32_t(ids.size());
    for (size_t step = 0; step < greedy.size() && ctx < 32 * 16; ++step) {
      if (margin[step] > 0.25f) {  // well above a bf16 engine's logit error
        EXPECT_EQ(std::max_element(logits.begin(), logits.end()) - logits.begin(), greedy[step]) << "step " << step;
      }
      ForwardBatch d;
      add_seq(d, {greedy[step]}, ++ctx, 0, 16);
      d.logit_rows = {0};
      ASSERT_STATUS_OK(runner.forward(d, logits));
    }
  }
}

// forward(batch, sampling): device-sampled rows (greedy, seeded top-k) and
// host-fallback rows (logprobs, top-p without top-k, a penalty) give the
// tokens CpuSampler draws from forward()'s logits of the same batch.
TEST(CudaRunner, DeviceSamplingMatchesHost) {
  YUN_SKIP_WITHOUT_GPU();
  CudaRunnerOptions opts;
  opts.max_num_tokens = 256;
  opts.auto_allocate_kv_cache = false;
  opts.device_sampling = true;
  auto r = create_cuda_runner(yun::test::golden_model("qwen3-e2e"), opts);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ModelRunner& runner = **r;
  ASSERT_STATUS_OK(runner.allocate_kv_cache({64, 16}));
  ForwardBatch b;
  for (int s = 0; s < 6; ++s) {
    std::vector<int32_t> ids;
    for (int i = 0; i < 9 + s; ++i) ids.push_back(1000 + 37 * i + 101 * s);
    add_seq(b, ids, int32_t(ids.size()), 2 * s, 16);
    b.logit_rows.push_back(b.total_tokens() - 1);
  }
  std::vector<float> logits;
  ASSERT_STATUS_OK(runner.forward(b, logits));
  const int64_t V = runner.config().vocab_size;
  std::vector<RowSampling> rows(6);
  std::vector<std::mt19937_64> rngs, ref_rngs;
  for (int s = 0; s < 6; ++s) rngs.emplace_back(100 + s);
  ref_rngs = rngs;
  rows[0].options.temperature = 0;                                    // device greedy
  rows[1].options.top_k = 20, rows[1].options.temperature = 0.8;      // device top-k
  rows[2].options.top_k = 50, rows[2].options.top_p = 0.9;            // device top-k + top-p
  rows[2].options.min_p = 0.02;
  rows[3].options.temperature = 0, rows[3].options.logprobs = 2;     // host: logprobs
  rows[4].options.top_p = 0.9;                                        // host: top-p alone
  rows[5].options.temperature = 0, rows[5].options.repetition_penalty = 1.3;  // host
  const std::vector<int32_t> seen = {1000, 1037};
  rows[5].tokens = seen;
  rows[5].num_prompt = 2;
  for (int s = 0; s < 6; ++s) rows[size_t(s)].rng = &rngs[size_t(s)];
  std::vector<SampleResult> got;
  ASSERT_STATUS_OK(runner.forward(b, rows, got));  // the same batch again: same K/V, same logits
  ASSERT_EQ(got.size(), 6u);
  CpuSampler cpu;
  for (int s = 0; s < 6; ++s) {
    RowSampling ref = rows[size_t(s)];
    ref.rng = &ref_rngs[size_t(s)];
    const SampleResult want =
        cpu.sample(std::span<const float>(logits.data() + s * V, size_t(V)), ref);
    EXPECT_EQ(got[size_t(s)].token, want.token) << "row " << s;
    EXPECT_EQ(got[size_t(s)].logprob.top.size(), want.logprob.top.size()) << "row " << s;
  }
}

TEST(CudaRunner, PlansKvCacheUnderGpuMemoryUtilization) {
  YUN_SKIP_WITHOUT_GPU();
  CudaRunnerOptions opts;
  opts.max_num_tokens = 64;
  opts.auto_allocate_kv_cache = false;
  opts.gpu_memory_utilization = 0.5;
  auto r = create_cuda_runner(yun::test::golden_model("qwen2-tiny"), opts);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  KvCacheBudget b;
  b.max_model_len = 4096;
  b.max_num_seqs = 8;
  auto want = (*r)->plan_kv_cache(b);  // tiny model: what the engine can use
  ASSERT_TRUE(want.is_ok()) << want.status().to_string();
  EXPECT_EQ(want->num_blocks, 4096 * 8 / 16);
  b.max_num_seqs = 1 << 20;  // more than the device: capped by the budget
  auto capped = (*r)->plan_kv_cache(b);
  ASSERT_TRUE(capped.is_ok());
  size_t free_b = 0, total_b = 0;
  ASSERT_CUDA_OK(cudaMemGetInfo(&free_b, &total_b));
  const double bytes = double(capped->num_blocks) * 16 * double((*r)->kv_bytes_per_token());
  EXPECT_LE(bytes, 0.5 * double(total_b));
  EXPECT_GT(capped->num_blocks, want->num_blocks);
  ASSERT_STATUS_OK((*r)->allocate_kv_cache(*want));
  EXPECT_EQ((*r)->kv_cache_spec().num_blocks, want->num_blocks);
}

TEST(CudaRunner, RejectsMalformedBatch) {
  YUN_SKIP_WITHOUT_GPU();
  CudaRunnerOptions opts;
  opts.max_num_tokens = 64;
  opts.auto_allocate_kv_cache = false;
  auto r = create_cuda_runner(yun::test::golden_model("qwen2-tiny"), opts);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  std::vector<float> logits;
  ForwardBatch b;
  add_seq(b, {1, 2, 3}, 3, 0, 16);
  EXPECT_EQ((*r)->forward(b, logits).code(), StatusCode::kInvalidArgument);  // no KV cache yet
  ASSERT_STATUS_OK((*r)->allocate_kv_cache({4, 16}));
  ForwardBatch bad = b;
  bad.seqs[0].block_table = {7};  // block id >= num_blocks
  EXPECT_EQ((*r)->forward(bad, logits).code(), StatusCode::kInvalidArgument);
  bad = b;
  bad.token_ids[1] = 1 << 20;  // token id >= vocab
  EXPECT_EQ((*r)->forward(bad, logits).code(), StatusCode::kInvalidArgument);
  bad = b;
  bad.logit_rows = {3};
  EXPECT_EQ((*r)->forward(bad, logits).code(), StatusCode::kInvalidArgument);
  b.logit_rows = {2};
  ASSERT_STATUS_OK((*r)->forward(b, logits));
  EXPECT_EQ(logits.size(), size_t((*r)->config().vocab_size));
}

TEST(CudaDevice, AvailabilityIsClean) {
  // Runs everywhere: without a driver this must return false, not abort.
  const bool ok = cuda_device_available();
  if (!ok) {
    auto r = create_cuda_runner(yun::test::golden_model("qwen2-tiny"), CudaRunnerOptions{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  } else {
    auto d = cuda_device_description(0);
    ASSERT_TRUE(d.is_ok()) << d.status().to_string();
    std::printf("device: %s\n", d->c_str());
  }
}

}  // namespace
}  // namespace yun::cuda_test
