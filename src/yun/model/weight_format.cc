// The weight format table and each format's row codecs (see weight_format.h
// for the block layouts). Plain scalar C++: the matmul kernels in
// compute/cpu/quant_* decode blocks themselves; these are the reference they
// are tested against, and the path for embedding rows and conversion.
#include "yun/model/weight_format.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "yun/base/half.h"
#include "yun/model/quant_encode.h"

namespace yun {
namespace {

uint16_t load_u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
void store_u16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}
float load_f16(const uint8_t* p) { return f16_to_f32(load_u16(p)); }

// --- plain formats ---
void f32_to(const void* s, float* d, int64_t n) { std::memcpy(d, s, size_t(n) * 4); }
void f32_from(const float* s, void* d, int64_t n) { std::memcpy(d, s, size_t(n) * 4); }
void f16_to(const void* s, float* d, int64_t n) {
  auto* p = static_cast<const uint16_t*>(s);
  for (int64_t i = 0; i < n; ++i) d[i] = f16_to_f32(p[i]);
}
void f16_from(const float* s, void* d, int64_t n) {
  auto* p = static_cast<uint16_t*>(d);
  for (int64_t i = 0; i < n; ++i) p[i] = f32_to_f16(s[i]);
}
void bf16_to(const void* s, float* d, int64_t n) {
  auto* p = static_cast<const uint16_t*>(s);
  for (int64_t i = 0; i < n; ++i) d[i] = bf16_to_f32(p[i]);
}
void bf16_from(const float* s, void* d, int64_t n) {
  auto* p = static_cast<uint16_t*>(d);
  for (int64_t i = 0; i < n; ++i) p[i] = f32_to_bf16(s[i]);
}

// --- Q8_0: [f16 d][int8 q[32]] ---
void q8_0_to(const void* s, float* d, int64_t n) {
  auto* b = static_cast<const uint8_t*>(s);
  for (int64_t i = 0; i < n; i += 32, b += 34) {
    const float scale = load_f16(b);
    for (int j = 0; j < 32; ++j) d[i + j] = scale * float(int8_t(b[2 + j]));
  }
}
void q8_0_from(const float* s, void* d, int64_t n) {
  auto* b = static_cast<uint8_t*>(d);
  for (int64_t i = 0; i < n; i += 32, b += 34) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(s[i + j]));
    const uint16_t h = f32_to_f16(amax / 127.0f);
    store_u16(b, h);
    const float scale = f16_to_f32(h);
    const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
    for (int j = 0; j < 32; ++j) {
      float q = std::nearbyint(s[i + j] * inv);
      b[2 + j] = uint8_t(int8_t(std::clamp(q, -127.0f, 127.0f)));
    }
  }
}

// --- Q4_0: [f16 d][16 bytes: element j low nibble, element j+16 high] ---
void q4_0_to(const void* s, float* d, int64_t n) {
  auto* b = static_cast<const uint8_t*>(s);
  for (int64_t i = 0; i < n; i += 32, b += 18) {
    const float scale = load_f16(b);
    for (int j = 0; j < 16; ++j) {
      d[i + j] = scale * float(int(b[2 + j] & 0xf) - 8);
      d[i + j + 16] = scale * float(int(b[2 + j] >> 4) - 8);
    }
  }
}
void q4_0_from(const float* s, void* d, int64_t n) {
  auto* b = static_cast<uint8_t*>(d);
  for (int64_t i = 0; i < n; i += 32, b += 18) {
    float ext = 0.0f;  // the element of largest magnitude, with its sign -> q = 0
    for (int j = 0; j < 32; ++j)
      if (std::fabs(s[i + j]) > std::fabs(ext)) ext = s[i + j];
    const uint16_t h = f32_to_f16(ext / -8.0f);
    store_u16(b, h);
    const float scale = f16_to_f32(h);
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    auto q = [&](float x) {
      return uint8_t(std::clamp(int(std::nearbyint(x * inv)) + 8, 0, 15));
    };
    for (int j = 0; j < 16; ++j) b[2 + j] = uint8_t(q(s[i + j]) | (q(s[i + j + 16]) << 4));
  }
}

