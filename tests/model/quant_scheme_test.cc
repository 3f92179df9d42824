// Tests for model/quant_scheme.h: llama.cpp's Q4_K_M choice per matrix
// (use_more_bits, Q6_K for the output / tied embedding, the 256-block
// fallback to Q5_0 / Q8_0) on a hand-built ModelWeights.
// Run: build/tests/yun_model_tests --gtest_filter='QuantScheme*'
#include "yun/model/quant_scheme.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "yun/model/weight_format.h"

namespace yun {
namespace {

TEST(QuantScheme, UseMoreBitsMatchesLlamaCppOn24And8Layers) {
  // 24 layers (Qwen2.5-0.5B): n/8 = 3, so layers 0-2, 21-23 and every third
  // from 5 get more bits.
  std::vector<int> more;
  for (int i = 0; i < 24; ++i)
    if (use_more_bits(i, 24)) more.push_back(i);
  EXPECT_EQ(more, (std::vector<int>{0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23}));
  more.clear();
  for (int i = 0; i < 8; ++i)
    if (use_more_bits(i, 8)) more.push_back(i);
  EXPECT_EQ(more, (std::vector<int>{0, 3, 6, 7}));
}

TEST(QuantScheme, FormatsAndFallbacks) {
  const auto s = *quant_scheme_by_name("Q4_K_M");
  EXPECT_EQ(quant_scheme_by_name("q4_k"), s);
  EXPECT_FALSE(quant_scheme_by_name("q4_k_s").has_value());
  EXPECT_EQ(quant_scheme_format(s, MatrixRole::kOutput, 0, 1), DType::kQ6_K);
  EXPECT_EQ(quant_scheme_format(s, MatrixRole::kTokenEmbedding, 0, 1), DType::kQ4_K);
  EXPECT_EQ(quant_scheme_format(s, MatrixRole::kAttnV, 0, 24), DType::kQ6_K);
  EXPECT_EQ(quant_scheme_format(s, MatrixRole::kAttnV, 3, 24), DType::kQ4_K);
  EXPECT_EQ(quant_scheme_format(s, MatrixRole::kFfnDown, 5, 24), DType::kQ6_K);
  EXPECT_EQ(quant_scheme_format(s, MatrixRole::kOther, 0, 24), DType::kQ4_K);
  EXPECT_EQ(fit_row_format(DType::kQ4_K, 4864), DType::kQ4_K);  // 19 x 256
  EXPECT_EQ(fit_row_format(DType::kQ4_K, 896), DType::kQ5_0);   // 3.5 x 256
  EXPECT_EQ(fit_row_format(DType::kQ6_K, 896), DType::kQ8_0);
  EXPECT_EQ(fit_row_format(DType::kQ4_K, 100), std::nullopt);
  EXPECT_EQ(quant_scheme_file_type(s), 15u);
}

// A dense model of F32 views: hidden 256, intermediate 384 (down_proj rows
// are not whole 256-blocks), 8 layers, untied or tied embedding.
struct Model {
  std::vector<std::vector<float>> bufs;
  ModelWeights w;
  TensorView make(int64_t rows, int64_t cols, std::mt19937& rng) {
    std::normal_distribution<float> g(0.0f, 0.02f);
    bufs.emplace_back(size_t(rows * cols));
    for (auto& v : bufs.back()) v = g(rng);
    TensorView t;
    t.dtype = DType::kF32;
    t.shape = {rows, cols};
    t.data = bufs.back().data();
    t.nbytes = bufs.back().size() * 4;
    return t;
  }
  explicit Model(bool tied) {
    std::mt19937 rng(1);
    bufs.reserve(64);
    w.embed_tokens = make(300, 256, rng);
    w.lm_head = tied ? w.embed_tokens : make(300, 256, rng);
    w.layers.resize(8);
    for (LayerWeights& l : w.layers) {
      l.q_proj = make(256, 256, rng);
      l.k_proj = make(128, 256, rng);
      l.v_proj = make(128, 256, rng);
      l.o_proj = make(256, 256, rng);
      l.gate_proj = make(384, 256, rng);
      l.up_proj = make(384, 256, rng);
      l.down_proj = make(256, 384, rng);
    }
  }
};

TEST(QuantScheme, Q4_K_MAssignsFormatsPerMatrix) {
  Model m(false);
  std::vector<float> before(m.bufs[2]);  // layer 0's q_proj... (index: embed, lm_head, q)
  ASSERT_TRUE(quantize_model_weights(m.w, QuantScheme::kQ4_K_M).is_ok());
  EXPECT_EQ(m.w.embed_tokens.dtype, DType::kQ4_K);
  EXPECT_EQ(m.w.lm_head.dtype, DType::kQ6_K);
  for (int i = 0; i < 8; ++i) {
    const LayerWeights& l = m.w.layers[size_t(i)];
    const bool more = i == 0 || i == 3 || i == 6 || i == 7;
    EXPECT_EQ(l.v_proj.dtype, more ? DType::kQ6_K : DType::kQ4_K) << i;
    EXPECT_EQ(l.down_proj.dtype, more ? DType::kQ8_0 : DType::kQ5_0) << i;  // 384: fallback
    for (const TensorView* t : {&l.q_proj, &l.k_proj, &l.o_proj, &l.gate_proj, &l.up_proj})
      EXPECT_EQ(t->dtype, DType::kQ4_K) << i;
    EXPECT_EQ(l.q_proj.nbytes, size_t(256) * 144);
  }
  // The encoded q_proj of layer 0 decodes near the original.
  std::vector<float> back(256 * 256);
  weight_format(DType::kQ4_K)->row_to_float(m.w.layers[0].q_proj.data, back.data(), 256 * 256);
  double e = 0;
  for (size_t i = 0; i < back.size(); ++i) e += double(back[i] - before[i]) * (back[i] - before[i]);
  EXPECT_LT(std::sqrt(e / double(back.size())), 0.12 * 0.02);
}

TEST(QuantScheme, TiedEmbeddingIsTheOutput) {
  Model m(true);
  ASSERT_TRUE(quantize_model_weights(m.w, QuantScheme::kQ4_K_M).is_ok());
  EXPECT_EQ(m.w.embed_tokens.dtype, DType::kQ6_K);
  EXPECT_EQ(m.w.lm_head.data, m.w.embed_tokens.data);
  EXPECT_EQ(m.w.lm_head.dtype, DType::kQ6_K);
}

}  // namespace
}  // namespace yun
