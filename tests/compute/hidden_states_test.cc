// Hidden states (ForwardBatch::hidden_rows, ModelRunner::hidden_states) on
// the CPU runner, checked against the golden models: the final normed hidden
// state of a prompt's last row, times the output embedding read straight from
// the checkpoint (lm_head.weight, or model.embed_tokens.weight when tied),
// equals transformers' logits of the last position (expected.safetensors:
// p{j}.prefill_logits, or p{j}.last_top64_* for the large-vocabulary model)
// within the float32 tolerance. Also: hidden rows alone (no logits), in a
// ragged batch, after chunked prefill, and malformed rows rejected; a
// checkpoint laid out as the published Qwen3-Embedding (architecture
// Qwen3Model, tensors without the "model." prefix, tied, no lm_head) gives
// the same hidden states as the same weights with the prefix.
// Run: build/tests/yun_compute_tests --gtest_filter='HiddenStates*'
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "golden_util.h"
#include "yun/compute/cpu/convert.h"
#include "yun/model/safetensors_writer.h"

namespace yun::test {
namespace {

constexpr double kTol = 1e-4;      // vs the float64 reference, relative to max|ref|
constexpr double kSelfTol = 1e-5;  // batch shapes vs each other
constexpr int32_t kBlockSize = 8;
constexpr int32_t kNumBlocks = 256;

std::unique_ptr<ModelRunner> make_runner(const std::string& dir) {
  CpuRunnerOptions opt;
  opt.num_threads = 2;
  auto r = create_cpu_runner(dir, opt);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (!r.is_ok()) return nullptr;
  Status s = (*r)->allocate_kv_cache({kNumBlocks, kBlockSize});
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return std::move(*r);
}

// The output embedding [vocab, hidden] as floats, from the checkpoint itself.
std::vector<float> output_embedding(const std::string& dir) {
  auto f = SafetensorsFile::open(dir + "/model.safetensors");
  EXPECT_TRUE(f.is_ok());
  if (!f.is_ok()) return {};
  const auto& t = (*f)->tensors();
  auto it = t.find("lm_head.weight");
  if (it == t.end()) it = t.find("model.embed_tokens.weight");
  EXPECT_NE(it, t.end());
  if (it == t.end()) return {};
  std::vector<float> out(size_t(it->second.numel()));
  to_f32(it->second.dtype, it->second.data, it->second.numel(), out.data());
  return out;
}

// One sequence's prompt as a batch asking for the last row's hidden state
// (and its logits when `logits`).
ForwardBatch last_row_batch(const std::vector<int32_t>& ids, bool logits) {
  ForwardBatch b;
  SeqState st;
  BlockAlloc alloc(kNumBlocks);
  add_seq(b, st, ids, kBlockSize, alloc, /*all_logits=*/false);
  if (!logits) b.logit_rows.clear();
  b.hidden_rows.push_back(b.total_tokens() - 1);
  return b;
}

class HiddenStatesGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(HiddenStatesGolden, HiddenTimesOutputEmbeddingIsTheGoldenLastLogits) {
  const std::string dir = golden_model(GetParam());
  auto runner = make_runner(dir);
  ASSERT_TRUE(runner);
  ASSERT_TRUE(runner->supports_hidden_states());
  auto expected = SafetensorsFile::open(dir + "/expected.safetensors");
  ASSERT_TRUE(expected.is_ok());
  const auto& ex = (*expected)->tensors();
  const std::vector<float> emb = output_embedding(dir);
  const int64_t H = runner->config().hidden_size, V = runner->config().vocab_size;
  ASSERT_EQ(int64_t(emb.size()), V * H);
  int checked = 0;
  for (int j = 0;; ++j) {
    const std::string p = "p" + std::to_string(j) + ".";
    auto ids_it = ex.find(p + "ids");
    if (ids_it == ex.end()) break;
    const std::vector<int32_t> ids = read_i32(ids_it->second);
    ForwardBatch b = last_row_batch(ids, /*logits=*/true);
    std::vector<float> logits;
    ASSERT_TRUE(runner->forward(b, logits).is_ok());
    std::span<const float> hidden = runner->hidden_states();
    ASSERT_EQ(int64_t(hidden.size()), H);
    // Pooled state x output embedding, in double, independent of the runner's matmul.
    std::vector<float> mine(static_cast<size_t>(V));
    for (int64_t v = 0; v < V; ++v) {
      double acc = 0;
      for (int64_t h = 0; h < H; ++h) acc += double(hidden[size_t(h)]) * emb[size_t(v * H + h)];
      mine[size_t(v)] = float(acc);
    }
    EXPECT_LT(rel_err(mine.data(), logits.data(), V), kSelfTol) << p << " vs the runner's logits";
    if (auto pl = ex.find(p + "prefill_logits"); pl != ex.end()) {
      std::vector<float> ref = read_f32(pl->second);
      const float* last = ref.data() + (pl->second.dim(0) - 1) * V;
      EXPECT_LT(rel_err(mine.data(), last, V), kTol) << p;
      ++checked;
    } else if (auto ti = ex.find(p + "last_top64_ids"); ti != ex.end()) {
      std::vector<int32_t> top_ids = read_i32(ti->second);
      std::vector<float> top = read_f32(ex.at(p + "last_top64_logits"));
      std::vector<float> at(top.size());
      for (size_t k = 0; k < top.size(); ++k) at[k] = mine[size_t(top_ids[k])];
      EXPECT_LT(rel_err(at.data(), top.data(), int64_t(top.size())), kTol) << p;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

// Tied (qwen3-e2e, qwen2-tiny) and untied (qwen3-tiny, llama-tiny) embeddings.
INSTANTIATE_TEST_SUITE_P(Models, HiddenStatesGolden,
                         ::testing::Values("qwen3-tiny", "qwen3-e2e", "qwen2-tiny", "llama-tiny"));

TEST(HiddenStates, WithoutLogitsChunkedAndRaggedAgree) {
  auto runner = make_runner(golden_model("qwen3-tiny"));
  ASSERT_TRUE(runner);
  const int64_t H = runner->config().hidden_size;
  std::vector<int32_t> a, c;
  for (int i = 0; i < 21; ++i) a.push_back((i * 37 + 11) % 1000);
  for (int i = 0; i < 9; ++i) c.push_back((i * 53 + 7) % 1000);
  std::vector<float> logits;

  // Alone, hidden rows only: no logits come back.
  ASSERT_TRUE(runner->forward(last_row_batch(a, /*logits=*/false), logits).is_ok());
  EXPECT_TRUE(logits.empty());
  const std::vector<float> ref_a(runner->hidden_states().begin(), runner->hidden_states().end());
  ASSERT_EQ(int64_t(ref_a.size()), H);
  ASSERT_TRUE(runner->forward(last_row_batch(c, /*logits=*/false), logits).is_ok());
  const std::vector<float> ref_c(runner->hidden_states().begin(), runner->hidden_states().end());

  // Chunked prefill: 8 + 8 + 5 tokens, the hidden row in the last chunk.
  {
    SeqState st;
    BlockAlloc alloc(kNumBlocks);
    for (size_t start = 0; start < a.size(); start += 8) {
      std::vector<int32_t> chunk(a.begin() + long(start),
                                 a.begin() + long(std::min(a.size(), start + 8)));
      ForwardBatch b;
      add_seq(b, st, chunk, kBlockSize, alloc, false);
      b.logit_rows.clear();
      if (start + 8 >= a.size()) b.hidden_rows.push_back(b.total_tokens() - 1);
      ASSERT_TRUE(runner->forward(b, logits).is_ok());
    }
    ASSERT_EQ(runner->hidden_states().size(), ref_a.size());
    EXPECT_LT(rel_err(runner->hidden_states().data(), ref_a.data(), H), kSelfTol);
  }

  // Ragged: c (hidden row) after a (logit row), in one batch.
  {
    ForwardBatch b;
    SeqState sa, sc;
    BlockAlloc alloc(kNumBlocks);
    add_seq(b, sa, a, kBlockSize, alloc, false);
    add_seq(b, sc, c, kBlockSize, alloc, false);
    b.logit_rows = {int32_t(a.size()) - 1};
    b.hidden_rows = {b.total_tokens() - 1, int32_t(a.size()) - 1};
    ASSERT_TRUE(runner->forward(b, logits).is_ok());
    EXPECT_EQ(int64_t(logits.size()), runner->config().vocab_size);
    std::span<const float> h = runner->hidden_states();
    ASSERT_EQ(int64_t(h.size()), 2 * H);
    EXPECT_LT(rel_err(h.data(), ref_c.data(), H), kSelfTol);
    EXPECT_LT(rel_err(h.data() + H, ref_a.data(), H), kSelfTol);
  }

  // A batch without hidden rows leaves none.
  ASSERT_TRUE(runner->forward(last_row_batch(a, true), logits).is_ok());
  ForwardBatch plain;
  SeqState s;
  BlockAlloc alloc(kNumBlocks);
  add_seq(plain, s, c, kBlockSize, alloc, false);
  ASSERT_TRUE(runner->forward(plain, logits).is_ok());
  EXPECT_TRUE(runner->hidden_states().empty());
}

TEST(HiddenStates, OutOfRangeRowIsAnError) {
  auto runner = make_runner(golden_model("qwen3-tiny"));
  ASSERT_TRUE(runner);
  ForwardBatch b = last_row_batch({1, 2, 3}, false);
  b.hidden_rows = {3};
  std::vector<float> logits;
  Status s = runner->forward(b, logits);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  b.hidden_rows = {-1};
  EXPECT_EQ(runner->forward(b, logits).code(), StatusCode::kInvalidArgument);
}

TEST(HiddenStates, UnprefixedQwen3ModelCheckpointLoads) {
  namespace fs = std::filesystem;
  const std::string src = golden_model("qwen3-e2e");  // tied, like Qwen3-Embedding
  const fs::path dst = fs::temp_directory_path() / ("yun_qwen3model_" + std::to_string(::getpid()));
  fs::create_directories(dst);
  nlohmann::json cfg;
  std::ifstream(src + "/config.json") >> cfg;
  cfg["architectures"] = {"Qwen3Model"};
  std::ofstream(dst / "config.json") << cfg.dump();
  auto f = SafetensorsFile::open(src + "/model.safetensors");
  ASSERT_TRUE(f.is_ok());
  std::vector<TensorSpec> specs;
  std::vector<const TensorView*> views;
  for (const auto& [name, t] : (*f)->tensors()) {
    ASSERT_EQ(name.rfind("model.", 0), 0u) << name;
    specs.push_back({name.substr(6), t.dtype, t.shape});
    views.push_back(&t);
  }
  ASSERT_TRUE(write_safetensors((dst / "model.safetensors").string(), specs,
                                [&](size_t k, size_t off, uint8_t* p, size_t n) {
                                  std::memcpy(p, static_cast<const uint8_t*>(views[k]->data) + off,
                                              n);
                                })
                  .is_ok());
  const std::vector<int32_t> ids = {9707, 11, 1879, 0, 576, 374, 264};
  std::vector<std::vector<float>> got;
  for (const std::string dir : {src, dst.string()}) {
    auto runner = make_runner(dir);
    ASSERT_TRUE(runner) << dir;
    std::vector<float> logits;
    ASSERT_TRUE(runner->forward(last_row_batch(ids, false), logits).is_ok());
    got.emplace_back(runner->hidden_states().begin(), runner->hidden_states().end());
  }
  fs::remove_all(dst);
  ASSERT_FALSE(got[0].empty());
  EXPECT_EQ(got[0], got[1]);
}

}  // namespace
}  // namespace yun::test