// --- Q5_0: [f16 d][u32 qh][16 bytes of nibbles as Q4_0]; bit j of qh is
// element j's fifth bit; x = d*(q-16) ---
void q5_0_to(const void* s, float* d, int64_t n) {
  auto* b = static_cast<const uint8_t*>(s);
  for (int64_t i = 0; i < n; i += 32, b += 22) {
    const float scale = load_f16(b);
    const uint32_t qh =
        uint32_t(b[2]) | uint32_t(b[3]) << 8 | uint32_t(b[4]) << 16 | uint32_t(b[5]) << 24;
    for (int j = 0; j < 16; ++j) {
      const int lo = (b[6 + j] & 0xf) | int((qh >> j) & 1) << 4;
      const int hi = (b[6 + j] >> 4) | int((qh >> (j + 16)) & 1) << 4;
      d[i + j] = scale * float(lo - 16);
      d[i + j + 16] = scale * float(hi - 16);
    }
  }
}

// --- K-quants: 256-element super-blocks of 8 (Q4_K, Q5_K) sub-blocks ---
// Sub-block j's 6-bit scale and min, packed into 12 bytes: j < 4 in the low
// six bits of bytes j and j+4; j >= 4 as a nibble of byte j+4 plus the top
// two bits of bytes j-4 (scale) and j (min).
void k_scale_min(const uint8_t* sc, int j, int* scale, int* min) {
  if (j < 4) {
    *scale = sc[j] & 63;
    *min = sc[j + 4] & 63;
  } else {
    *scale = (sc[j + 4] & 0xf) | ((sc[j - 4] >> 6) << 4);
    *min = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
  }
}

// Q4_K: [f16 d][f16 dmin][12 scales][128 qs]. Each 64 elements use 32 bytes
// of qs: low nibbles are the first sub-block, high nibbles the second.
void q4_k_to(const void* s, float* d, int64_t n) {
  auto* b = static_cast<const uint8_t*>(s);
  for (int64_t i = 0; i < n; i += 256, b += 144) {
    const float dd = load_f16(b), dmin = load_f16(b + 2);
    const uint8_t* sc = b + 4;
    const uint8_t* qs = b + 16;
    for (int c = 0; c < 4; ++c) {
      int s0, m0, s1, m1;
      k_scale_min(sc, 2 * c, &s0, &m0);
      k_scale_min(sc, 2 * c + 1, &s1, &m1);
      float* o = d + i + 64 * c;
      for (int l = 0; l < 32; ++l) {
        o[l] = dd * float(s0) * float(qs[32 * c + l] & 0xf) - dmin * float(m0);
        o[l + 32] = dd * float(s1) * float(qs[32 * c + l] >> 4) - dmin * float(m1);
      }
    }
  }
}

