// Golden tests for the Qwen3.5 hybrids (Gated DeltaNet + gated full
// attention) on the CPU runner, against the float64 reference of
// tests/data/golden/QWEN3_5.md: prefill logits at every position (both sides
// of the 64-token chunk boundaries), greedy decode continuing from the
// recurrent state (teacher-forced, step logits compared), chunked prefill ==
// one shot, ragged batches == alone, the state-slot contract, and the
// prefix-cache snapshots (captures and restores).
// Run: build/tests/yun_compute_tests --gtest_filter='Qwen35*'
#include <cstdio>

#include "golden_util.h"
#include "yun/model/decoder_spec.h"

namespace yun::test {
namespace {

constexpr double kTol = 1e-4;       // most rows, relative to the row's max |ref|
constexpr double kRowSlack = 2e-3;  // a few rows (QWEN3_5.md: tiny gated-norm heads)
constexpr double kSelfTol = 1e-4;   // chunkings vs one shot (float32 state between calls)
constexpr int32_t kBlockSize = 8;
constexpr int32_t kNumBlocks = 512;
constexpr int32_t kSlots = 8;

struct Golden {
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

Golden load(const std::string& name) {
  Golden g;
  const std::string dir = golden_model(name);
  CpuRunnerOptions opt;
  opt.num_threads = 2;
  auto r = create_cpu_runner(dir, opt);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (!r.is_ok()) return g;
  g.runner = std::move(*r);
  EXPECT_TRUE(g.runner->allocate_kv_cache({kNumBlocks, kBlockSize}).is_ok());
  EXPECT_TRUE(g.runner->allocate_state_slots(kSlots).is_ok());
  auto e = SafetensorsFile::open(dir + "/expected.safetensors");
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  if (e.is_ok()) g.expected = std::move(*e);
  g.vocab = g.runner->config().vocab_size;
  return g;
}

// A sequence: KV blocks plus its state slot.
struct Seq {
  SeqState kv;
  int32_t slot = 0;
};

void add(ForwardBatch& b, Seq& s, const std::vector<int32_t>& tokens, BlockAlloc& alloc,
         bool all_logits) {
  add_seq(b, s.kv, tokens, kBlockSize, alloc, all_logits);
  b.seqs.back().state_slot = s.slot;
}

std::vector<float> run(ModelRunner& r, Seq& s, const std::vector<int32_t>& tokens,
                       BlockAlloc& alloc, bool all_logits) {
  ForwardBatch b;
  add(b, s, tokens, alloc, all_logits);
  std::vector<float> logits;
  Status st = r.forward(b, logits);
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  return logits;
}

// Compares `rows` rows of logits; returns the worst row error and counts
// rows above kTol in `loose`.
double compare_rows(const float* mine, const float* ref, int64_t rows, int64_t V, int* loose) {
  double worst = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const double e = rel_err(mine + r * V, ref + r * V, V);
    worst = std::max(worst, e);
    if (e >= kTol) ++*loose;
  }
  return worst;
}

class Qwen35GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(Qwen35GoldenTest, SpecDescribesTheHybrid) {
  auto c = load_model_config(golden_model(GetParam()));
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  DecoderSpec d = build_decoder_spec(*c);
  EXPECT_EQ(d.norm, NormKind::kZeroCentred);
  EXPECT_TRUE(d.attention.output_gate);
  EXPECT_TRUE(d.attention.qk_norm);
  EXPECT_EQ(d.attention.rotary_dim, 8);
  ASSERT_EQ(d.layers.size(), 8u);
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(d.layers[size_t(i)].mixer,
              i == 3 || i == 7 ? MixerKind::kFullAttention : MixerKind::kLinearAttention);
  EXPECT_EQ(d.num_full_attention_layers(), 2);
  EXPECT_EQ(d.layers[7].mixer_index, 1);
  EXPECT_EQ(d.layers[6].mixer_index, 5);
  const bool moe = GetParam().find("moe") != std::string::npos;
  EXPECT_EQ(d.layers[0].mlp, moe ? MlpKind::kMoeShared : MlpKind::kDense);
  EXPECT_GT(d.state_bytes_per_sequence(), 0u);
}

TEST_P(Qwen35GoldenTest, PrefillAndGreedyMatchReference) {
  Golden g = load(GetParam());
  ASSERT_TRUE(g.runner && g.expected);
  const int64_t V = g.vocab;
  double worst = 0.0;
  int loose = 0, rows_total = 0;
  for (int j = 0; j < g.num_prompts(); ++j) {
    const std::string p = "p" + std::to_string(j) + ".";
    std::vector<int32_t> ids = g.ids(j);
    const int64_t n = int64_t(ids.size());
    BlockAlloc alloc(kNumBlocks);
    Seq s;
    std::vector<float> logits = run(*g.runner, s, ids, alloc, /*all_logits=*/true);
    ASSERT_EQ(int64_t(logits.size()), n * V);
    for (const char* key : {"prefill_logits", "prefill_logits_full"}) {
      const TensorView* pl = g.get(p + key);
      if (!pl) continue;
      std::vector<float> ref = read_f32(*pl);
      const int64_t rows = pl->dim(0);
      ASSERT_LE(rows, n);
      const double e = compare_rows(logits.data() + (n - rows) * V, ref.data(), rows, V, &loose);
      rows_total += int(rows);
      worst = std::max(worst, e);
      EXPECT_LT(e, kRowSlack) << GetParam() << " prompt " << j << " " << key;
    }
    // Greedy decode from the state, fed the reference tokens.
    std::vector<int32_t> greedy = read_i32(*g.get(p + "greedy_ids"));
    std::vector<float> step_ref = read_f32(*g.get(p + "step_logits"));
    std::vector<float> cur(logits.end() - V, logits.end());
    for (size_t i = 0; i < greedy.size(); ++i) {
      EXPECT_EQ(argmax(cur.data(), V), greedy[i]) << GetParam() << " prompt " << j << " step " << i;
      const double e = compare_rows(cur.data(), step_ref.data() + int64_t(i) * V, 1, V, &loose);
      ++rows_total;
      worst = std::max(worst, e);
      EXPECT_LT(e, kRowSlack) << GetParam() << " prompt " << j << " step " << i;
      if (i + 1 < greedy.size()) cur = run(*g.runner, s, {greedy[i]}, alloc, false);
    }
  }
  // The slack is for a few rows only.
  EXPECT_LE(loose * 50, rows_total) << loose << " of " << rows_total << " rows above " << kTol;
  std::printf("[qwen35] %s: worst row error %.3g, %d/%d rows above %.0e\n", GetParam().c_str(),
              worst, loose, rows_total, kTol);
}

// Prefill in 17-token chunks (crossing the 64-token delta-rule chunks at
// other places) and then token by token equals one shot.
TEST_P(Qwen35GoldenTest, ChunkedPrefillMatchesOneShot) {
  Golden g = load(GetParam());
  ASSERT_TRUE(g.runner && g.expected);
  const int64_t V = g.vocab;
  for (int j = 0; j < g.num_prompts(); ++j) {
    std::vector<int32_t> ids = g.ids(j);
    if (ids.size() < 3) continue;
    for (size_t chunk : {size_t(17), size_t(1)}) {
      BlockAlloc alloc(kNumBlocks);
      Seq whole, parts;
      parts.slot = 1;
      std::vector<float> ref = run(*g.runner, whole, ids, alloc, true);
      std::vector<float> mine;
      for (size_t at = 0; at < ids.size(); at += chunk) {
        std::vector<int32_t> piece(ids.begin() + at,
                                   ids.begin() + std::min(ids.size(), at + chunk));
        std::vector<float> l = run(*g.runner, parts, piece, alloc, true);
        mine.insert(mine.end(), l.begin(), l.end());
      }
      ASSERT_EQ(mine.size(), ref.size());
      for (size_t r = 0; r < ids.size(); ++r)
        EXPECT_LT(rel_err(mine.data() + r * V, ref.data() + r * V, V), kSelfTol)
            << GetParam() << " prompt " << j << " chunk " << chunk << " row " << r;
    }
  }
}

// Several sequences in one ragged batch (a prefill next to decodes, each
// with its own slot) give what each gives alone.
TEST_P(Qwen35GoldenTest, RaggedBatchMatchesAlone) {
  Golden g = load(GetParam());
  ASSERT_TRUE(g.runner && g.expected);
  const int64_t V = g.vocab;
  const int n = std::min(g.num_prompts(), 4);
  std::vector<std::vector<float>> alone(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) {
    BlockAlloc alloc(kNumBlocks);
    Seq s;
    std::vector<int32_t> ids = g.ids(j);
    alone[size_t(j)] = run(*g.runner, s, ids, alloc, false);
    std::vector<float> next = run(*g.runner, s, {7}, alloc, false);
    alone[size_t(j)].insert(alone[size_t(j)].end(), next.begin(), next.end());
  }
  BlockAlloc alloc(kNumBlocks);
  std::vector<Seq> seqs(static_cast<size_t>(n));
  ForwardBatch b1, b2;
  for (int j = 0; j < n; ++j) {
    seqs[size_t(j)].slot = kSlots - 1 - j;
    add(b1, seqs[size_t(j)], g.ids(j), alloc, false);
  }
  for (int j = n; j-- > 0;) add(b2, seqs[size_t(j)], {7}, alloc, false);
  std::vector<float> l1, l2;
  ASSERT_TRUE(g.runner->forward(b1, l1).is_ok());
  ASSERT_TRUE(g.runner->forward(b2, l2).is_ok());
  for (int j = 0; j < n; ++j) {
    EXPECT_LT(rel_err(l1.data() + j * V, alone[size_t(j)].data(), V), kSelfTol) << "prompt " << j;
    EXPECT_LT(rel_err(l2.data() + (n - 1 - j) * V, alone[size_t(j)].data() + V, V), kSelfTol)
        << "prompt " << j << " decode";
  }
}

// The slot contract: a slice that does not continue its slot's state is an
// error, never a silent wrong answer; copy_state_slot forks a state.
TEST_P(Qwen35GoldenTest, StateSlotContract) {
  Golden g = load(GetParam());
  ASSERT_TRUE(g.runner && g.expected);
  EXPECT_GT(g.runner->state_bytes_per_slot(), 0u);
  const int64_t V = g.vocab;
  std::vector<int32_t> ids = g.ids(2);
  BlockAlloc alloc(kNumBlocks);
  Seq a;
  run(*g.runner, a, ids, alloc, false);
  // Skipping a token (the slot is at n, the slice claims n + 1).
  {
    ForwardBatch b;
    Seq skip = a;
    skip.kv.context_len += 1;
    add(b, skip, {5}, alloc, false);
    std::vector<float> l;
    Status st = g.runner->forward(b, l);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
  }
  // Slot out of range, and one slot twice in a batch.
  {
    ForwardBatch b;
    Seq bad;
    bad.slot = kSlots;
    add(b, bad, {1, 2}, alloc, false);
    std::vector<float> l;
    EXPECT_EQ(g.runner->forward(b, l).code(), StatusCode::kInvalidArgument);
    ForwardBatch b2;
    Seq x, y;
    x.slot = y.slot = 3;
    add(b2, x, {1, 2}, alloc, false);
    add(b2, y, {1, 2}, alloc, false);
    EXPECT_EQ(g.runner->forward(b2, l).code(), StatusCode::kInvalidArgument);
  }
  // Fork: copy slot 0 to slot 5, both continue with the same token.
  ASSERT_TRUE(g.runner->copy_state_slot(0, 5).is_ok());
  Seq fork = a;
  fork.slot = 5;
  fork.kv.blocks.clear();  // own blocks; the shared prefix KV is copied below
  std::vector<float> la = run(*g.runner, a, {9}, alloc, false);
  // The fork needs the prefix KV too: give it a's table (read only here).
  fork.kv.blocks = a.kv.blocks;
  fork.kv.context_len = a.kv.context_len - 1;
  std::vector<float> lf = run(*g.runner, fork, {9}, alloc, false);
  EXPECT_LT(rel_err(lf.data(), la.data(), V), 1e-6);
  // Reset: the slot starts over.
  ASSERT_TRUE(g.runner->reset_state_slot(5).is_ok());
  {
    ForwardBatch b;
    Seq f2 = fork;
    add(b, f2, {3}, alloc, false);
    std::vector<float> l;
    EXPECT_EQ(g.runner->forward(b, l).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(g.runner->reset_state_slot(kSlots).code(), StatusCode::kInvalidArgument);
  // Without a state table, a hybrid refuses to run (never UB).
  ASSERT_TRUE(g.runner->allocate_state_slots(0).is_ok());
  {
    ForwardBatch b;
    Seq s0;
    add(b, s0, {1, 2}, alloc, false);
    std::vector<float> l;
    EXPECT_EQ(g.runner->forward(b, l).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(g.runner->allocate_state_slots(-1).code(), StatusCode::kInvalidArgument);
}

// Prefix-cache snapshots (SeqSlice::captures / restore_slot): capturing the
// state mid-slice changes no logit; a slice restored from a capture at row r
// continues exactly like the uncut run (rows r.. and a decode step after the
// end), and the contract's violations are errors.
TEST_P(Qwen35GoldenTest, SnapshotCaptureAndRestore) {
  Golden g = load(GetParam());
  ASSERT_TRUE(g.runner && g.expected);
  const int64_t V = g.vocab;
  std::vector<int32_t> ids = g.ids(4);  // 130 / 140 tokens: three delta-rule chunks
  const int32_t n = int32_t(ids.size());
  BlockAlloc alloc(kNumBlocks);
  Seq plain;
  std::vector<float> ref = run(*g.runner, plain, ids, alloc, true);
  std::vector<float> ref_next = run(*g.runner, plain, {11}, alloc, false);
  // The same prompt with captures at rows 1, 37, 64, 100 and n (slots 3..7).
  const std::vector<int32_t> rows = {1, 37, 64, 100, n};
  Seq cap;
  cap.slot = 2;
  ForwardBatch b;
  add(b, cap, ids, alloc, true);
  for (size_t i = 0; i < rows.size(); ++i) b.seqs[0].captures.push_back({rows[i], 3 + int32_t(i)});
  std::vector<float> mine;
  ASSERT_TRUE(g.runner->forward(b, mine).is_ok());
  ASSERT_EQ(mine.size(), ref.size());
  for (int32_t r = 0; r < n; ++r)
    EXPECT_LT(rel_err(mine.data() + r * V, ref.data() + r * V, V), kSelfTol) << "row " << r;
  for (size_t i = 0; i < rows.size(); ++i) {
    const int32_t r = rows[i], snap = 3 + int32_t(i);
    Seq s;
    s.slot = 1;
    s.kv.blocks = cap.kv.blocks;  // the prefix KV (rewritten with equal values)
    s.kv.blocks.resize(size_t((r + kBlockSize - 1) / kBlockSize));
    s.kv.context_len = r;
    std::vector<int32_t> rest(ids.begin() + r, ids.end());
    if (rest.empty()) rest = {11};
    ForwardBatch rb;
    add(rb, s, rest, alloc, true);
    rb.seqs[0].restore_slot = snap;
    std::vector<float> l;
    Status st = g.runner->forward(rb, l);
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    if (r == n) {
      EXPECT_LT(rel_err(l.data(), ref_next.data(), V), kSelfTol) << "decode after the end";
      continue;
    }
    for (int32_t k = 0; k < n - r; ++k)
      EXPECT_LT(rel_err(l.data() + k * V, ref.data() + (r + k) * V, V), kSelfTol)
          << "restored at " << r << ", row " << r + k;
  }
  // Violations: a restore at the wrong position, a restore slot written in
  // the same batch, captures out of order, a capture into the state slot.
  std::vector<float> l;
  {
    Seq s;
    s.slot = 1;
    s.kv.blocks = cap.kv.blocks;
    s.kv.context_len = 40;  // snapshot 4 holds 37 tokens
    ForwardBatch rb;
    add(rb, s, {1, 2}, alloc, false);
    rb.seqs[0].restore_slot = 4;
    EXPECT_EQ(g.runner->forward(rb, l).code(), StatusCode::kInvalidArgument);
  }
  {
    ForwardBatch rb;
    Seq s, t;
    s.slot = 1;
    s.kv.blocks = cap.kv.blocks;
    s.kv.context_len = 37;
    add(rb, s, {1, 2}, alloc, false);
    rb.seqs[0].restore_slot = 4;
    t.slot = 0;
    add(rb, t, {1, 2, 3}, alloc, false);
    rb.seqs[1].captures.push_back({2, 4});
    EXPECT_EQ(g.runner->forward(rb, l).code(), StatusCode::kInvalidArgument);
  }
  for (std::vector<StateCapture> bad :
       {std::vector<StateCapture>{{2, 5}, {2, 6}}, std::vector<StateCapture>{{0, 5}},
        std::vector<StateCapture>{{4, 5}}, std::vector<StateCapture>{{1, 0}},
        std::vector<StateCapture>{{1, kSlots}}}) {
    ForwardBatch rb;
    Seq s;
    add(rb, s, {1, 2, 3}, alloc, false);
    rb.seqs[0].captures = bad;
    EXPECT_EQ(g.runner->forward(rb, l).code(), StatusCode::kInvalidArgument);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Qwen35GoldenTest,
                         ::testing::Values("qwen3_5-tiny", "qwen3_5moe-tiny"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-' || c == '.') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace yun::test
