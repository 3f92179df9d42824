// RMSNorm fused with the residual add.
#pragma once

#include "yun/compute/cuda/cuda_common.h"

namespace yun::cuda {

// For each row t < T (width H):
//   residual[t] += add[t]            (when add != nullptr)
//   out[t] = bf16(residual[t] * rsqrt(mean(residual[t]^2) + eps) * weight)
// residual is float32 (the residual stream), add/weight/out bf16.
// Bytes: T*H*(4 + 2 + (add ? 4+2 : 0)) + H*2. REQUIRES: H > 0, out does not alias.
Status add_rms_norm(float* residual, const bf16* add, const bf16* weight, float eps, bf16* out,
                    int64_t T, int64_t H, cudaStream_t stream);

}  // namespace yun::cuda