// Q5_K: [f16 d][f16 dmin][12 scales][32 qh][128 qs]; element l of sub-block j
// takes bit j of qh[l] as its fifth bit.
void q5_k_to(const void* s, float* d, int64_t n) {
  auto* b = static_cast<const uint8_t*>(s);
  for (int64_t i = 0; i < n; i += 256, b += 176) {
    const float dd = load_f16(b), dmin = load_f16(b + 2);
    const uint8_t* sc = b + 4;
    const uint8_t* qh = b + 16;
    const uint8_t* qs = b + 48;
    for (int c = 0; c < 4; ++c) {
      int s0, m0, s1, m1;
      k_scale_min(sc, 2 * c, &s0, &m0);
      k_scale_min(sc, 2 * c + 1, &s1, &m1);
      float* o = d + i + 64 * c;
      for (int l = 0; l < 32; ++l) {
        const int lo = (qs[32 * c + l] & 0xf) | (((qh[l] >> (2 * c)) & 1) << 4);
        const int hi = (qs[32 * c + l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4);
        o[l] = dd * float(s0) * float(lo) - dmin * float(m0);
        o[l + 32] = dd * float(s1) * float(hi) - dmin * float(m1);
      }
    }
  }
}

// Q6_K: [128 ql][64 qh][int8 scales[16]][f16 d]. Each half (128 elements)
// uses 64 bytes of ql and 32 of qh: element l + 32*r (r = 0..3) takes the
// low (r even) or high (r odd) nibble of ql[l + 32*(r&1)] and bits 2r..2r+1
// of qh[l]; scale index 8*half + l/16 + 2r.
void q6_k_to(const void* s, float* d, int64_t n) {
  auto* b = static_cast<const uint8_t*>(s);
  for (int64_t i = 0; i < n; i += 256, b += 210) {
    const float dd = load_f16(b + 208);
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = b + 64 * h;
      const uint8_t* qh = b + 128 + 32 * h;
      float* o = d + i + 128 * h;
      for (int l = 0; l < 32; ++l) {
        for (int r = 0; r < 4; ++r) {
          const uint8_t lq = ql[l + 32 * (r & 1)];
          const int q = ((r < 2 ? lq & 0xf : lq >> 4) | (((qh[l] >> (2 * r)) & 3) << 4)) - 32;
          o[l + 32 * r] = dd * float(sc[8 * h + l / 16 + 2 * r]) * float(q);
        }
      }
    }
  }
}

constexpr WeightFormat kFormats[] = {
    {DType::kF32, "F32", 0, 1, 4, f32_to, f32_from},
    {DType::kF16, "F16", 1, 1, 2, f16_to, f16_from},
    {DType::kBF16, "BF16", 30, 1, 2, bf16_to, bf16_from},
    {DType::kQ8_0, "Q8_0", 8, 32, 34, q8_0_to, q8_0_from},
    {DType::kQ4_0, "Q4_0", 2, 32, 18, q4_0_to, q4_0_from},
    {DType::kQ5_0, "Q5_0", 6, 32, 22, q5_0_to, internal::q5_0_from_float},
    {DType::kQ4_K, "Q4_K", 12, 256, 144, q4_k_to, internal::q4_k_from_float},
    {DType::kQ5_K, "Q5_K", 13, 256, 176, q5_k_to, nullptr},
    {DType::kQ6_K, "Q6_K", 14, 256, 210, q6_k_to, internal::q6_k_from_float},
};

}  // namespace

const WeightFormat* weight_format(DType t) {
  for (const auto& f : kFormats)
    if (f.dtype == t) return &f;
  return nullptr;
}

const WeightFormat* weight_format_by_ggml_type(uint32_t ggml_type) {
  for (const auto& f : kFormats)
    if (f.ggml_type == ggml_type) return &f;
  return nullptr;
}

const WeightFormat* weight_format_by_name(std::string_view name) {
  for (const auto& f : kFormats) {
    std::string_view n = f.name;
    if (n.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < n.size() && eq; ++i)
      eq = std::toupper(static_cast<unsigned char>(name[i])) == n[i];
    if (eq) return &f;
  }
  return nullptr;
}

bool is_block_format(DType t) {
  const WeightFormat* f = weight_format(t);
  return f && f->block_elems > 1;
}

Result<size_t> format_bytes(DType t, int64_t n) {
  const WeightFormat* f = weight_format(t);
  if (!f) return invalid_argument(std::string(dtype_name(t)) + " is not a weight format");
  if (n < 0 || n % f->block_elems != 0)
    return invalid_argument(std::to_string(n) + " elements are not whole " + f->name +
                            " blocks of " + std::to_string(f->block_elems));
  return size_t(n / f->block_elems) * f->block_bytes;
}

}  // namespace yun
