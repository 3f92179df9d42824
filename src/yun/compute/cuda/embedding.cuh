// Embedding gather and row gathers.
#pragma once

#include "yun/compute/cuda/cuda_common.h"

namespace yun::cuda {

// out[t, :] = float(table[ids[t], :]) for t < T. Rows whose id is outside
// [0, vocab) are written as zeros (the runner rejects such ids before).
// Bytes: T*H*(2 + 4). REQUIRES: hidden > 0, T >= 0.
Status embedding_lookup(const bf16* table, int64_t vocab, int64_t hidden, const int32_t* ids,
                        int64_t T, float* out, cudaStream_t stream);

// dst[i, :] = src[rows[i], :] for i < n (float rows of `width`).
Status gather_rows_f32(const float* src, int64_t src_rows, int64_t width, const int32_t* rows,
                       int64_t n, float* dst, cudaStream_t stream);

// dst[i, :] = src[rows[i], :] for i < n (bf16 rows of `width`).
Status gather_rows_bf16(const bf16* src, int64_t src_rows, int64_t width, const int32_t* rows,
                        int64_t n, bf16* dst, cudaStream_t stream);

}  // namespace yun::cuda
