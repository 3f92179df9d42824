// Helpers for the golden/runner tests: reading expected.safetensors and
// driving a ModelRunner sequence by sequence over a paged KV cache.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "test_util.h"
#include "yun/compute/model_runner.h"
#include "yun/model/safetensors.h"

namespace yun::test {

inline std::vector<float> read_f32(const TensorView& t) {
  std::vector<float> v(size_t(t.numel()));
  if (t.dtype == DType::kF32) std::memcpy(v.data(), t.data, v.size() * 4);
  return v;
}

inline std::vector<int32_t> read_i32(const TensorView& t) {
  std::vector<int32_t> v(size_t(t.numel()));
  if (t.dtype == DType::kI32) std::memcpy(v.data(), t.data, v.size() * 4);
  return v;
}

// One sequence's KV state: blocks handed out in a scrambled order so that
// tables are not contiguous.
struct SeqState {
  std::vector<int32_t> blocks;
  int32_t context_len = 0;
};

class BlockAlloc {
 public:
  explicit BlockAlloc(int32_t num_blocks) : n_(num_blocks) {}
  int32_t next() { return int32_t((int64_t(i_++) * 37 + 5) % n_); }

 private:
  int32_t n_;
  int32_t i_ = 0;
};

// Appends `tokens` of `st` as one SeqSlice to `b` (rows at the end of b).
inline void add_seq(ForwardBatch& b, SeqState& st, const std::vector<int32_t>& tokens,
                    int32_t block_size, BlockAlloc& alloc, bool all_logits) {
  SeqSlice s;
  s.token_start = b.total_tokens();
  s.num_tokens = int32_t(tokens.size());
  s.context_len = st.context_len + s.num_tokens;
  while (int64_t(st.blocks.size()) * block_size < s.context_len) st.blocks.push_back(alloc.next());
  s.block_table = st.blocks;
  for (size_t i = 0; i < tokens.size(); ++i) {
    b.token_ids.push_back(tokens[i]);
    b.positions.push_back(st.context_len + int32_t(i));
    if (all_logits || i + 1 == tokens.size()) b.logit_rows.push_back(s.token_start + int32_t(i));
  }
  st.context_len = s.context_len;
  b.seqs.push_back(std::move(s));
}

// Runs one sequence chunk alone; returns logits of all rows or the last row.
inline std::vector<float> run_one(ModelRunner& r, SeqState& st, const std::vector<int32_t>& tokens,
                                  BlockAlloc& alloc, bool all_logits) {
  ForwardBatch b;
  add_seq(b, st, tokens, r.kv_cache_spec().block_size, alloc, all_logits);
  std::vector<float> logits;
  Status s = r.forward(b, logits);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return logits;
}

inline int64_t argmax(const float* p, int64_t n) {
  return std::max_element(p, p + n) - p;
}

// max |a - b| / max |b| over n values.
inline double rel_err(const float* a, const float* b, int64_t n) {
  double mx = 0, err = 0;
  for (int64_t i = 0; i < n; ++i) {
    mx = std::max(mx, double(std::fabs(b[i])));
    err = std::max(err, double(std::fabs(a[i] - b[i])));
  }
  return mx > 0 ? err / mx : err;
}

}  // namespace yun::test
