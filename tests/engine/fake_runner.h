// FakeRunner: a deterministic ModelRunner for engine tests, with a simulated
// paged KV cache. forward() writes each row's (token, position) into its slot
// and computes a sequence's next-token logits from the WHOLE context as read
// back from the slots, so a wrong block table, a block reused while still in
// use, or a bad prefix-cache hit changes the output and fails the test.
//
// Next token = fake_next_token(context); logits peak there (10) and fall off
// with the circular distance from it, so sampling tests have a real
// distribution. Every batch is recorded for step-by-step assertions.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "yun/compute/model_runner.h"

namespace yun::test {

inline int32_t fake_next_token(const std::vector<int32_t>& context, int32_t vocab) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < context.size(); ++i) {
    h ^= static_cast<uint64_t>(context[i]) * 2654435761ULL + i;
    h *= 1099511628211ULL;
  }
  return static_cast<int32_t>((h >> 17) % static_cast<uint64_t>(vocab));
}

// The greedy continuation of `prompt` for `n` tokens (what the engine must give).
inline std::vector<int32_t> fake_greedy(std::vector<int32_t> context, int n, int32_t vocab) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    int32_t t = fake_next_token(context, vocab);
    out.push_back(t);
    context.push_back(t);
  }
  return out;
}

class FakeRunner : public ModelRunner {
 public:
  explicit FakeRunner(int32_t vocab = 101, int64_t max_pos = 4096) {
    cfg_.vocab_size = vocab;
    cfg_.max_position_embeddings = max_pos;
    cfg_.architecture_name = "FakeForCausalLM";
  }
  const ModelConfig& config() const override { return cfg_; }
  std::string device_name() const override { return "fake"; }
  size_t kv_bytes_per_token() const override { return 64; }
  Status allocate_kv_cache(const KvCacheSpec& spec) override {
    spec_ = spec;
    slots_.assign(static_cast<size_t>(spec.num_blocks) * spec.block_size, {-1, -1});
    return Status::ok();
  }
  KvCacheSpec kv_cache_spec() const override { return spec_; }

  Status forward(const ForwardBatch& b, std::vector<float>& logits) override {
    { std::lock_guard<std::mutex> hold(gate); }  // tests hold `gate` to pile up requests
    num_forwards.fetch_add(1);
    if (record) batches.push_back(b);
    if (step_delay_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(step_delay_us));
    if (fail_next) {
      fail_next = false;
      return internal_error("injected failure");
    }
    const int32_t V = static_cast<int32_t>(cfg_.vocab_size), bs = spec_.block_size;
    if (b.positions.size() != b.token_ids.size()) return invalid_argument("positions size");
    std::vector<int32_t> row_seq(b.token_ids.size(), -1);
    for (size_t s = 0; s < b.seqs.size(); ++s) {
      const SeqSlice& sl = b.seqs[s];
      if (sl.num_tokens < 1 || sl.token_start + sl.num_tokens > b.total_tokens()) {
        return invalid_argument("bad slice");
      }
      if (static_cast<int64_t>(sl.block_table.size()) * bs < sl.context_len) {
        return invalid_argument("block table does not cover context");
      }
      for (int32_t i = 0; i < sl.num_tokens; ++i) {
        int32_t r = sl.token_start + i, pos = sl.context_len - sl.num_tokens + i;
        if (b.positions[r] != pos) return invalid_argument("bad position");
        int32_t blk = sl.block_table[pos / bs];
        if (blk < 0 || blk >= spec_.num_blocks) return invalid_argument("bad block id");
        slots_[static_cast<size_t>(blk) * bs + pos % bs] = {b.token_ids[r], pos};
        row_seq[r] = static_cast<int32_t>(s);
      }
    }
    logits.assign(b.logit_rows.size() * V, 0.0f);
    for (size_t k = 0; k < b.logit_rows.size(); ++k) {
      int32_t r = b.logit_rows[k];
      if (r < 0 || r >= b.total_tokens() || row_seq[r] < 0)
        return invalid_argument("bad logit row");
      const SeqSlice& sl = b.seqs[row_seq[r]];
      std::vector<int32_t> ctx;
      for (int32_t p = 0; p <= b.positions[r]; ++p) {
        auto [tok, pos] = slots_[static_cast<size_t>(sl.block_table[p / bs]) * bs + p % bs];
        if (pos != p)
          return internal_error("KV slot of position " + std::to_string(p) + " is stale");
        ctx.push_back(tok);
      }
      int32_t next = fake_next_token(ctx, V);
      float* row = logits.data() + k * V;
      for (int32_t v = 0; v < V; ++v) {
        int32_t d = std::abs(v - next);
        d = std::min(d, V - d);
        row[v] = 10.0f - 1.5f * d;
      }
    }
    return Status::ok();
  }

  std::atomic<int64_t> num_forwards{0};  // forward() calls (engine steps)
  bool record = false;
  bool fail_next = false;
  int step_delay_us = 0;
  std::mutex gate;  // slows every step (to keep requests alive)
  std::vector<ForwardBatch> batches;

 private:
  ModelConfig cfg_;
  KvCacheSpec spec_;
  std::vector<std::pair<int32_t, int32_t>> slots_;  // (token, position) per slot
};

}  // namespace yun::test
