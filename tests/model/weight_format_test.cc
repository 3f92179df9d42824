// Tests for model/weight_format.h: the traits table and each format's codec.
// Round trips are bounded by the format's step; the K-quant decoders are
// checked element by element against the block layout (which byte and bit
// feeds which element), written out here independently of the decoder loops.
// Run: build/tests/yun_model_tests --gtest_filter='WeightFormat*'
#include "yun/model/weight_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "yun/base/half.h"

namespace yun {
namespace {

TEST(WeightFormat, TableMatchesGgufTypeIdsAndSizes) {
  struct Row { DType t; uint32_t id; int64_t elems; size_t bytes; const char* name; };
  const Row rows[] = {{DType::kF32, 0, 1, 4, "F32"},       {DType::kF16, 1, 1, 2, "F16"},
                      {DType::kBF16, 30, 1, 2, "BF16"},    {DType::kQ8_0, 8, 32, 34, "Q8_0"},
                      {DType::kQ4_0, 2, 32, 18, "Q4_0"},   {DType::kQ4_K, 12, 256, 144, "Q4_K"},
                      {DType::kQ5_K, 13, 256, 176, "Q5_K"}, {DType::kQ6_K, 14, 256, 210, "Q6_K"},
                      {DType::kQ5_0, 6, 32, 22, "Q5_0"}};
  for (const Row& r : rows) {
    const WeightFormat* f = weight_format(r.t);
    ASSERT_NE(f, nullptr) << r.name;
    EXPECT_STREQ(f->name, r.name);
    EXPECT_STREQ(dtype_name(r.t), r.name);
    EXPECT_EQ(f->ggml_type, r.id);
    EXPECT_EQ(f->block_elems, r.elems);
    EXPECT_EQ(f->block_bytes, r.bytes);
    EXPECT_EQ(weight_format_by_ggml_type(r.id), f);
    EXPECT_EQ(is_block_format(r.t), r.elems > 1);
  }
  EXPECT_EQ(weight_format(DType::kI32), nullptr);
  EXPECT_EQ(weight_format_by_ggml_type(3), nullptr);  // Q4_1: not read
  EXPECT_EQ(weight_format_by_name("q8_0"), weight_format(DType::kQ8_0));
  EXPECT_EQ(weight_format_by_name("q8"), nullptr);
  DType d;
  EXPECT_FALSE(parse_dtype("Q8_0", &d));  // never in a safetensors header
  EXPECT_EQ(*format_bytes(DType::kQ4_K, 512), 288u);
  EXPECT_FALSE(format_bytes(DType::kQ4_K, 100).is_ok());
  EXPECT_FALSE(format_bytes(DType::kI64, 4).is_ok());
}

TEST(WeightFormat, F16EncoderRoundsToNearest) {
  for (float v : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333333f})
    EXPECT_EQ(f16_to_f32(f32_to_f16(v)), f16_to_f32(f32_to_f16(f16_to_f32(f32_to_f16(v))))) << v;
  EXPECT_EQ(f16_to_f32(f32_to_f16(1.0f)), 1.0f);
  EXPECT_EQ(f16_to_f32(f32_to_f16(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(70000.0f))));
  EXPECT_EQ(f16_to_f32(f32_to_f16(5.9604645e-08f)), 5.9604645e-08f);  // smallest subnormal
  EXPECT_EQ(f16_to_f32(f32_to_f16(1.0f + 1.0f / 4096)), 1.0f);        // tie to even
  EXPECT_EQ(f16_to_f32(f32_to_f16(1.0f + 3.0f / 2048)), 1.0f + 1.0f / 512);  // tie, up to even
  EXPECT_EQ(f16_to_f32(f32_to_f16(1.0f + 3.0f / 4096)), 1.0f + 1.0f / 1024);
  for (uint32_t h = 0; h < 0x7c00; ++h)  // every finite half survives a round trip
    ASSERT_EQ(f32_to_f16(f16_to_f32(uint16_t(h))), h);
}

TEST(WeightFormat, Q8_0AndQ4_0RoundTripWithinHalfAStep) {
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(256), y(256);
  for (auto& v : x) v = g(rng);
  for (DType t : {DType::kQ8_0, DType::kQ4_0}) {
    const WeightFormat* f = weight_format(t);
    std::vector<uint8_t> b(*format_bytes(t, 256));
    f->row_from_float(x.data(), b.data(), 256);
    f->row_to_float(b.data(), y.data(), 256);
    for (int blk = 0; blk < 8; ++blk) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[size_t(blk * 32 + j)]));
      // Q8_0: half a step. Q4_0 maps the extreme (with its sign) to -8, so
      // the other side can reach +8 steps and clamp to +7: one step.
      const float bound = t == DType::kQ8_0 ? amax / 127 * 0.51f : amax / 8 * 1.01f;
      for (int j = 0; j < 32; ++j)
        ASSERT_NEAR(y[size_t(blk * 32 + j)], x[size_t(blk * 32 + j)], bound + 1e-6f)
            << f->name << " " << blk * 32 + j;
    }
  }
}

