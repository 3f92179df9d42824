// The gated delta rule of Gated DeltaNet (Qwen3.5 linear attention), per
// value head, in float32. With the Dk x Dv state S (zero at the start of a
// sequence), per token t:
//
//   S <- exp(g_t) S;  S <- S + k_t (beta_t (v_t - S^T k_t))^T;  o_t = S^T q_t
//
// Two forms give the same result up to rounding, both continuing from and
// leaving `state`, so pieces of a sequence computed one after the other equal
// the whole: the recurrent form above (decode), and the chunked form
// (prefill; chunks of kDeltaChunk tokens; see tests/data/golden/QWEN3_5.md).
// q and k arrive l2-normalised (q already times 1/sqrt(Dk)).
//
// Also here: the small per-head helpers of the layer (l2 norm, the gated
// RMSNorm of the output, the decay and beta of each token).
//
// The delta rule, the l2 norm and the gated norm run the best SIMD path of
// gated_delta_kernels.h (float32 accumulation); the plain references
// (double accumulation of the dot products) are internal::kDeltaKernelsScalar.
#pragma once

#include <cstdint>

namespace yun {

constexpr int64_t kDeltaChunk = 64;

// One value head over n tokens. q, k: rows of Dk floats at q + t*qk_stride;
// v, o: rows of Dv at v + t*v_stride, o + t*o_stride (o may not alias v); g, beta: one per
// token at g[t*gb_stride], beta[t*gb_stride]; state: [Dk, Dv] row-major.
struct DeltaHeadArgs {
  int64_t n = 0, Dk = 0, Dv = 0;
  const float* q = nullptr;
  const float* k = nullptr;
  int64_t qk_stride = 0;
  const float* v = nullptr;
  int64_t v_stride = 0;
  float* o = nullptr;
  int64_t o_stride = 0;
  const float* g = nullptr;
  const float* beta = nullptr;
  int64_t gb_stride = 0;
  float* state = nullptr;
};

void gated_delta_recurrent(const DeltaHeadArgs& a);
// chunk: tokens per chunk (kDeltaChunk in the runner; tests vary it).
void gated_delta_chunked(const DeltaHeadArgs& a, int64_t chunk = kDeltaChunk);

// x[0..n) /= sqrt(sum x^2 + eps), then *= scale.
void l2_normalize(float* x, int64_t n, float eps, float scale);

// o[0..n) = o / sqrt(mean(o^2) + eps) * w * silu(z) (Qwen3.5's gated norm,
// plain weight).
void gated_rms_norm(float* o, const float* z, const float* w, int64_t n, float eps);

// Per value head: beta = sigmoid(b); g = -exp(a_log) * softplus(a + dt_bias).
float delta_beta(float b);
float delta_log_decay(float a, float a_log, float dt_bias);

}  // namespace yun
