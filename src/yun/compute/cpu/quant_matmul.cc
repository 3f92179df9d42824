// The quantized-matmul driver, the portable kernels and the kernel table
// (see quant_matmul.h).
#include "yun/compute/cpu/quant_matmul.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "yun/base/cpu_features.h"
#include "yun/base/half.h"
#include "yun/model/weight_format.h"

namespace yun::internal {
namespace {

// Any format: decode the W row to float32, dot with every row of x.
void dequant_rows(const QuantArgs& a, int64_t n0, int64_t n1) {
  const WeightMatrix& W = *a.W;
  const int64_t K = W.cols, N = W.rows;
  const WeightFormat* f = weight_format(W.dtype);
  thread_local std::vector<float> row;
  if (int64_t(row.size()) < K) row.resize(size_t(K));
  for (int64_t n = n0; n < n1; ++n) {
    f->row_to_float(static_cast<const uint8_t*>(W.data) + size_t(n) * a.row_bytes, row.data(), K);
    for (int64_t m = 0; m < a.M; ++m) {
      const float* xr = a.x + m * K;
      float acc[8] = {};
      int64_t k = 0;
      for (; k + 8 <= K; k += 8)
        for (int j = 0; j < 8; ++j) acc[j] += xr[k + j] * row[size_t(k + j)];
      float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
      for (; k < K; ++k) s += xr[k] * row[size_t(k)];
      a.y[m * N + n] = s + (a.bias ? a.bias[n] : 0.0f);
    }
  }
}

// Q8_0 weights x Q8_0 activations, integer dot per block.
void q8_0_rows_scalar(const QuantArgs& a, int64_t n0, int64_t n1) {
  const WeightMatrix& W = *a.W;
  const int64_t K = W.cols, N = W.rows, nb = K / 32;
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* wr = static_cast<const uint8_t*>(W.data) + size_t(n) * a.row_bytes;
    for (int64_t m = 0; m < a.M; ++m) {
      const int8_t* xq = a.xq + m * K;
      const float* xd = a.xd + m * nb;
      float s = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = wr + b * 34;
        const auto* q = reinterpret_cast<const int8_t*>(blk + 2);
        int32_t dot = 0;
        for (int j = 0; j < 32; ++j) dot += int32_t(q[j]) * int32_t(xq[b * 32 + j]);
        s += float(dot) * (f16_to_f32(uint16_t(blk[0] | (blk[1] << 8))) * xd[b]);
      }
      a.y[m * N + n] = s + (a.bias ? a.bias[n] : 0.0f);
    }
  }
}

// Portable integer kernels for Q5_0, Q4_K and Q6_K: each block unpacked to
// int8 levels q (signed: Q5_0 and Q6_K have their offset taken off), one
// float scale per 16 elements and, for Q4_K, one min per 32, then
//   y = sum_b xd_b * (s16_2b * dot_lo + s16_2b+1 * dot_hi) - min32_b * xs_b.
template <DType F>
struct Unpacked;

template <>
struct Unpacked<DType::kQ5_0> {
  static constexpr int64_t kElems = 32, kBytes = 22;
  static void get(const uint8_t* b, int8_t* q, float* s16, float* min32) {
    const float d = f16_to_f32(uint16_t(b[0] | (b[1] << 8)));
    const uint32_t qh =
        uint32_t(b[2]) | uint32_t(b[3]) << 8 | uint32_t(b[4]) << 16 | uint32_t(b[5]) << 24;
    for (int j = 0; j < 16; ++j) {
      q[j] = int8_t(((b[6 + j] & 0xf) | ((qh >> j) & 1) << 4) - 16);
      q[j + 16] = int8_t(((b[6 + j] >> 4) | ((qh >> (j + 16)) & 1) << 4) - 16);
    }
    s16[0] = s16[1] = d;
    min32[0] = 0.0f;
  }
};

template <>
struct Unpacked<DType::kQ4_K> {
  static constexpr int64_t kElems = 256, kBytes = 144;
  static void get(const uint8_t* b, int8_t* q, float* s16, float* min32) {
    const float d = f16_to_f32(uint16_t(b[0] | (b[1] << 8)));
    const float dmin = f16_to_f32(uint16_t(b[2] | (b[3] << 8)));
    const uint8_t* sc = b + 4;
    for (int j = 0; j < 8; ++j) {
      int s, m;
      if (j < 4) {
        s = sc[j] & 63;
        m = sc[j + 4] & 63;
      } else {
        s = (sc[j + 4] & 0xf) | ((sc[j - 4] >> 6) << 4);
        m = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
      }
      s16[2 * j] = s16[2 * j + 1] = d * float(s);
      min32[j] = dmin * float(m);
      const uint8_t* qs = b + 16 + 32 * (j / 2);
      for (int l = 0; l < 32; ++l) q[32 * j + l] = int8_t(j % 2 ? qs[l] >> 4 : qs[l] & 0xf);
    }
  }
};

