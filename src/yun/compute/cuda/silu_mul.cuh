// SwiGLU activation on the fused gate/up projection.
#pragma once

#include "yun/compute/cuda/cuda_common.h"

namespace yun::cuda {

// out[t, i] = silu(gate_up[t, i]) * gate_up[t, I + i], i < I, t < T
// (gate_up [T, 2I] holds gate then up). Bytes: T*I*6.
Status silu_mul(const bf16* gate_up, bf16* out, int64_t T, int64_t I, cudaStream_t stream);

}  // namespace yun::cuda
