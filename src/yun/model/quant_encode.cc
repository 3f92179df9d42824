// Q5_0, Q4_K and Q6_K encoders (see quant_encode.h for the search each one
// runs, weight_format.h for the byte layouts).
#include "yun/model/quant_encode.h"

#include <algorithm>
#include <cmath>

#include "yun/base/half.h"

namespace yun::internal {
namespace {

void store_f16(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  p[0] = uint8_t(h);
  p[1] = uint8_t(h >> 8);
}
float stored_f16(float v) { return f16_to_f32(f32_to_f16(v)); }

int round_clamp(float v, int lo, int hi) { return std::clamp(int(std::nearbyint(v)), lo, hi); }

// Fits x[0..n) ~ s*q - m, q in 0..nmax, s >= 0, m >= 0, minimising
// sum w (s q - m - x)^2. Writes the levels to q, returns s, *m_out = m.
float fit_scale_min(const float* x, const float* w, int n, int nmax, uint8_t* q, float* m_out) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo = std::min(lo, 0.0f);  // the offset only ever lowers the levels (m >= 0)
  if (hi <= lo) {
    for (int i = 0; i < n; ++i) q[i] = 0;
    *m_out = -lo;
    return 0.0f;
  }
  uint8_t cand[32];
  float best_err = INFINITY, best_s = 0.0f, best_b = lo;
  for (int step = -1; step <= 20; ++step) {
    // step -1: the plain range scale; 0..20: the grid (nmax - 1 + step/10)/range.
    const float iscale =
        step < 0 ? float(nmax) / (hi - lo) : (float(nmax) - 1.0f + 0.1f * float(step)) / (hi - lo);
    double sw = 0, sl = 0, sll = 0, sx = 0, slx = 0;
    for (int i = 0; i < n; ++i) {
      cand[i] = uint8_t(round_clamp(iscale * (x[i] - lo), 0, nmax));
      const double l = cand[i];
      sw += w[i];
      sl += w[i] * l;
      sll += w[i] * l * l;
      sx += w[i] * x[i];
      slx += w[i] * l * x[i];
    }
    const double det = sw * sll - sl * sl;
    double s, b;  // x ~ s*l + b
    if (det > 1e-12 * sw * sll) {
      s = (sw * slx - sl * sx) / det;
      b = (sll * sx - sl * slx) / det;
    } else {  // every element on one level: the scale alone (b = 0), or b alone
      s = sll > 0 ? slx / sll : 0.0;
      b = sll > 0 ? 0.0 : sx / sw;
    }
    if (b > 0) {  // m would be negative: pin it at 0
      b = 0;
      s = sll > 0 ? slx / sll : 0.0;
    }
    if (s < 0) continue;
    double err = 0;
    for (int i = 0; i < n; ++i) {
      const double e = s * cand[i] + b - x[i];
      err += w[i] * e * e;
    }
    if (err < best_err) {
      best_err = float(err);
      best_s = float(s);
      best_b = float(b);
      std::copy(cand, cand + n, q);
    }
  }
  if (!(best_err < INFINITY)) {  // every candidate degenerate: one level
    for (int i = 0; i < n; ++i) q[i] = 0;
    *m_out = -lo;
    return 0.0f;
  }
  *m_out = -best_b;
  return best_s;
}

// Fits x[0..n) ~ s*q, q in -nmax..nmax-1, weights x^2; returns s (any sign).
float fit_symmetric(const float* x, int n, int nmax) {
  float amax = 0.0f, ext = 0.0f;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      ext = x[i];
    }
  if (amax < 1e-30f) return 0.0f;
  float best_score = -1.0f, best_s = 0.0f;
  for (int step = -9; step <= 9; ++step) {
    const float iscale = -(float(nmax) + 0.1f * float(step)) / ext;
    double sxl = 0, sll = 0;
    for (int i = 0; i < n; ++i) {
      const double l = round_clamp(iscale * x[i], -nmax, nmax - 1);
      const double w = double(x[i]) * x[i];
      sxl += w * x[i] * l;
      sll += w * l * l;
    }
    if (sll <= 0) continue;
    const double score = sxl * sxl / sll;  // error reduction at the optimal s
    if (score > best_score) {
      best_score = float(score);
      best_s = float(sxl / sll);
    }
  }
  return best_s;
}

}  // namespace

void q5_0_from_float(const float* s, void* d, int64_t n) {
  auto* b = static_cast<uint8_t*>(d);
  for (int64_t i = 0; i < n; i += 32, b += 22) {
    float ext = 0.0f;
    for (int j = 0; j < 32; ++j)
      if (std::fabs(s[i + j]) > std::fabs(ext)) ext = s[i + j];
    store_f16(b, ext / -16.0f);
    const float scale = stored_f16(ext / -16.0f);
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const int q0 = round_clamp(s[i + j] * inv, -16, 15) + 16;
      const int q1 = round_clamp(s[i + j + 16] * inv, -16, 15) + 16;
      b[6 + j] = uint8_t((q0 & 0xf) | ((q1 & 0xf) << 4));
      qh |= uint32_t(q0 >> 4) << j;
      qh |= uint32_t(q1 >> 4) << (j + 16);
    }
    for (int k = 0; k < 4; ++k) b[2 + k] = uint8_t(qh >> (8 * k));
  }
}

