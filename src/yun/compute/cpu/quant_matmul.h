// Matmul against block-quantized weights (Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K; see
// model/weight_format.h), internal to compute/cpu: matmul() (matmul.h) sends
// every WeightMatrix whose dtype is a block format here.
//
// Kernels are keyed by (weight format, ISA). Each declares the activation
// format it wants: kF32 (x as it is) or kQ8_0 (each row of x quantized to
// int8 in blocks of 32 with one float scale, plus each block's scale times
// the sum of its int8 values for the K-quants' mins, for integer dot products:
// vpdpbusd on AVX-512 VNNI / AVX-VNNI, vpmaddubsw on AVX2). The driver
// converts x once per call and splits the W rows among the threads.
//
// Precision: kF32 kernels are exact up to float32 summation order; kQ8_0
// kernels add the error of rounding x to 8 bits per block (|dx| <= max|x|/254
// per element of a block), as llama.cpp's Q8_0 path does.
//
// quant_matmul at M >= 16 (prefill, compute bound) decodes W to float32, 256
// rows at a time, and runs matmul()'s float32 path on them instead: the
// integer kernels win only where the bytes of W set the time (decode).
#pragma once

#include <cstdint>

#include "yun/base/thread_pool.h"
#include "yun/compute/cpu/matmul.h"

namespace yun::internal {

enum class ActFormat { kF32, kQ8_0 };

// Activations as a kernel wants them: x (kF32) or xq/xd/xs (kQ8_0: M*K int8,
// M*K/32 scales and M*K/32 block sums xd*sum(xq), row-major).
struct QuantArgs {
  const WeightMatrix* W;
  size_t row_bytes;  // bytes of one W row
  int64_t M;
  const float* x;
  const int8_t* xq;
  const float* xd;
  float* y;  // [M, W->rows]
  const float* bias;
  const float* xs = nullptr;
};

// Writes y[m, n] for n in [n0, n1), all m.
using QuantRowsFn = void (*)(const QuantArgs& a, int64_t n0, int64_t n1);

struct QuantKernel {
  DType weight;
  const char* isa;  // "avx512vnni", "avxvnni", "avx2", "scalar"
  ActFormat act;
  QuantRowsFn rows;
};

// Kernels for `weight` this CPU can run (YUN_CPU_LIMIT honoured), best
// first; the last is always the portable one. Returns how many.
int quant_kernels(DType weight, QuantKernel* out, int max_out);

// y = x · Wᵀ (+ bias) with kernel `k`. REQUIRES: W.dtype == k.weight, a block
// format, W.cols a whole number of blocks.
void quant_matmul_with(const QuantKernel& k, const float* x, int64_t M, const WeightMatrix& W,
                       float* y, ThreadPool& pool, const float* bias);

// With the best kernel for W.dtype (M < 16), else as said above.
void quant_matmul(const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
                  const float* bias);

// Quantizes n floats (a multiple of 32) to int8 blocks of 32 with one float
// scale each (max|x|/127), as kQ8_0 kernels want; with `s`, also each
// block's scale times the sum of its int8 values.
void quantize_act_q8_0(const float* x, int64_t n, int8_t* q, float* d, float* s = nullptr);

// The per-ISA Q8_0 / Q4_0 x Q8_0 row kernels (quant_q8_0_*.cc).
void q8_0_rows_avx2(const QuantArgs& a, int64_t n0, int64_t n1);
void q8_0_rows_avxvnni(const QuantArgs& a, int64_t n0, int64_t n1);
void q8_0_rows_avx512vnni(const QuantArgs& a, int64_t n0, int64_t n1);
void q4_0_rows_avx2(const QuantArgs& a, int64_t n0, int64_t n1);
void q4_0_rows_avxvnni(const QuantArgs& a, int64_t n0, int64_t n1);
void q4_0_rows_avx512vnni(const QuantArgs& a, int64_t n0, int64_t n1);
// Q5_0, Q4_K and Q6_K x Q8_0 (the same files; K-quants in quant_kq.inc).
void q5_0_rows_avx2(const QuantArgs& a, int64_t n0, int64_t n1);
void q5_0_rows_avxvnni(const QuantArgs& a, int64_t n0, int64_t n1);
void q5_0_rows_avx512vnni(const QuantArgs& a, int64_t n0, int64_t n1);
void q4_k_rows_avx2(const QuantArgs& a, int64_t n0, int64_t n1);
void q4_k_rows_avxvnni(const QuantArgs& a, int64_t n0, int64_t n1);
void q4_k_rows_avx512vnni(const QuantArgs& a, int64_t n0, int64_t n1);
void q6_k_rows_avx2(const QuantArgs& a, int64_t n0, int64_t n1);
void q6_k_rows_avxvnni(const QuantArgs& a, int64_t n0, int64_t n1);
void q6_k_rows_avx512vnni(const QuantArgs& a, int64_t n0, int64_t n1);

}  // namespace yun::internal
