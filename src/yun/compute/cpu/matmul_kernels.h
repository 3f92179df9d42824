// Per-ISA entry points of matmul() (internal). Each lives in its own .cc,
// compiled with a GCC target pragma, so one x86-64 binary carries them all;
// matmul() picks one with cpu_features(). Tests call them directly so that
// every path the machine can run is checked against matmul_reference.
//
// Same contract as yun::matmul (compute/cpu/matmul.h). Callers must check the
// CPU supports the ISA before calling (matmul_avx2: avx2+fma+f16c;
// matmul_avx512: avx512f+bw+vl).
#pragma once

#include <cstdint>

#include "yun/base/thread_pool.h"
#include "yun/compute/cpu/matmul.h"

namespace yun::internal {

using MatmulFn = void (*)(const float* x, int64_t M, const WeightMatrix& W, float* y,
                          ThreadPool& pool, const float* bias);

using MatmulMultiFn = void (*)(const float* x, int64_t M, const MatmulJob* jobs, int num_jobs,
                               ThreadPool& pool);

// Portable C++ (scalar loops, threaded over N).
void matmul_scalar(const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
                   const float* bias);
// 256-bit AVX2 + FMA (+F16C for F16 weights).
void matmul_avx2(const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
                 const float* bias);
// 512-bit AVX-512 F/BW/VL.
void matmul_avx512(const float* x, int64_t M, const WeightMatrix& W, float* y, ThreadPool& pool,
                   const float* bias);
// The same paths, several products of one x per call (see matmul_multi).
void matmul_multi_scalar(const float* x, int64_t M, const MatmulJob* jobs, int num_jobs,
                         ThreadPool& pool);
void matmul_multi_avx2(const float* x, int64_t M, const MatmulJob* jobs, int num_jobs,
                       ThreadPool& pool);
void matmul_multi_avx512(const float* x, int64_t M, const MatmulJob* jobs, int num_jobs,
                         ThreadPool& pool);

// bf16 activations (MatmulPrecision::kBF16): x rounded to bf16, vdpbf16ps.
// REQUIRES: avx512f+bw+vl+avx512_bf16; every W is BF16; same K for all jobs.
void matmul_avx512bf16(const float* x, int64_t M, const WeightMatrix& W, float* y,
                       ThreadPool& pool, const float* bias);
void matmul_multi_avx512bf16(const float* x, int64_t M, const MatmulJob* jobs, int num_jobs,
                             ThreadPool& pool);

// Paths this CPU can run, best first (honours YUN_CPU_LIMIT): {name, fn, multi}.
struct MatmulPath {
  const char* name;
  MatmulFn fn;
  MatmulMultiFn multi;
};
int available_matmul_paths(MatmulPath* out, int max_out);

}  // namespace yun::internal