template <>
struct Unpacked<DType::kQ6_K> {
  static constexpr int64_t kElems = 256, kBytes = 210;
  static void get(const uint8_t* b, int8_t* q, float* s16, float* min32) {
    const float d = f16_to_f32(uint16_t(b[208] | (b[209] << 8)));
    for (int g = 0; g < 16; ++g) s16[g] = d * float(int8_t(b[192 + g]));
    for (int j = 0; j < 8; ++j) min32[j] = 0.0f;
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l)
        for (int r = 0; r < 4; ++r) {
          const uint8_t lq = b[64 * h + l + 32 * (r & 1)];
          const int v =
              (r < 2 ? lq & 0xf : lq >> 4) | (((b[128 + 32 * h + l] >> (2 * r)) & 3) << 4);
          q[128 * h + 32 * r + l] = int8_t(v - 32);
        }
  }
};

template <DType F>
void unpacked_rows_scalar(const QuantArgs& a, int64_t n0, int64_t n1) {
  using U = Unpacked<F>;
  const WeightMatrix& W = *a.W;
  const int64_t K = W.cols, N = W.rows, nb = K / 32;
  int8_t q[U::kElems];
  float s16[U::kElems / 16], min32[U::kElems / 32];
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* wr = static_cast<const uint8_t*>(W.data) + size_t(n) * a.row_bytes;
    for (int64_t m = 0; m < a.M; ++m) a.y[m * N + n] = a.bias ? a.bias[n] : 0.0f;
    for (int64_t blk = 0; blk < K / U::kElems; ++blk) {
      U::get(wr + blk * U::kBytes, q, s16, min32);
      for (int64_t m = 0; m < a.M; ++m) {
        const int8_t* xq = a.xq + m * K + blk * U::kElems;
        const float* xd = a.xd + m * nb + blk * (U::kElems / 32);
        const float* xs = a.xs + m * nb + blk * (U::kElems / 32);
        float s = 0.0f;
        for (int j = 0; j < U::kElems / 32; ++j) {
          int32_t lo = 0, hi = 0;
          for (int l = 0; l < 16; ++l) {
            lo += int32_t(q[32 * j + l]) * xq[32 * j + l];
            hi += int32_t(q[32 * j + 16 + l]) * xq[32 * j + 16 + l];
          }
          s += xd[j] * (s16[2 * j] * float(lo) + s16[2 * j + 1] * float(hi)) - min32[j] * xs[j];
        }
        a.y[m * N + n] += s;
      }
    }
  }
}

}  // namespace

void quantize_act_q8_0(const float* x, int64_t n, int8_t* q, float* d, float* s) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* xb = x + b * 32;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(xb[j]));
    const float scale = amax / 127.0f;
    const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
    d[b] = scale;
    int32_t sum = 0;
    for (int j = 0; j < 32; ++j) {
      q[b * 32 + j] = int8_t(std::lrintf(xb[j] * inv));
      sum += q[b * 32 + j];
    }
    if (s) s[b] = scale * float(sum);
  }
}

int quant_kernels(DType weight, QuantKernel* out, int max_out) {
  const CpuFeatures& f = cpu_features();
  int n = 0;
  auto add = [&](const char* isa, ActFormat act, QuantRowsFn fn) {
    if (n < max_out) out[n++] = {weight, isa, act, fn};
  };
  if (weight == DType::kQ8_0) {
    if (f.avx512_vnni && f.avx512vl && f.avx512bw && f.avx2)
      add("avx512vnni", ActFormat::kQ8_0, q8_0_rows_avx512vnni);
    if (f.avx_vnni && f.avx2 && f.fma && f.f16c)
      add("avxvnni", ActFormat::kQ8_0, q8_0_rows_avxvnni);
    if (f.avx2 && f.fma && f.f16c) add("avx2", ActFormat::kQ8_0, q8_0_rows_avx2);
    add("scalar", ActFormat::kQ8_0, q8_0_rows_scalar);
  }
  if (weight == DType::kQ4_0) {
    if (f.avx512_vnni && f.avx512vl && f.avx512bw && f.avx2)
      add("avx512vnni", ActFormat::kQ8_0, q4_0_rows_avx512vnni);
    if (f.avx_vnni && f.avx2 && f.fma && f.f16c)
      add("avxvnni", ActFormat::kQ8_0, q4_0_rows_avxvnni);
    if (f.avx2 && f.fma && f.f16c) add("avx2", ActFormat::kQ8_0, q4_0_rows_avx2);
  }
  const bool vnni512 = f.avx512_vnni && f.avx512vl && f.avx512bw && f.avx2;
  const bool vnni256 = f.avx_vnni && f.avx2 && f.fma && f.f16c;
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  if (weight == DType::kQ5_0) {
    if (vnni512) add("avx512vnni", ActFormat::kQ8_0, q5_0_rows_avx512vnni);
    if (vnni256) add("avxvnni", ActFormat::kQ8_0, q5_0_rows_avxvnni);
    if (avx2) add("avx2", ActFormat::kQ8_0, q5_0_rows_avx2);
    add("scalar", ActFormat::kQ8_0, unpacked_rows_scalar<DType::kQ5_0>);
  }
  if (weight == DType::kQ4_K) {
    if (vnni512) add("avx512vnni", ActFormat::kQ8_0, q4_k_rows_avx512vnni);
    if (vnni256) add("avxvnni", ActFormat::kQ8_0, q4_k_rows_avxvnni);
    if (avx2) add("avx2", ActFormat::kQ8_0, q4_k_rows_avx2);
    add("scalar", ActFormat::kQ8_0, unpacked_rows_scalar<DType::kQ4_K>);
  }
  if (weight == DType::kQ6_K) {
    if (vnni512) add("avx512vnni", ActFormat::kQ8_0, q6_k_rows_avx512vnni);
    if (vnni256) add("avxvnni", ActFormat::kQ8_0, q6_k_rows_avxvnni);
    if (avx2) add("avx2", ActFormat::kQ8_0, q6_k_rows_avx2);
    add("scalar", ActFormat::kQ8_0, unpacked_rows_scalar<DType::kQ6_K>);
  }
  if (weight_format(weight)) add("dequant", ActFormat::kF32, dequant_rows);
  return n;
}

