// AVX2 + FMA (+F16C) matmul path: 8 f32 lanes, 16 vector registers.
// Compiled for avx2 only (isa_begin.inc); chosen at run time.
// Large-M register tile: 6 rows x 16 columns = 12 ymm accumulators.
#include <immintrin.h>

#include <cstdint>

#include "yun/compute/cpu/matmul_kernels.h"

#define YUN_ISA_TARGET "avx2,fma,f16c"
#include "yun/compute/cpu/isa_begin.inc"

namespace yun::internal {
namespace {

#include "yun/compute/cpu/simd_avx2.inc"

constexpr int kNumRegs = 16;
constexpr int kMaxDotRows = 2;
constexpr int kSmallM = 4;
constexpr int kMR = 6;
constexpr int kDR = 3;  // mid-M tile: 3 x rows by 3 W rows (9 accumulators)
constexpr int kDC = 3;
constexpr int kMidM = 64;

inline V vload_bf16(const uint16_t* p) {
  __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
}
inline V vload_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
// 2*kLanes bf16 at p: even-indexed elements (as f32) to `even`, odd to `odd`.
inline void vload_bf16_pairs(const uint16_t* p, V& even, V& odd) {
  __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  even = _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
  odd = _mm256_castsi256_ps(_mm256_and_si256(u, _mm256_set1_epi32(int(0xffff0000u))));
}

#include "yun/compute/cpu/matmul_simd.inc"

}  // namespace

void matmul_avx2(const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
                 const float* bias) {
  run_matmul(x, M, W, y, pool, bias);
}

void matmul_multi_avx2(const float* x, int64_t M, const MatmulJob* jobs, int num_jobs,
                       ThreadPool& pool) {
  run_matmul_multi(x, M, jobs, num_jobs, pool);
}

}  // namespace yun::internal

#include "yun/compute/cpu/isa_end.inc"
