// Sampling on the device, where the logits are: one token per logit row
// without copying R x vocab floats to the host (NOTES.md gap 4).
//
// Semantics are CpuSampler's (compute/cpu/sampler.h) for the rows a runner
// sends here (DeviceSampleRow: no penalties, no banned ids, no logprobs):
//   greedy: the first index of the row's maximum (NaN never wins);
//   otherwise x = logit * inv_temperature, candidates = the top_k largest x
//   (ties: lowest id first; -inf excluded), then top_p over their softmax
//   (keep up to the first candidate where the cumulative share >= top_p),
//   min_p (keep x - max >= log(min_p)), weights exp(x - max) in double, and
//   the first candidate whose cumulative weight exceeds u * sum, with u the
//   row's std::generate_canonical draw made on the host from the row's own
//   RNG: the same token as CpuSampler given the same logits and RNG.
// Cost: greedy reads the row once (V*4 bytes: ~0.6 MB for Qwen's 151,936
// ids, ~0.3 us at 2 TB/s per row, launch-bound at decode batch sizes);
// top-k reads it top_k times (k <= kMaxDeviceTopK), still far below a copy
// over PCIe (~12 us per row at 50 GB/s).
#pragma once

#include <cstdint>

#include "yun/compute/cuda/cuda_common.h"

namespace yun::cuda {

constexpr int kMaxDeviceTopK = 64;

struct DeviceSampleRow {
  int32_t logit_row = 0;        // row of `logits` to sample
  int32_t top_k = 1;            // 1..kMaxDeviceTopK; ignored when greedy
  int32_t greedy = 1;           // 1: argmax, the fields below unused
  float inv_temperature = 1.f;  // float(1 / temperature), as CpuSampler
  double top_p = 1.0;
  double min_p = 0.0;
  double u = 0.0;  // [0, 1), the row's draw
};

// out[i] = the token for rows[i] (device arrays of n), logits [num_logit_rows, vocab]
// float32 on the device. REQUIRES: vocab > 0, every rows[i].logit_row < num_logit_rows,
// 1 <= top_k <= kMaxDeviceTopK for non-greedy rows (checked on the device:
// out[i] = -1 for a row that breaks them).
Status sample_rows(const float* logits, int64_t num_logit_rows, int64_t vocab,
                   const DeviceSampleRow* rows, int64_t n, int32_t* out, cudaStream_t stream);

// out[r] = argmax of row r of logits [rows, vocab] (the greedy rule above).
Status argmax_rows(const float* logits, int64_t rows, int64_t vocab, int32_t* out,
                   cudaStream_t stream);

}  // namespace yun::cuda