void q4_k_from_float(const float* s, void* d, int64_t n) {
  auto* b = static_cast<uint8_t*>(d);
  for (int64_t i = 0; i < n; i += 256, b += 144) {
    const float* x = s + i;
    float scale[8], min[8], w[32];
    uint8_t q[256];
    for (int j = 0; j < 8; ++j) {
      const float* xs = x + 32 * j;
      double ss = 0;
      for (int l = 0; l < 32; ++l) ss += double(xs[l]) * xs[l];
      const float rms = float(std::sqrt(ss / 32));
      for (int l = 0; l < 32; ++l) w[l] = rms + std::fabs(xs[l]);
      scale[j] = fit_scale_min(xs, w, 32, 15, q + 32 * j, &min[j]);
    }
    float smax = 0.0f, mmax = 0.0f;
    for (int j = 0; j < 8; ++j) {
      smax = std::max(smax, scale[j]);
      mmax = std::max(mmax, min[j]);
    }
    const float dd = stored_f16(smax / 63.0f), dmin = stored_f16(mmax / 63.0f);
    store_f16(b, smax / 63.0f);
    store_f16(b + 2, mmax / 63.0f);
    uint8_t* sc = b + 4;
    std::fill(sc, sc + 12, uint8_t(0));
    int qsc[8], qmn[8];
    for (int j = 0; j < 8; ++j) {
      qsc[j] = dd > 0.0f ? round_clamp(scale[j] / dd, 0, 63) : 0;
      qmn[j] = dmin > 0.0f ? round_clamp(min[j] / dmin, 0, 63) : 0;
      if (j < 4) {
        sc[j] = uint8_t(qsc[j]);
        sc[j + 4] = uint8_t(qmn[j]);
      } else {
        sc[j + 4] = uint8_t((qsc[j] & 0xf) | ((qmn[j] & 0xf) << 4));
        sc[j - 4] |= uint8_t((qsc[j] >> 4) << 6);
        sc[j] |= uint8_t((qmn[j] >> 4) << 6);
      }
    }
    // Re-round every element against the scale and min as stored.
    for (int j = 0; j < 8; ++j) {
      const float sj = dd * float(qsc[j]), mj = dmin * float(qmn[j]);
      for (int l = 0; l < 32; ++l)
        q[32 * j + l] = sj > 0.0f ? uint8_t(round_clamp((x[32 * j + l] + mj) / sj, 0, 15)) : 0;
    }
    uint8_t* qs = b + 16;
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        qs[32 * c + l] = uint8_t(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
  }
}

void q6_k_from_float(const float* s, void* d, int64_t n) {
  auto* b = static_cast<uint8_t*>(d);
  for (int64_t i = 0; i < n; i += 256, b += 210) {
    const float* x = s + i;
    float scale[16];
    float amax = 0.0f, ext = 0.0f;
    for (int g = 0; g < 16; ++g) {
      scale[g] = fit_symmetric(x + 16 * g, 16, 32);
      if (std::fabs(scale[g]) > amax) {
        amax = std::fabs(scale[g]);
        ext = scale[g];
      }
    }
    auto* sc = reinterpret_cast<int8_t*>(b + 192);
    uint8_t q[256];
    if (amax == 0.0f) {
      std::fill(b, b + 210, uint8_t(0));
      continue;
    }
    const float iscale = -128.0f / ext;
    store_f16(b + 208, 1.0f / iscale);
    const float dd = stored_f16(1.0f / iscale);
    for (int g = 0; g < 16; ++g) {
      sc[g] = int8_t(round_clamp(iscale * scale[g], -128, 127));
      const float sg = dd * float(sc[g]);
      for (int l = 0; l < 16; ++l)
        q[16 * g + l] = uint8_t(sg != 0.0f ? round_clamp(x[16 * g + l] / sg, -32, 31) + 32 : 32);
    }
    for (int h = 0; h < 2; ++h) {
      uint8_t* ql = b + 64 * h;
      uint8_t* qh = b + 128 + 32 * h;
      const uint8_t* qq = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int q1 = qq[l], q2 = qq[l + 32], q3 = qq[l + 64], q4 = qq[l + 96];
        ql[l] = uint8_t((q1 & 0xf) | ((q3 & 0xf) << 4));
        ql[l + 32] = uint8_t((q2 & 0xf) | ((q4 & 0xf) << 4));
        qh[l] = uint8_t((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    }
  }
}

}  // namespace yun::internal