void quant_matmul_with(const QuantKernel& k, const float* x, int64_t M, const WeightMatrix& W,
                       float* y, ThreadPool& pool, const float* bias) {
  const int64_t K = W.cols;
  QuantArgs a{&W, *format_bytes(W.dtype, K), M, x, nullptr, nullptr, y, bias};
  thread_local std::vector<int8_t> xq;
  thread_local std::vector<float> xd, xs;
  if (k.act == ActFormat::kQ8_0) {
    // The caller's buffers (thread_local): the workers must not name them.
    if (xq.size() < size_t(M * K)) xq.resize(size_t(M * K));
    if (xd.size() < size_t(M * K / 32)) xd.resize(size_t(M * K / 32));
    if (xs.size() < size_t(M * K / 32)) xs.resize(size_t(M * K / 32));
    int8_t* q = xq.data();
    float* d = xd.data();
    float* s = xs.data();
    pool.parallel_for(
        M,
        [&](int64_t m0, int64_t m1) {
          for (int64_t m = m0; m < m1; ++m)
            quantize_act_q8_0(x + m * K, K, q + m * K, d + m * (K / 32), s + m * (K / 32));
        },
        8);
    a.xq = q;
    a.xd = d;
    a.xs = s;
  }
  pool.parallel_for(
      W.rows, [&](int64_t n0, int64_t n1) { k.rows(a, n0, n1); }, 16);
}

namespace {

// Large M (prefill): compute bound, so decode kChunkRows rows of W at a time
// to float32 (in parallel) and run the tiled float32 matmul on them.
constexpr int64_t kDequantMinM = 16;
constexpr int64_t kChunkRows = 256;

void dequant_then_matmul(const float* x, int64_t M, const WeightMatrix& W, float* y,
                         ThreadPool& pool, const float* bias) {
  const WeightFormat* f = weight_format(W.dtype);
  const int64_t K = W.cols, N = W.rows;
  const size_t rb = *format_bytes(W.dtype, K);
  thread_local std::vector<float> wbuf, ybuf;
  const int64_t chunk = N < kChunkRows ? N : kChunkRows;
  if (wbuf.size() < size_t(chunk * K)) wbuf.resize(size_t(chunk * K));
  if (ybuf.size() < size_t(chunk * M)) ybuf.resize(size_t(chunk * M));
  float* wf = wbuf.data();
  float* yc = ybuf.data();
  const auto* wd = static_cast<const uint8_t*>(W.data);
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t nc = N - n0 < chunk ? N - n0 : chunk;
    pool.parallel_for(
        nc,
        [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r) f->row_to_float(wd + size_t(n0 + r) * rb, wf + r * K, K);
        },
        8);
    WeightMatrix c;
    c.dtype = DType::kF32;
    c.data = wf;
    c.rows = nc;
    c.cols = K;
    matmul(x, M, c, yc, pool, bias ? bias + n0 : nullptr);
    for (int64_t m = 0; m < M; ++m)
      std::copy(yc + m * nc, yc + (m + 1) * nc, y + m * N + n0);
  }
}

}  // namespace

void quant_matmul(const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
                  const float* bias) {
  if (M >= kDequantMinM && W.dtype != DType::kF32) return dequant_then_matmul(x, M, W, y, pool, bias);
  struct Best {
    QuantKernel k[32];
    bool have[32];
    Best() {
      for (int t = 0; t < 32; ++t) {
        QuantKernel all[8];
        have[t] = quant_kernels(DType(t), all, 8) > 0;
        if (have[t]) k[t] = all[0];
      }
    }
  };
  static const Best best;
  const int t = int(W.dtype);
  if (t >= 32 || !best.have[t]) return;  // not a weight format: load_model_weights rejects these
  quant_matmul_with(best.k[t], x, M, W, y, pool, bias);
}

}  // namespace yun::internal
