// Golden tests for the CPU runner against transformers (float64 reference):
// prefill logits, greedy decode with the KV cache (teacher-forced with the
// reference tokens so step logits stay comparable), chunked prefill and
// ragged multi-sequence batches against single-sequence runs.
// Run: build/tests/yun_compute_tests --gtest_filter='Golden*'
#include <cstdio>
#include <cstring>

#include "golden_util.h"
#include "yun/compute/cpu/matmul.h"

namespace yun::test {
namespace {

constexpr double kTol = 1e-4;        // vs the float64 reference, relative to max|ref|
constexpr double kSelfTol = 1e-5;    // batch shapes vs each other
constexpr float kMarginTol = 1e-3f;  // greedy ties below this margin may differ
constexpr int32_t kBlockSize = 8;
constexpr int32_t kNumBlocks = 512;

struct Golden {
  std::string dir;
  std::unique_ptr<ModelRunner> runner;
  std::unique_ptr<SafetensorsFile> expected;
  int64_t vocab = 0;

  const TensorView* get(const std::string& name) const {
    auto it = expected->tensors().find(name);
    return it == expected->tensors().end() ? nullptr : &it->second;
  }
  int num_prompts() const {
    int n = 0;
    while (get("p" + std::to_string(n) + ".ids")) ++n;
    return n;
  }
  std::vector<int32_t> ids(int j) const { return read_i32(*get("p" + std::to_string(j) + ".ids")); }
};

Golden load(const std::string& name, bool bf16_activations = false, bool read_weights = false) {
  Golden g;
  g.dir = golden_model(name);
  CpuRunnerOptions opt;
  opt.num_threads = 2;
  opt.bf16_activations = bf16_activations;
  opt.read_weights = read_weights;
  auto r = create_cpu_runner(g.dir, opt);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (!r.is_ok()) return g;
  g.runner = std::move(*r);
  Status s = g.runner->allocate_kv_cache({kNumBlocks, kBlockSize});
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  auto e = SafetensorsFile::open(g.dir + "/expected.safetensors");
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  if (e.is_ok()) g.expected = std::move(*e);
  g.vocab = g.runner->config().vocab_size;
  return g;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, PrefillAndGreedyMatchTransformers) {
  Golden g = load(GetParam());
  ASSERT_TRUE(g.runner && g.expected);
  const int n = g.num_prompts();
  ASSERT_GT(n, 0);
  const int64_t V = g.vocab;
  double worst = 0.0;
  for (int j = 0; j < n; ++j) {
    const std::string p = "p" + std::to_string(j) + ".";
    std::vector<int32_t> ids = g.ids(j);
    BlockAlloc alloc(kNumBlocks);
    SeqState st;
    std::vector<float> logits = run_one(*g.runner, st, ids, alloc, /*all_logits=*/true);
    ASSERT_EQ(int64_t(logits.size()), int64_t(ids.size()) * V);
    const float* last = logits.data() + (int64_t(ids.size()) - 1) * V;
    if (const TensorView* pl = g.get(p + "prefill_logits")) {
      std::vector<float> ref = read_f32(*pl);
      const int64_t rows = pl->dim(0);
      ASSERT_LE(rows, int64_t(ids.size()));
      const float* mine = logits.data() + (int64_t(ids.size()) - rows) * V;
      double e = rel_err(mine, ref.data(), rows * V);
      worst = std::max(worst, e);
      EXPECT_LT(e, kTol) << GetParam() << " prompt " << j << " prefill";
    }
    if (const TensorView* ti = g.get(p + "last_top64_ids")) {
      std::vector<int32_t> tid = read_i32(*ti);
      std::vector<float> tl = read_f32(*g.get(p + "last_top64_logits"));
      std::vector<float> mine(tid.size());
      for (size_t k = 0; k < tid.size(); ++k) mine[k] = last[tid[k]];
      double e = rel_err(mine.data(), tl.data(), int64_t(tl.size()));
      worst = std::max(worst, e);
      EXPECT_LT(e, kTol) << GetParam() << " prompt " << j << " top64";
    }
    // Greedy decode, fed the reference tokens.
    std::vector<int32_t> greedy = read_i32(*g.get(p + "greedy_ids"));
    std::vector<float> margin = read_f32(*g.get(p + "greedy_margin"));
    const TensorView* sl = g.get(p + "step_logits");
    std::vector<float> step_ref = sl ? read_f32(*sl) : std::vector<float>();
    std::vector<float> cur(last, last + V);
    for (size_t i = 0; i < greedy.size(); ++i) {
      int64_t mine = argmax(cur.data(), V);
      if (mine != greedy[i]) {
        EXPECT_LT(margin[i], kMarginTol) << GetParam() << " prompt " << j << " step " << i
                                         << ": got " << mine << " want " << greedy[i];
      }
      if (!step_ref.empty()) {
        double e = rel_err(cur.data(), step_ref.data() + i * V, V);
        worst = std::max(worst, e);
        EXPECT_LT(e, kTol) << GetParam() << " prompt " << j << " step " << i;
      }
      if (i + 1 < greedy.size()) cur = run_one(*g.runner, st, {greedy[i]}, alloc, false);
    }
  }
  std::printf("[golden] %s: worst relative logit error %.3g\n", GetParam().c_str(), worst);
}

// `--no-mmap`: weights read into (huge-page) memory instead of mapped; the
// same bytes, so the same logits to the bit.
TEST_P(GoldenTest, ReadWeightsGiveTheMappedLogits) {
  Golden mapped = load(GetParam());
  Golden read = load(GetParam(), false, /*read_weights=*/true);
  ASSERT_TRUE(mapped.runner && read.runner);
  std::vector<int32_t> ids = mapped.ids(0);
  BlockAlloc a1(kNumBlocks), a2(kNumBlocks);
  SeqState s1, s2;
  std::vector<float> l1 = run_one(*mapped.runner, s1, ids, a1, /*all_logits=*/true);
  std::vector<float> l2 = run_one(*read.runner, s2, ids, a2, /*all_logits=*/true);
  ASSERT_EQ(l1.size(), l2.size());
  EXPECT_EQ(std::memcmp(l1.data(), l2.data(), l1.size() * sizeof(float)), 0);
}

// `--dtype bfloat16`: matmul inputs rounded to bf16 (where the CPU has
// AVX512_BF16 and a product has >= 5 rows). Not exact by design, but close:
// each row of prefill logits stays within kBf16Tol of the reference, and the
// logits differ from the float32 runner's (the mode is really on). MoE: a
// token whose 2nd and 3rd experts nearly tie may switch experts (a jump, not
// a small error, as in any bf16 engine), so there 90% of rows must be close.
TEST_P(GoldenTest, Bf16ActivationsStayClose) {
  constexpr double kBf16Tol = 3e-2;
  Golden g = load(GetParam(), /*bf16_activations=*/true);
  Golden f = load(GetParam());
  ASSERT_TRUE(g.runner && g.expected && f.runner);
  const bool moe = g.runner->config().num_experts > 0;
  const int64_t V = g.vocab;
  double worst = 0.0, worst_vs_f32 = 0.0;
  int64_t rows_total = 0, rows_close = 0;
  for (int j = 0; j < g.num_prompts(); ++j) {
    const std::string p = "p" + std::to_string(j) + ".";
    std::vector<int32_t> ids = g.ids(j);
    BlockAlloc a1(kNumBlocks), a2(kNumBlocks);
    SeqState s1, s2;
    std::vector<float> mine = run_one(*g.runner, s1, ids, a1, /*all_logits=*/true);
    std::vector<float> exact = run_one(*f.runner, s2, ids, a2, /*all_logits=*/true);
    double e = 0.0;
    if (const TensorView* pl = g.get(p + "prefill_logits")) {
      std::vector<float> ref = read_f32(*pl);
      const int64_t rows = pl->dim(0), skip = int64_t(ids.size()) - rows;
      for (int64_t r = 0; r < rows; ++r) {
        const double er = rel_err(mine.data() + (skip + r) * V, ref.data() + r * V, V);
        e = std::max(e, er);
        ++rows_total;
        rows_close += er < kBf16Tol;
      }
    } else if (const TensorView* ti = g.get(p + "last_top64_ids")) {
      std::vector<int32_t> tid = read_i32(*ti);
      std::vector<float> tl = read_f32(*g.get(p + "last_top64_logits"));
      const float* last = mine.data() + (int64_t(ids.size()) - 1) * V;
      std::vector<float> top(tid.size());
      for (size_t k = 0; k < tid.size(); ++k) top[k] = last[tid[k]];
      e = rel_err(top.data(), tl.data(), int64_t(tl.size()));
      ++rows_total;
      rows_close += e < kBf16Tol;
    }
    worst = std::max(worst, e);
    worst_vs_f32 = std::max(worst_vs_f32, rel_err(mine.data(), exact.data(), int64_t(mine.size())));
  }
  ASSERT_GT(rows_total, 0);
  if (moe) {
    EXPECT_GE(double(rows_close), 0.9 * double(rows_total)) << GetParam();
  } else {
    EXPECT_EQ(rows_close, rows_total) << GetParam() << ": worst row error " << worst;
  }
  if (matmul_bf16_supported()) EXPECT_GT(worst_vs_f32, 0.0) << "bf16 mode had no effect";
  std::printf(
      "[golden] %s bf16 activations: worst relative logit error %.3g, %lld/%lld rows "
      "within %.0e\n",
      GetParam().c_str(), worst, (long long)rows_close, (long long)rows_total, kBf16Tol);
}

// Chunked prefill: the same prompt in chunks gives the same logits.
TEST_P(GoldenTest, ChunkedPrefillMatchesOneShot) {
  Golden g = load(GetParam());
  ASSERT_TRUE(g.runner && g.expected);
  const int64_t V = g.vocab;
  for (int j = 0; j < g.num_prompts(); ++j) {
    std::vector<int32_t> ids = g.ids(j);
    if (ids.size() < 3) continue;
    BlockAlloc alloc(kNumBlocks);
    SeqState whole;
    std::vector<float> ref = run_one(*g.runner, whole, ids, alloc, true);
    SeqState st;
    std::vector<float> got;
    const size_t cuts[] = {1, 7, 9, 33, 50};
    size_t at = 0, c = 0;
    while (at < ids.size()) {
      size_t n = std::min(cuts[c++ % 5], ids.size() - at);
      std::vector<int32_t> chunk(ids.begin() + at, ids.begin() + at + n);
      std::vector<float> l = run_one(*g.runner, st, chunk, alloc, true);
      got.insert(got.end(), l.begin(), l.end());
      at += n;
    }
    ASSERT_EQ(got.size(), ref.size());
    EXPECT_LT(rel_err(got.data(), ref.data(), int64_t(ref.size())), kSelfTol)
        << GetParam() << " prompt " << j;
    (void)V;
  }
}

// Ragged batch: all prompts (plus a decode step of another sequence) in one
// forward give the same logits as each alone.
TEST_P(GoldenTest, RaggedBatchMatchesAlone) {
  Golden g = load(GetParam());
  ASSERT_TRUE(g.runner && g.expected);
  const int64_t V = g.vocab;
  const int n = g.num_prompts();
  BlockAlloc alloc(kNumBlocks);
  std::vector<std::vector<float>> alone;
  for (int j = 0; j < n; ++j) {
    SeqState st;
    alone.push_back(run_one(*g.runner, st, g.ids(j), alloc, true));
  }
  // A sequence whose first prompt is already cached: this step decodes one token.
  std::vector<int32_t> ids0 = g.ids(0);
  SeqState dec;
  run_one(*g.runner, dec, ids0, alloc, false);
  SeqState dec_ref = dec;
  std::vector<float> dec_alone;
  {
    SeqState tmp;
    std::vector<int32_t> ext = ids0;
    ext.push_back(3);
    std::vector<float> l = run_one(*g.runner, tmp, ext, alloc, false);
    dec_alone = l;
  }
  ForwardBatch b;
  std::vector<SeqState> sts(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) add_seq(b, sts[size_t(j)], g.ids(j), kBlockSize, alloc, true);
  add_seq(b, dec, {3}, kBlockSize, alloc, false);
  std::vector<float> logits;
  Status s = g.runner->forward(b, logits);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  ASSERT_EQ(int64_t(logits.size()), int64_t(b.logit_rows.size()) * V);
  size_t off = 0;
  for (int j = 0; j < n; ++j) {
    EXPECT_LT(
        rel_err(logits.data() + off, alone[size_t(j)].data(), int64_t(alone[size_t(j)].size())),
        kSelfTol)
        << GetParam() << " prompt " << j;
    off += alone[size_t(j)].size();
  }
  EXPECT_LT(rel_err(logits.data() + off, dec_alone.data(), V), kSelfTol) << "decode row";
  (void)dec_ref;
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenTest,
                         ::testing::Values("qwen2-tiny", "qwen3-tiny", "llama-tiny",
                                           "qwen3moe-tiny", "qwen2-yarn-tiny", "qwen3-e2e"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& ch : s)
                             if (ch == '-') ch = '_';
                           return s;
                         });

}  // namespace
}  // namespace yun::test
