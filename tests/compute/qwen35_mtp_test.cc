// The CPU runner's speculative-decoding paths on the Qwen3.5 golden hybrids:
// the MTP head (CpuRunnerOptions::load_mtp, mtp_forward) against a plain
// float64 reference of its formula at position 0 (one key: the attention is
// the value, so the reference needs no rope or softmax), mtp_forward in
// pieces == in one call (its own KV layer carried), a 2-token verify piece ==
// two 1-token steps, and the per-row state snapshot (SeqSlice::captures)
// == the state after the first row.
// Run: build/tests/yun_compute_tests --gtest_filter='Qwen35Mtp*'
#include <cmath>

#include "golden_util.h"
#include "yun/compute/cpu/convert.h"
#include "yun/model/config.h"
#include "yun/model/safetensors.h"
#include "yun/model/weights.h"

namespace yun::test {
namespace {

constexpr int32_t kBlockSize = 8;
constexpr int32_t kNumBlocks = 256;
constexpr int32_t kSlots = 6;

std::unique_ptr<ModelRunner> load(const std::string& model, bool mtp) {
  CpuRunnerOptions o;
  o.num_threads = 2;
  o.load_mtp = mtp;
  auto r = create_cpu_runner(golden_model(model), o);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (!r.is_ok()) return nullptr;
  EXPECT_TRUE((*r)->allocate_kv_cache({kNumBlocks, kBlockSize}).is_ok());
  EXPECT_TRUE((*r)->allocate_state_slots(kSlots).is_ok());
  return std::move(*r);
}

std::vector<int32_t> prompt(int64_t vocab, int n, uint32_t seed) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (auto& t : p) t = int32_t((seed = seed * 1103515245u + 12345u) % uint32_t(vocab));
  return p;
}

// One slice of `tokens` continuing `st` in slot `slot`.
ForwardBatch slice(SeqState& st, const std::vector<int32_t>& tokens, int32_t slot,
                   BlockAlloc& alloc, bool all_logits) {
  ForwardBatch b;
  add_seq(b, st, tokens, kBlockSize, alloc, all_logits);
  b.seqs.back().state_slot = slot;
  return b;
}

class Qwen35MtpTest : public ::testing::TestWithParam<std::string> {};

TEST_P(Qwen35MtpTest, LoadsTheHeadAsOneMoreKvLayer) {
  auto plain = load(GetParam(), false);
  auto with = load(GetParam(), true);
  ASSERT_TRUE(plain && with);
  EXPECT_FALSE(plain->supports_mtp());
  EXPECT_TRUE(with->supports_mtp());
  const ModelConfig& c = with->config();
  EXPECT_EQ(c.mtp_num_hidden_layers, 1);
  EXPECT_EQ(with->kv_bytes_per_token(),
            plain->kv_bytes_per_token() + size_t(2 * c.kv_size()) * sizeof(float));
  ForwardBatch b;
  b.token_ids = {1};
  b.seqs.push_back({0, 1, 1, {0}, 0});
  b.logit_rows = {0};
  std::vector<float> logits;
  EXPECT_EQ(plain->mtp_forward(b, std::vector<int32_t>{0}, logits).code(),
            StatusCode::kUnimplemented);
}

// A 2-token verify piece (recurrent form, with and without a snapshot) gives
// the logits of two 1-token steps, and its snapshot is the state after the
// first token: continuing from it gives the second step's logits again.
TEST_P(Qwen35MtpTest, VerifyPieceEqualsTwoStepsAndSnapshotIsTheFirstState) {
  auto r = load(GetParam(), true);
  ASSERT_TRUE(r);
  const int64_t V = r->config().vocab_size;
  for (int n : {1, 5, 63, 64, 70}) {
    SCOPED_TRACE("prompt " + std::to_string(n));
    const auto p = prompt(V, n + 2, uint32_t(n));
    const std::vector<int32_t> head(p.begin(), p.begin() + n);
    const int32_t a = p[size_t(n)], bt = p[size_t(n) + 1];
    BlockAlloc alloc(kNumBlocks);
    // Reference: slot 0 runs head, a, b one by one.
    SeqState s0;
    std::vector<float> l;
    ASSERT_TRUE(r->forward(slice(s0, head, 0, alloc, false), l).is_ok());
    std::vector<float> ra, rb;
    ASSERT_TRUE(r->forward(slice(s0, {a}, 0, alloc, false), ra).is_ok());
    ASSERT_TRUE(r->forward(slice(s0, {bt}, 0, alloc, false), rb).is_ok());
    for (bool snap : {false, true}) {
      SCOPED_TRACE(snap ? "snapshot" : "no snapshot");
      SeqState s1;
      ASSERT_TRUE(r->forward(slice(s1, head, 1, alloc, false), l).is_ok());
      ForwardBatch vb = slice(s1, {a, bt}, 1, alloc, true);
      if (snap) vb.seqs[0].captures = {{1, 2}};
      std::vector<float> v;
      ASSERT_TRUE(r->forward(vb, v).is_ok());
      ASSERT_EQ(v.size(), size_t(2 * V));
      EXPECT_LT(rel_err(v.data(), ra.data(), V), 1e-5);
      EXPECT_LT(rel_err(v.data() + V, rb.data(), V), 1e-5);
      if (!snap) continue;
      // Roll back to the snapshot (position n + 1) and run b again.
      ASSERT_TRUE(r->copy_state_slot(2, 1).is_ok());
      SeqState back = s1;
      back.context_len = n + 1;
      std::vector<float> again;
      ASSERT_TRUE(r->forward(slice(back, {bt}, 1, alloc, false), again).is_ok());
      EXPECT_LT(rel_err(again.data(), rb.data(), V), 1e-5);
    }
  }
  // A snapshot slot must be distinct and fewer than the rows.
  BlockAlloc alloc(kNumBlocks);
  SeqState s;
  ForwardBatch bad = slice(s, {1, 2}, 0, alloc, false);
  bad.seqs[0].captures = {{1, 0}};  // the slice's own slot
  std::vector<float> l;
  EXPECT_EQ(r->forward(bad, l).code(), StatusCode::kInvalidArgument);
  bad.seqs[0].captures = {{1, 3}, {1, 4}};  // rows not ascending
  EXPECT_EQ(r->forward(bad, l).code(), StatusCode::kInvalidArgument);
}

// mtp_forward over positions [0, n) in one call equals the same in pieces.
TEST_P(Qwen35MtpTest, MtpInPiecesEqualsOneCall) {
  auto r = load(GetParam(), true);
  ASSERT_TRUE(r);
  const int64_t V = r->config().vocab_size;
  const int n = 21;
  const auto p = prompt(V, n + 1, 99);
  BlockAlloc alloc(kNumBlocks);
  SeqState s;
  std::vector<float> l;
  const std::vector<int32_t> body(p.begin(), p.begin() + n);
  ASSERT_TRUE(r->forward(slice(s, body, 0, alloc, true), l).is_ok());
  // One call: row j reads token j + 1 and hidden row j.
  auto mtp_batch = [&](int from, int to, const std::vector<int32_t>& blocks) {
    ForwardBatch b;
    SeqSlice q;
    q.token_start = 0;
    q.num_tokens = to - from;
    q.context_len = to;
    q.block_table = blocks;
    for (int j = from; j < to; ++j) {
      b.token_ids.push_back(p[size_t(j) + 1]);
      b.positions.push_back(j);
      b.logit_rows.push_back(j - from);
    }
    b.seqs.push_back(q);
    return b;
  };
  std::vector<int32_t> src(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) src[size_t(j)] = j;
  std::vector<float> whole;
  ASSERT_TRUE(r->mtp_forward(mtp_batch(0, n, s.blocks), src, whole).is_ok());
  ASSERT_EQ(whole.size(), size_t(n * V));
  // Pieces [0, 8), [8, 9), [9, 21), each after the main forward again (the
  // hidden rows of the last forward are the input).
  std::vector<float> piece;
  int from = 0;
  for (int to : {8, 9, 21}) {
    std::vector<int32_t> idx;
    for (int j = from; j < to; ++j) idx.push_back(j);
    ASSERT_TRUE(r->forward(slice(s = SeqState{s.blocks, 0}, body, 0, alloc, true), l).is_ok());
    ASSERT_TRUE(r->mtp_forward(mtp_batch(from, to, s.blocks), idx, piece).is_ok());
    for (int j = from; j < to; ++j)
      EXPECT_LT(rel_err(piece.data() + int64_t(j - from) * V, whole.data() + int64_t(j) * V, V),
                1e-5)
          << "row " << j;
    from = to;
  }
  // hidden_src must name rows of the last forward.
  EXPECT_EQ(r->mtp_forward(mtp_batch(0, 1, s.blocks), std::vector<int32_t>{n}, piece).code(),
            StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Models, Qwen35MtpTest,
                         ::testing::Values("qwen3_5-tiny", "qwen3_5moe-tiny"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

// --- float64 reference of the MTP head at position 0 (dense qwen3_5-tiny).

std::vector<double> f64(const TensorView& t) {
  std::vector<float> f = tensor_to_f32(t);
  return std::vector<double>(f.begin(), f.end());
}

// y = W x, W [rows, cols] row-major.
std::vector<double> matvec(const TensorView& w, const std::vector<double>& x) {
  const std::vector<double> m = f64(w);
  const size_t rows = size_t(w.shape[0]), cols = size_t(w.shape[1]);
  std::vector<double> y(rows, 0.0);
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < cols; ++j) y[i] += m[i * cols + j] * x[j];
  return y;
}

// Zero-centred RMSNorm: x / sqrt(mean(x^2) + eps) * (1 + w).
std::vector<double> norm(const std::vector<double>& x, const TensorView& w, double eps) {
  const std::vector<double> g = f64(w);
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / double(x.size()) + eps);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * (1.0 + g[i]);
  return y;
}

TEST(Qwen35MtpReferenceTest, HeadAtPositionZeroMatchesFloat64Reference) {
  const std::string dir = golden_model("qwen3_5-tiny");
  auto cfg = load_model_config(dir);
  ASSERT_TRUE(cfg.is_ok());
  const ModelConfig& c = *cfg;
  auto store = WeightStore::open_dir(dir, FileLoad::kMap);
  ASSERT_TRUE(store.is_ok());
  auto w = load_model_weights(c, *store);
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  ASSERT_TRUE(load_mtp_weights(c, *w).is_ok());
  const MtpWeights& m = *w->mtp;
  auto r = load("qwen3_5-tiny", true);
  ASSERT_TRUE(r);
  const int64_t H = c.hidden_size, V = c.vocab_size, D = c.head_dim;
  const int64_t Hq = c.num_attention_heads, Hkv = c.num_key_value_heads;
  const double eps = c.rms_norm_eps;
  const std::vector<int32_t> toks = {17, 423};
  // The main model's final normed hidden state at position 0.
  BlockAlloc alloc(kNumBlocks);
  SeqState s;
  ForwardBatch b = slice(s, {toks[0]}, 0, alloc, false);
  b.hidden_rows = {0};
  std::vector<float> l;
  ASSERT_TRUE(r->forward(b, l).is_ok());
  const auto hs = r->hidden_states();
  ASSERT_EQ(int64_t(hs.size()), H);
  const std::vector<double> h0(hs.begin(), hs.end());
  // Reference.
  const std::vector<double> emb = f64(w->embed_tokens);
  std::vector<double> e(emb.begin() + toks[1] * H, emb.begin() + (toks[1] + 1) * H);
  std::vector<double> cat = norm(e, m.pre_fc_norm_embedding, eps);
  const std::vector<double> hn = norm(h0, m.pre_fc_norm_hidden, eps);
  cat.insert(cat.end(), hn.begin(), hn.end());
  std::vector<double> x = matvec(m.fc, cat);
  const LayerWeights& L = m.layer;
  const std::vector<double> xn = norm(x, L.input_norm, eps);
  const std::vector<double> qg = matvec(L.q_proj, xn);  // per head [query D, gate D]
  const std::vector<double> v = matvec(L.v_proj, xn);
  std::vector<double> att(size_t(Hq * D));
  for (int64_t h = 0; h < Hq; ++h)
    for (int64_t d = 0; d < D; ++d) {
      const double gate = qg[size_t(h * 2 * D + D + d)];
      // One key: softmax weight 1, the output is the value of its kv head.
      att[size_t(h * D + d)] = v[size_t((h / (Hq / Hkv)) * D + d)] / (1.0 + std::exp(-gate));
    }
  const std::vector<double> o = matvec(L.o_proj, att);
  for (int64_t i = 0; i < H; ++i) x[size_t(i)] += o[size_t(i)];
  const std::vector<double> x2 = norm(x, L.post_attention_norm, eps);
  const std::vector<double> g = matvec(L.gate_proj, x2), u = matvec(L.up_proj, x2);
  std::vector<double> act(g.size());
  for (size_t i = 0; i < g.size(); ++i) act[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
  const std::vector<double> dn = matvec(L.down_proj, act);
  for (int64_t i = 0; i < H; ++i) x[size_t(i)] += dn[size_t(i)];
  const std::vector<double> ref = matvec(w->lm_head, norm(x, m.norm, eps));
  // The runner.
  ForwardBatch mb;
  mb.token_ids = {toks[1]};
  mb.positions = {0};
  mb.seqs.push_back({0, 1, 1, s.blocks, 0});
  mb.logit_rows = {0};
  std::vector<float> got;
  ASSERT_TRUE(r->mtp_forward(mb, std::vector<int32_t>{0}, got).is_ok());
  ASSERT_EQ(int64_t(got.size()), V);
  const std::vector<float> ref32(ref.begin(), ref.end());
  EXPECT_LT(rel_err(got.data(), ref32.data(), V), 1e-4);
  EXPECT_EQ(argmax(got.data(), V), argmax(ref32.data(), V));
}

}  // namespace
}  // namespace yun::test
