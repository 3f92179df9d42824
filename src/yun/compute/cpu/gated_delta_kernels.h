// Per-ISA paths of the Gated DeltaNet ops (gated_delta.h, causal_conv.h): the
// recurrent and chunked delta rule, the causal conv1d + SiLU, the l2 norm and
// the gated RMSNorm. One table of function pointers per ISA (the ops are used
// together, so they are picked together): the scalar table holds the plain
// float32 references (double accumulation), the AVX2+FMA and AVX-512 tables
// one shared body (gated_delta_impl.inc) on each ISA's vector operations with
// float32 accumulation. The public functions use the best table cpu_features()
// allows (YUN_CPU_LIMIT caps it); tests run every table against the scalar one.
#pragma once

#include <cstdint>

#include "yun/compute/cpu/gated_delta.h"
#include "yun/compute/cpu/isa_paths.h"

namespace yun::internal {

struct DeltaKernels {
  void (*recurrent)(const DeltaHeadArgs& a);
  void (*chunked)(const DeltaHeadArgs& a, int64_t chunk);
  void (*conv)(const float* u, int64_t u_stride, int64_t n, int64_t C, const float* w, int64_t K,
               float* state, float* y, int64_t y_stride);
  void (*l2_norm)(float* x, int64_t n, float eps, float scale);
  void (*gated_norm)(float* o, const float* z, const float* w, int64_t n, float eps);
};

extern const DeltaKernels kDeltaKernelsScalar;
extern const DeltaKernels kDeltaKernelsAvx2;    // REQUIRES avx2+fma
extern const DeltaKernels kDeltaKernelsAvx512;  // REQUIRES avx512f

using DeltaPath = IsaPath<const DeltaKernels*>;
// Tables this CPU can run, best first (honours YUN_CPU_LIMIT).
int available_delta_paths(DeltaPath* out, int max_out);
// The first of them (picked once): what the public functions run.
const DeltaKernels& best_delta_kernels();

// The plain reference conv (causal_conv.cc; kDeltaKernelsScalar.conv).
void causal_conv1d_silu_scalar(const float* u, int64_t u_stride, int64_t n, int64_t C,
                               const float* w, int64_t K, float* state, float* y, int64_t y_stride);

// The conv state after a call over n inputs (shared by every path): the last
// K-1 inputs of (old state ++ u), oldest first.
void causal_conv_update_state(const float* u, int64_t u_stride, int64_t n, int64_t C, int64_t K,
                              float* state);

}  // namespace yun::internal
