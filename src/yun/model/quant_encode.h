// Encoders for the block formats whose scales are searched for rather than
// read off the data (model/weight_format.h has the layouts): Q5_0, Q4_K and
// Q6_K, as llama.cpp's reference quantizers choose them, restated.
//
// Q5_0 (blocks of 32): d = (the element of largest magnitude) / -16, q =
//   round(x/d) + 16 clamped to 0..31, as Q4_0 does with 8 levels.
// Q4_K (super-blocks of 256 = 8 sub-blocks of 32): each sub-block is fitted
//   as x ~ s*q - m with q in 0..15, s >= 0, m >= 0, minimising the weighted
//   squared error sum w_i (s*q_i - m - x_i)^2 with w_i = rms(block) + |x_i|:
//   a grid of 21 candidate scales around (max-min)/15; for each, round x to
//   levels, then solve the 2x2 least-squares problem for (s, m) given the
//   levels (m clamped to >= 0), and keep the best. The 8 scales and 8 mins
//   are then stored as 6-bit multiples of d = max s/63 and dmin = max m/63,
//   and the elements re-rounded against those stored values.
// Q6_K (256 = 16 groups of 16): each group is fitted symmetrically, x ~ s*q
//   with q in -32..31, weights x^2: 19 candidate scales around -32/(signed
//   extreme), each scored by the least-squares optimum (sum wxq)^2/sum wq^2.
//   The 16 scales are stored as int8 multiples of d = (largest |s|)/128,
//   and the elements re-rounded against them.
//
// Each takes n floats (a multiple of the block size) and writes n/block
// blocks. Internal to model/ (the WeightFormat table points at them).
#pragma once

#include <cstdint>

namespace yun::internal {

void q5_0_from_float(const float* src, void* dst, int64_t n);
void q4_k_from_float(const float* src, void* dst, int64_t n);
void q6_k_from_float(const float* src, void* dst, int64_t n);

}  // namespace yun::internal
