// AVX-512 (F/BW/VL) matmul path: 16 f32 lanes, 32 vector registers.
// Compiled for avx512 only (isa_begin.inc); chosen at run time.
// Large-M register tile: 12 rows x 32 columns = 24 zmm accumulators.
#include <immintrin.h>

#include <cstdint>

#include "yun/compute/cpu/matmul_kernels.h"

#define YUN_ISA_TARGET "avx512f,avx512bw,avx512vl,avx2,fma,f16c"
#include "yun/compute/cpu/isa_begin.inc"
// GCC 12 false positives inside avx512fintrin.h (its undefined-vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace yun::internal {
namespace {

#include "yun/compute/cpu/simd_avx512.inc"

constexpr int kNumRegs = 32;
constexpr int kMaxDotRows = 4;
constexpr int kSmallM = 4;  // M > 4: the mid-M tiles measured faster (M=8: down 0.63 vs 1.1 ms)
constexpr int kMR = 12;
constexpr int kDR = 3;  // mid-M tile: 3 x rows by 8 W rows (24 accumulators)
constexpr int kDC = 8;
constexpr int kMidM = 64;

inline V vload_bf16(const uint16_t* p) {
  __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}
inline V vload_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
// 2*kLanes bf16 at p: even-indexed elements (as f32) to `even`, odd to `odd`.
inline void vload_bf16_pairs(const uint16_t* p, V& even, V& odd) {
  __m512i u = _mm512_loadu_si512(p);
  even = _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
  odd = _mm512_castsi512_ps(_mm512_and_si512(u, _mm512_set1_epi32(int(0xffff0000u))));
}
#include "yun/compute/cpu/matmul_simd.inc"

}  // namespace

void matmul_avx512(const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
                   const float* bias) {
  run_matmul(x, M, W, y, pool, bias);
}

void matmul_multi_avx512(const float* x, int64_t M, const MatmulJob* jobs, int num_jobs,
                         ThreadPool& pool) {
  run_matmul_multi(x, M, jobs, num_jobs, pool);
}

}  // namespace yun::internal

#include "yun/compute/cpu/isa_end.inc"
