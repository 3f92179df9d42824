// The avx2 Gated DeltaNet paths (see gated_delta_kernels.h): 8 float lanes.
// Compiled for avx2 only (isa_begin.inc); chosen at run time.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "yun/compute/cpu/gated_delta_kernels.h"

#define YUN_ISA_TARGET "avx2,fma"
#include "yun/compute/cpu/isa_begin.inc"

namespace yun::internal {
namespace {

// clang-format off (the vector operations first, then the body that uses them)
#include "yun/compute/cpu/simd_avx2.inc"
#include "yun/compute/cpu/gated_delta_impl.inc"
// clang-format on

}  // namespace

const DeltaKernels kDeltaKernelsAvx2 = {gated_delta_recurrent_impl, gated_delta_chunked_impl,
                                        causal_conv_impl, l2_normalize_impl, gated_rms_norm_impl};

}  // namespace yun::internal

#include "yun/compute/cpu/isa_end.inc"
