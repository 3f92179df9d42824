#include "yun/compute/cpu/mlp.h"

#include "yun/compute/cpu/activation.h"

#include <algorithm>
#include <cmath>

namespace yun {

namespace {

template <typename T>
void grow(std::vector<T>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
}

}  // namespace

void swiglu_mlp(const float* x, int64_t rows, const SwigluWeights& w, float* y,
                MlpScratch& s, ThreadPool& pool) {
  const int64_t I = w.gate.rows;
  grow(s.gate, rows * I);
  grow(s.up, rows * I);
  const MatmulJob gate_up[2] = {{w.gate, s.gate.data(), w.gate_bias},
                                {w.up, s.up.data(), w.up_bias}};
  matmul_multi(x, rows, gate_up, 2, pool);
  float* g = s.gate.data();
  const float* u = s.up.data();
  const int64_t n = rows * I;
  pool.parallel_for(
      n,
      [&](int64_t b, int64_t e) {
        silu_mul(g + b, u + b, e - b);
      },
      65536);  // ~20 µs of work per chunk; less runs inline
  matmul(g, rows, w.down, y, pool, w.down_bias);
}

void moe_mlp(const float* x, int64_t rows, int64_t H, const MoeWeights& w, float* y,
             MlpScratch& s, ThreadPool& pool) {
  const int64_t E = w.router.rows, K = w.top_k;
  grow(s.router, rows * E);
  matmul(x, rows, w.router, s.router.data(), pool);
  grow(s.topk_id, rows * K);
  grow(s.topk_w, rows * K);
  s.expert_count.assign(size_t(E), 0);
  // Softmax over experts (float32, max-subtracted), then top-k.
  for (int64_t r = 0; r < rows; ++r) {
    float* p = s.router.data() + r * E;
    float mx = *std::max_element(p, p + E);
    float sum = 0.0f;
    for (int64_t e = 0; e < E; ++e) sum += (p[e] = std::exp(p[e] - mx));
    for (int64_t e = 0; e < E; ++e) p[e] /= sum;
    int32_t* ids = s.topk_id.data() + r * K;
    float* ws = s.topk_w.data() + r * K;
    for (int64_t k = 0; k < K; ++k) {
      int64_t best = -1;
      for (int64_t e = 0; e < E; ++e) {
        bool taken = false;
        for (int64_t j = 0; j < k; ++j) taken |= ids[j] == e;
        if (!taken && (best < 0 || p[e] > p[best])) best = e;
      }
      ids[k] = int32_t(best);
      ws[k] = p[best];
    }
    if (w.norm_topk_prob) {
      float t = 0.0f;
      for (int64_t k = 0; k < K; ++k) t += ws[k];
      for (int64_t k = 0; k < K; ++k) ws[k] /= t;
    }
    for (int64_t k = 0; k < K; ++k) ++s.expert_count[size_t(ids[k])];
  }
  // Group (row, weight) pairs by expert.
  std::vector<int32_t>& start = s.expert_start;
  start.assign(size_t(E + 1), 0);
  for (int64_t e = 0; e < E; ++e)
    start[size_t(e + 1)] = start[size_t(e)] + s.expert_count[size_t(e)];
  grow(s.expert_rows, rows * K);
  grow(s.expert_weight, rows * K);
  std::vector<int32_t>& fill = s.expert_fill;
  fill.assign(start.begin(), start.end() - 1);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < K; ++k) {
      int32_t e = s.topk_id[size_t(r * K + k)];
      int32_t at = fill[size_t(e)]++;
      s.expert_rows[size_t(at)] = int32_t(r);
      s.expert_weight[size_t(at)] = s.topk_w[size_t(r * K + k)];
    }
  }
  std::fill(y, y + rows * H, 0.0f);
  for (int64_t e = 0; e < E; ++e) {
    const int64_t n = s.expert_count[size_t(e)];
    if (n == 0) continue;
    const int32_t* ids = s.expert_rows.data() + start[size_t(e)];
    const float* ws = s.expert_weight.data() + start[size_t(e)];
    grow(s.xe, n * H);
    grow(s.ye, n * H);
    for (int64_t i = 0; i < n; ++i)
      std::copy(x + int64_t(ids[i]) * H, x + int64_t(ids[i] + 1) * H, s.xe.data() + i * H);
    swiglu_mlp(s.xe.data(), n, w.experts[size_t(e)], s.ye.data(), s, pool);
    for (int64_t i = 0; i < n; ++i) {
      float* yr = y + int64_t(ids[i]) * H;
      const float* er = s.ye.data() + i * H;
      for (int64_t h = 0; h < H; ++h) yr[h] += ws[i] * er[h];
    }
  }
  if (w.shared_gate.data) {
    grow(s.shared_y, rows * H);
    grow(s.shared_g, rows);
    swiglu_mlp(x, rows, w.shared, s.shared_y.data(), s, pool);
    matmul(x, rows, w.shared_gate, s.shared_g.data(), pool);
    for (int64_t r = 0; r < rows; ++r) {
      const float gate = 1.0f / (1.0f + std::exp(-s.shared_g[size_t(r)]));
      float* yr = y + r * H;
      const float* sr = s.shared_y.data() + r * H;
      for (int64_t h = 0; h < H; ++h) yr[h] += gate * sr[h];
    }
  }
}

}  // namespace yun
