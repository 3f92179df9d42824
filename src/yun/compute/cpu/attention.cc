#include "yun/compute/cpu/attention.h"

#include <cmath>
#include <vector>

namespace yun {

namespace {

// Dot product with 8 independent partial sums (vectorizable without fast-math).
inline float dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

struct RowRef {
  int32_t seq;
  int32_t row;  // within the batch
  int32_t pos;  // position of the row in its sequence
};

// One unit: `group` query heads starting at kvh * full_group + g0, all sharing kv head kvh.
void attend(const ForwardBatch& batch, const AttentionShape& s, const RowRef& r, int64_t kvh,
            int64_t g0, int64_t group, const float* q, const float* kc, const float* vc,
            float* out, std::vector<float>& scores) {
  const SeqSlice& seq = batch.seqs[size_t(r.seq)];
  const int64_t D = s.head_dim;
  const int64_t full_group = s.num_heads / s.num_kv_heads;
  const int64_t h0 = kvh * full_group + g0;  // first query head of this unit
  const int64_t n = int64_t(r.pos) + 1;
  const float scale = 1.0f / std::sqrt(float(D));
  if (int64_t(scores.size()) < n * group) scores.resize(size_t(n * group));
  const float* qrow = q + int64_t(r.row) * s.num_heads * D;
  float* orow = out + int64_t(r.row) * s.num_heads * D;
  // Scores for all heads of the group, position-major walk over the blocks.
  for (int64_t t = 0; t < n; ++t) {
    const int64_t blk = seq.block_table[size_t(t / s.block_size)];
    const float* k = kc + (blk * s.block_size + t % s.block_size) * s.token_stride + kvh * D;
    for (int64_t g = 0; g < group; ++g) {
      const float* qh = qrow + (h0 + g) * D;
      scores[size_t(g * n + t)] = dot(qh, k, D) * scale;
    }
  }
  for (int64_t g = 0; g < group; ++g) {
    float* sc = scores.data() + g * n;
    float mx = sc[0];
    for (int64_t t = 1; t < n; ++t) mx = std::max(mx, sc[t]);
    float sum = 0.0f;
    for (int64_t t = 0; t < n; ++t) {
      sc[t] = std::exp(sc[t] - mx);
      sum += sc[t];
    }
    const float inv = 1.0f / sum;
    for (int64_t t = 0; t < n; ++t) sc[t] *= inv;
    float* oh = orow + (h0 + g) * D;
    for (int64_t d = 0; d < D; ++d) oh[d] = 0.0f;
  }
  for (int64_t t = 0; t < n; ++t) {
    const int64_t blk = seq.block_table[size_t(t / s.block_size)];
    const float* v = vc + (blk * s.block_size + t % s.block_size) * s.token_stride + kvh * D;
    for (int64_t g = 0; g < group; ++g) {
      const float w = scores[size_t(g * n + t)];
      float* oh = orow + (h0 + g) * D;
      for (int64_t d = 0; d < D; ++d) oh[d] += w * v[d];
    }
  }
}

}  // namespace

void paged_attention(const ForwardBatch& batch, const AttentionShape& s, const float* q,
                     const float* k_cache, const float* v_cache, float* out, ThreadPool& pool) {
  thread_local std::vector<RowRef> rows;
  rows.clear();
  for (size_t i = 0; i < batch.seqs.size(); ++i) {
    const SeqSlice& seq = batch.seqs[i];
    const int32_t first = seq.context_len - seq.num_tokens;
    for (int32_t j = 0; j < seq.num_tokens; ++j)
      rows.push_back({int32_t(i), seq.token_start + j, first + j});
  }
  // Split each kv head's query group into `parts` so that few rows (decode)
  // still give every thread work; more parts re-read K/V, so only as needed.
  const int64_t group = s.num_heads / s.num_kv_heads;
  int64_t parts = 1;
  while (parts < group && int64_t(rows.size()) * s.num_kv_heads * parts < 2 * pool.num_threads())
    ++parts;
  while (group % parts != 0) ++parts;
  const int64_t sub = group / parts;
  const int64_t per_row = s.num_kv_heads * parts;
  const int64_t units = int64_t(rows.size()) * per_row;
  const std::vector<RowRef>& rr = rows;
  pool.parallel_for(
      units,
      [&](int64_t b, int64_t e) {
        thread_local std::vector<float> scores;
        for (int64_t u = b; u < e; ++u) {
          const int64_t in_row = u % per_row;
          attend(batch, s, rr[size_t(u / per_row)], in_row / parts, (in_row % parts) * sub, sub,
                 q, k_cache, v_cache, out, scores);
        }
      },
      1);
}

}  // namespace yun