void put_f16(uint8_t* p, float v) {
  uint16_t h = f32_to_f16(v);
  p[0] = uint8_t(h);
  p[1] = uint8_t(h >> 8);
}

TEST(WeightFormat, Q4_KElementLayout) {
  // d = 1, dmin = 0.5; sub-block j: scale j+1, min 2j (6-bit packing below).
  std::vector<uint8_t> b(144, 0);
  put_f16(b.data(), 1.0f);
  put_f16(b.data() + 2, 0.5f);
  uint8_t* sc = b.data() + 4;
  for (int j = 0; j < 8; ++j) {
    const int s = j + 1 + (j >= 4 ? 48 : 0), m = 2 * j + (j >= 4 ? 32 : 0);  // use high bits too
    if (j < 4) {
      sc[j] |= uint8_t(s);
      sc[j + 4] |= uint8_t(m);
    } else {
      sc[j + 4] |= uint8_t((s & 0xf) | ((m & 0xf) << 4));
      sc[j - 4] |= uint8_t((s >> 4) << 6);
      sc[j] |= uint8_t((m >> 4) << 6);
    }
  }
  // Element e: sub-block j = e / 32, position l = e % 32; quant value e % 16.
  for (int e = 0; e < 256; ++e) {
    const int j = e / 32, l = e % 32, q = e % 16;
    uint8_t& byte = b[size_t(16 + 32 * (j / 2) + l)];
    byte |= uint8_t(j % 2 ? q << 4 : q);
  }
  std::vector<float> y(256);
  weight_format(DType::kQ4_K)->row_to_float(b.data(), y.data(), 256);
  for (int e = 0; e < 256; ++e) {
    const int j = e / 32;
    const int s = j + 1 + (j >= 4 ? 48 : 0), m = 2 * j + (j >= 4 ? 32 : 0);
    ASSERT_FLOAT_EQ(y[size_t(e)], float(s * (e % 16)) - 0.5f * float(m)) << e;
  }
}

TEST(WeightFormat, Q6_KElementLayout) {
  std::vector<uint8_t> b(210, 0);
  put_f16(b.data() + 208, 0.25f);
  auto* sc = reinterpret_cast<int8_t*>(b.data() + 192);
  for (int i = 0; i < 16; ++i) sc[i] = int8_t(i - 8);
  // Element e: half h = e / 128, r = (e % 128) / 32, l = e % 32; q = e % 64.
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, r = (e % 128) / 32, l = e % 32, q = e % 64;
    uint8_t& lo = b[size_t(64 * h + l + 32 * (r & 1))];
    lo |= uint8_t(r < 2 ? (q & 0xf) : (q & 0xf) << 4);
    b[size_t(128 + 32 * h + l)] |= uint8_t((q >> 4) << (2 * r));
  }
  std::vector<float> y(256);
  weight_format(DType::kQ6_K)->row_to_float(b.data(), y.data(), 256);
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, r = (e % 128) / 32, l = e % 32;
    const int s = 8 * h + l / 16 + 2 * r - 8;  // scale per 16 consecutive elements
    ASSERT_FLOAT_EQ(y[size_t(e)], 0.25f * float(s) * float(e % 64 - 32)) << e;
  }
}

TEST(WeightFormat, Q5_KHighBit) {
  std::vector<uint8_t> b(176, 0);
  put_f16(b.data(), 1.0f);
  for (int j = 0; j < 4; ++j) b[size_t(4 + j)] = 1;                      // scales 0..3 = 1
  for (int j = 4; j < 8; ++j) b[size_t(4 + j + 4)] = 1;                  // scales 4..7 = 1
  for (int l = 0; l < 32; ++l) b[size_t(16 + l)] = uint8_t(1u << (l % 8));  // qh
  std::vector<float> y(256);
  weight_format(DType::kQ5_K)->row_to_float(b.data(), y.data(), 256);
  for (int e = 0; e < 256; ++e) {
    const int j = e / 32, l = e % 32;
    ASSERT_EQ(y[size_t(e)], (l % 8) == j ? 16.0f : 0.0f) << e;
  }
}

TEST(WeightFormat, Q5_0ElementLayout) {
  // d = 0.5; element j's level is j (0..31): low nibble in byte j % 16 (low
  // half for j < 16), fifth bit j of qh.
  std::vector<uint8_t> b(22, 0);
  put_f16(b.data(), 0.5f);
  uint32_t qh = 0;
  for (int j = 0; j < 32; ++j) {
    b[size_t(6 + j % 16)] |= uint8_t(j < 16 ? (j & 0xf) : (j & 0xf) << 4);
    qh |= uint32_t(j >> 4) << j;
  }
  for (int k = 0; k < 4; ++k) b[size_t(2 + k)] = uint8_t(qh >> (8 * k));
  std::vector<float> y(32);
  weight_format(DType::kQ5_0)->row_to_float(b.data(), y.data(), 32);
  for (int j = 0; j < 32; ++j) ASSERT_EQ(y[size_t(j)], 0.5f * float(j - 16)) << j;
}

