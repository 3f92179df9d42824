// Per-ISA inner loop of paged_attention (internal; see attention.h). One
// "unit" is one query row times a group of query heads that share a KV head:
// scores against every cached key, softmax, weighted sum of the values. Each
// ISA's version lives in its own .cc compiled with a target pragma (one
// shared body, attention_impl.inc); paged_attention picks one with
// cpu_features() (YUN_CPU_LIMIT caps it), and tests run every path the CPU has
// against a float64 reference.
#pragma once

#include <cstdint>

#include "yun/base/thread_pool.h"
#include "yun/compute/cpu/attention.h"
#include "yun/compute/cpu/isa_paths.h"

namespace yun::internal {

struct AttendUnit {
  const float* q = nullptr;  // the unit's first query head; heads are head_dim apart
  float* out = nullptr;      // same layout as q
  const float* k = nullptr;  // the layer's K cache + kv head * head_dim
  const float* v = nullptr;  // the layer's V cache + kv head * head_dim
  const int32_t* block_table = nullptr;
  int64_t n = 0;  // keys 0..n-1 are attended to
  int64_t group = 0, head_dim = 0, block_size = 0, token_stride = 0;
  float scale = 0.0f;
  float* scores = nullptr;     // scratch of at least n floats
  int64_t* offsets = nullptr;  // scratch of at least n (row offsets in the cache)
};

using AttendFn = void (*)(const AttendUnit& u);

void attend_scalar(const AttendUnit& u);
void attend_avx2(const AttendUnit& u);    // REQUIRES avx2+fma
void attend_avx512(const AttendUnit& u);  // REQUIRES avx512f

using AttendPath = IsaPath<AttendFn>;
// Paths this CPU can run, best first (honours YUN_CPU_LIMIT).
int available_attend_paths(AttendPath* out, int max_out);

// paged_attention with a given path (paged_attention uses the best).
void paged_attention_with(AttendFn fn, const ForwardBatch& batch, const AttentionShape& shape,
                          const float* q, const float* k_cache, const float* v_cache, float* out,
                          ThreadPool& pool);

}  // namespace yun::internal
