// paged_attention: the batch's rows split into units (row x group of query
// heads sharing a KV head), run by the best attend path (attention_kernels.h);
// the scalar path and the dispatch live here.
#include "yun/compute/cpu/attention.h"

#include <cmath>
#include <vector>

#include "yun/compute/cpu/attention_kernels.h"

namespace yun::internal {
namespace {

struct Ops {
  // 8 independent partial sums (vectorizable without fast-math).
  static float dot(const float* a, const float* b, int64_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
  }
  static void scores(const float* q, const float* k, const int64_t* off, int64_t n, int64_t D,
                     float scale, float* s) {
    for (int64_t t = 0; t < n; ++t) s[t] = dot(q, k + off[t], D) * scale;
  }
  static float exp_sum(float* s, int64_t n, float mx) {
    float sum = 0.0f;
    for (int64_t t = 0; t < n; ++t) {
      s[t] = std::exp(s[t] - mx);
      sum += s[t];
    }
    return sum;
  }
  static void weighted_sum(const float* w, const float* v, const int64_t* off, int64_t n, int64_t D,
                           float* o) {
    for (int64_t d = 0; d < D; ++d) o[d] = 0.0f;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t d = 0; d < D; ++d) o[d] += w[t] * v[off[t] + d];
  }
};

#include "yun/compute/cpu/attention_impl.inc"

struct RowRef {
  int32_t seq;
  int32_t row;  // within the batch
  int32_t pos;  // position of the row in its sequence
};

}  // namespace

void attend_scalar(const AttendUnit& u) { attend_impl(u); }

int available_attend_paths(AttendPath* out, int max_out) {
  return isa_paths<AttendFn>(out, max_out, attend_avx512, attend_avx2, attend_scalar);
}

void paged_attention_with(AttendFn fn, const ForwardBatch& batch, const AttentionShape& s,
                          const float* q, const float* k_cache, const float* v_cache, float* out,
                          ThreadPool& pool) {
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
  const int64_t D = s.head_dim;
  const float scale = 1.0f / std::sqrt(float(D));
  pool.parallel_for(
      units,
      [&](int64_t b, int64_t e) {
        thread_local std::vector<float> scores;
        thread_local std::vector<int64_t> offsets;
        for (int64_t i = b; i < e; ++i) {
          const RowRef& r = rr[size_t(i / per_row)];
          const int64_t in_row = i % per_row, kvh = in_row / parts;
          const int64_t h0 = kvh * group + (in_row % parts) * sub;  // first query head
          AttendUnit u;
          u.n = int64_t(r.pos) + 1;
          if (int64_t(scores.size()) < u.n) scores.resize(size_t(u.n));
          if (int64_t(offsets.size()) < u.n) offsets.resize(size_t(u.n));
          u.q = q + (int64_t(r.row) * s.num_heads + h0) * D;
          u.out = out + (int64_t(r.row) * s.num_heads + h0) * D;
          u.k = k_cache + kvh * D;
          u.v = v_cache + kvh * D;
          u.block_table = batch.seqs[size_t(r.seq)].block_table.data();
          u.group = sub;
          u.head_dim = D;
          u.block_size = s.block_size;
          u.token_stride = s.token_stride;
          u.scale = scale;
          u.scores = scores.data();
          u.offsets = offsets.data();
          fn(u);
        }
      },
      1);
}

}  // namespace yun::internal

namespace yun {

void paged_attention(const ForwardBatch& batch, const AttentionShape& s, const float* q,
                     const float* k_cache, const float* v_cache, float* out, ThreadPool& pool) {
  static const internal::AttendFn fn = internal::best_isa_path(internal::available_attend_paths);
  internal::paged_attention_with(fn, batch, s, q, k_cache, v_cache, out, pool);
}

}  // namespace yun
