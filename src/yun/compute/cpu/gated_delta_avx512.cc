// The avx512 Gated DeltaNet paths (see gated_delta_kernels.h): 16 float lanes.
// Compiled for avx512 only (isa_begin.inc); chosen at run time.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "yun/compute/cpu/gated_delta_kernels.h"

#define YUN_ISA_TARGET "avx512f,avx2,fma"
#include "yun/compute/cpu/isa_begin.inc"
// GCC 12 false positives inside avx512fintrin.h (its undefined-vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace yun::internal {
namespace {

// clang-format off (the vector operations first, then the body that uses them)
#include "yun/compute/cpu/simd_avx512.inc"
#include "yun/compute/cpu/gated_delta_impl.inc"
// clang-format on

}  // namespace

const DeltaKernels kDeltaKernelsAvx512 = {gated_delta_recurrent_impl, gated_delta_chunked_impl,
                                          causal_conv_impl, l2_normalize_impl, gated_rms_norm_impl};

}  // namespace yun::internal

#include "yun/compute/cpu/isa_end.inc"