// Encode -> decode (the readers above) on random rows.
std::vector<float> round_trip(DType t, const std::vector<float>& x) {
  const WeightFormat* f = weight_format(t);
  std::vector<uint8_t> b(*format_bytes(t, int64_t(x.size())));
  f->row_from_float(x.data(), b.data(), int64_t(x.size()));
  std::vector<float> y(x.size());
  f->row_to_float(b.data(), y.data(), int64_t(x.size()));
  return y;
}

std::vector<float> gaussian_row(int64_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, sigma);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = g(rng);
  return x;
}

double rms_error(const std::vector<float>& x, const std::vector<float>& y, size_t i0, size_t n) {
  double e = 0;
  for (size_t i = i0; i < i0 + n; ++i) e += double(y[i] - x[i]) * (y[i] - x[i]);
  return std::sqrt(e / double(n));
}

TEST(WeightFormat, Q5_0RoundTripWithinOneStep) {
  const auto x = gaussian_row(32 * 64, 7);
  const auto y = round_trip(DType::kQ5_0, x);
  for (size_t blk = 0; blk < x.size() / 32; ++blk) {
    float amax = 0;
    for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[blk * 32 + j]));
    // The extreme (with its sign) maps to -16; the other side can reach +16
    // and clamp to +15: one step; everything else half a step.
    for (size_t j = 0; j < 32; ++j)
      ASSERT_NEAR(y[blk * 32 + j], x[blk * 32 + j], amax / 16 * 1.01f + 1e-6f) << blk * 32 + j;
    EXPECT_LT(rms_error(x, y, blk * 32, 32), amax / 16 * 0.5);
  }
}

// Q4_K: per 32-element sub-block, every element within 1.5 steps of the
// naive range scale ((max - min) / 15), and the RMS error of the searched fit
// no worse overall than the naive min/max fit with the same stored
// precision (what the search is for).
TEST(WeightFormat, Q4_KRoundTripBoundedAndSearchBeatsMinMax) {
  const int64_t n = 256 * 32;
  for (uint32_t seed : {1u, 2u, 3u}) {
    auto x = gaussian_row(n, seed, 0.02f);
    if (seed == 3) {  // an outlier and a constant sub-block
      x[5] = 0.3f;
      for (int j = 0; j < 32; ++j) x[size_t(64 + j)] = 0.01f;
    }
    const auto y = round_trip(DType::kQ4_K, x);
    double err_fit = 0, err_naive = 0;
    for (size_t sb = 0; sb < size_t(n) / 32; ++sb) {
      float lo = 0, hi = -1e30f;
      for (size_t j = 0; j < 32; ++j) {
        lo = std::min(lo, x[sb * 32 + j]);
        hi = std::max(hi, x[sb * 32 + j]);
      }
      const float step = (hi - lo) / 15;
      for (size_t j = 0; j < 32; ++j) {
        const size_t i = sb * 32 + j;
        ASSERT_NEAR(y[i], x[i], 1.5f * step + 1e-6f) << "seed " << seed << " element " << i;
        err_fit += double(y[i] - x[i]) * (y[i] - x[i]);
        const float q = std::nearbyint((x[i] - lo) / step);
        const float naive = step > 0 ? q * step + lo : x[i];
        err_naive += double(naive - x[i]) * (naive - x[i]);
      }
    }
    EXPECT_LT(err_fit, err_naive) << "seed " << seed;
    // Gaussian rows: 4 bits per element, about 10% RMS error.
    EXPECT_LT(std::sqrt(err_fit / double(n)), 0.12 * 0.02) << "seed " << seed;
  }
}

// Q6_K: every element within 1.5 steps of its group's stored scale, and the
// RMS error about 1/110 of the group's largest |x|, as 6 bits give.
TEST(WeightFormat, Q6_KRoundTripBounded) {
  const int64_t n = 256 * 16;
  const auto x = gaussian_row(n, 11, 0.5f);
  const auto y = round_trip(DType::kQ6_K, x);
  double err = 0, ref = 0;
  for (size_t g = 0; g < size_t(n) / 16; ++g) {
    float amax = 0;
    for (size_t j = 0; j < 16; ++j) amax = std::max(amax, std::fabs(x[g * 16 + j]));
    const float step = amax / 32;
    for (size_t j = 0; j < 16; ++j) {
      const size_t i = g * 16 + j;
      ASSERT_NEAR(y[i], x[i], 1.5f * step + 1e-6f) << i;
      err += double(y[i] - x[i]) * (y[i] - x[i]);
    }
    ref += double(step) * step / 12 * 16;  // uniform rounding error of the plain scale
  }
  EXPECT_LT(err, ref * 1.3);
}

TEST(WeightFormat, KQuantsEncodeZerosAndConstantsExactly) {
  for (DType t : {DType::kQ4_K, DType::kQ6_K, DType::kQ5_0}) {
    std::vector<float> z(512, 0.0f);
    EXPECT_EQ(round_trip(t, z), z) << dtype_name(t);
  }
  // A constant row: Q4_K's min alone represents it (to f16 precision).
  std::vector<float> c(256, -0.25f);
  for (float v : round_trip(DType::kQ4_K, c)) EXPECT_NEAR(v, -0.25f, 1e-3f);
}

}  // namespace
}  // namespace yun
