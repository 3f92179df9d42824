// KV cache planning (compute/kv_cache_plan.h): explicit blocks, a byte
// budget, the CPU default (min(1 GiB, what max_model_len x max_num_seqs
// needs)), errors, and the GPU budget under --gpu-memory-utilization; plus
// the CPU runner's plan_kv_cache using the 1 GiB default.
// Run: build/tests/yun_compute_tests --gtest_filter='KvCachePlan*'
#include "yun/compute/kv_cache_plan.h"

#include <gtest/gtest.h>

#include "yun/compute/model_runner.h"

namespace yun {
namespace {

KvCacheBudget budget(int32_t blocks, int64_t bytes, int64_t max_len, int32_t seqs) {
  KvCacheBudget b;
  b.block_size = 16;
  b.num_blocks = blocks;
  b.memory_bytes = bytes;
  b.max_model_len = max_len;
  b.max_num_seqs = seqs;
  return b;
}

TEST(KvCachePlanTest, ExplicitBlocksWin) {
  auto s = plan_kv_blocks(budget(7, 1 << 20, 4096, 256), 1024, kDefaultKvCacheCap);
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->num_blocks, 7);
  EXPECT_EQ(s->block_size, 16);
}

// Hybrids with the prefix cache: the snapshots are paid from the same bytes.
TEST(KvCachePlanTest, StateSnapshotsShareTheBudget) {
  KvCacheBudget b = budget(0, 1 << 20, 1 << 20, 256);  // 1 MiB; a block: 16 KiB of KV
  b.state_snapshot_bytes = 32 << 10;                   // 32 KiB a snapshot
  b.state_snapshot_interval = 4;                       // a block: 16 + 8 KiB
  auto s = plan_kv_blocks(b, 1024, kDefaultKvCacheCap);
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->num_blocks, 42);  // 1024 / 24
  EXPECT_EQ(s->num_state_snapshots, 11);
  EXPECT_LE(int64_t(s->num_blocks) * (16 << 10) + int64_t(s->num_state_snapshots) * (32 << 10),
            int64_t(1) << 20);
  // Snapshots dwarfing the KV: they get at most half of the bytes.
  b.state_snapshot_bytes = 200 << 10;
  s = plan_kv_blocks(b, 1024, kDefaultKvCacheCap);
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->num_state_snapshots, 2);  // 512 KiB / 200 KiB
  EXPECT_EQ(s->num_blocks, 39);          // (1024 - 400) / 16
  // Not even one snapshot fits in half: none (the blocks get everything).
  b.state_snapshot_bytes = 600 << 10;
  s = plan_kv_blocks(b, 1024, kDefaultKvCacheCap);
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->num_state_snapshots, 0);
  EXPECT_EQ(s->num_blocks, 64);
  // Explicit blocks: one snapshot per interval on top. No state: none.
  b.num_blocks = 10;
  s = plan_kv_blocks(b, 1024, kDefaultKvCacheCap);
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->num_blocks, 10);
  EXPECT_EQ(s->num_state_snapshots, 3);
  b.state_snapshot_bytes = 0;
  EXPECT_EQ(plan_kv_blocks(b, 1024, kDefaultKvCacheCap)->num_state_snapshots, 0);
  b.state_snapshot_interval = 0;
  EXPECT_EQ(plan_kv_blocks(b, 1024, kDefaultKvCacheCap).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(KvCachePlanTest, ByteBudget) {
  // 1 MiB / (1 KiB * 16) = 64 blocks, whatever max_model_len asks.
  auto s = plan_kv_blocks(budget(0, 1 << 20, 1 << 20, 256), 1024, kDefaultKvCacheCap);
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->num_blocks, 64);
}

TEST(KvCachePlanTest, DefaultIsWhatTheEngineCanUseCappedAt1GiB) {
  // 4096 tokens x 256 seqs x 64 B = 64 MiB < 1 GiB: all of it.
  auto small = plan_kv_blocks(budget(0, 0, 4096, 256), 64, kDefaultKvCacheCap);
  ASSERT_TRUE(small.is_ok());
  EXPECT_EQ(small->num_blocks, 4096 * 256 / 16);
  // 32768 x 256 x 12 KiB is far past 1 GiB: 1 GiB / (12 KiB * 16).
  auto big = plan_kv_blocks(budget(0, 0, 32768, 256), 12288, kDefaultKvCacheCap);
  ASSERT_TRUE(big.is_ok());
  EXPECT_EQ(big->num_blocks, int32_t(kDefaultKvCacheCap / (12288 * 16)));
  // Never less than one block.
  auto tiny = plan_kv_blocks(budget(0, 0, 1, 1), 64, kDefaultKvCacheCap);
  ASSERT_TRUE(tiny.is_ok());
  EXPECT_EQ(tiny->num_blocks, 1);
}

TEST(KvCachePlanTest, GpuDefaultIsTheDeviceBudget) {
  // A 10 GiB budget caps a want of 32768 x 256 x 144 KiB; a want below it is kept.
  const int64_t gib = int64_t{1} << 30;
  auto capped = plan_kv_blocks(budget(0, 0, 32768, 256), 147456, 10 * gib);
  ASSERT_TRUE(capped.is_ok());
  EXPECT_EQ(capped->num_blocks, int32_t(10 * gib / (147456 * 16)));
  auto want = plan_kv_blocks(budget(0, 0, 1024, 2), 147456, 10 * gib);
  ASSERT_TRUE(want.is_ok());
  EXPECT_EQ(want->num_blocks, 1024 * 2 / 16);
  // Nothing left on the device: an error, not one block that cannot be allocated.
  EXPECT_EQ(plan_kv_blocks(budget(0, 0, 1024, 2), 147456, 0).status().code(),
            StatusCode::kResourceExhausted);
}

TEST(KvCachePlanTest, Errors) {
  EXPECT_EQ(plan_kv_blocks(budget(-1, 0, 16, 1), 64, kDefaultKvCacheCap).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(plan_kv_blocks(budget(0, -1, 16, 1), 64, kDefaultKvCacheCap).status().code(),
            StatusCode::kInvalidArgument);
  KvCacheBudget b = budget(0, 0, 16, 1);
  b.block_size = 0;
  EXPECT_EQ(plan_kv_blocks(b, 64, kDefaultKvCacheCap).status().code(),
            StatusCode::kInvalidArgument);
  // An explicit budget below one block.
  EXPECT_EQ(plan_kv_blocks(budget(0, 10, 16, 1), 64, kDefaultKvCacheCap).status().code(),
            StatusCode::kResourceExhausted);
}

TEST(KvCachePlanTest, GpuMemoryUtilizationIsAShareOfTotal) {
  const size_t gib = size_t{1} << 30;
  // 80 GiB device, 60 GiB free (20 GiB weights + buffers), 0.9: 72 - 20 - reserve.
  EXPECT_EQ(gpu_kv_cache_bytes(80 * gib, 60 * gib, 0.9, 256 << 20),
            int64_t(80 * gib * 0.9) - int64_t(20 * gib) - (256 << 20));
  // Already past the share: nothing.
  EXPECT_EQ(gpu_kv_cache_bytes(80 * gib, 4 * gib, 0.9, 0), 0);
  EXPECT_EQ(gpu_kv_cache_bytes(80 * gib, 80 * gib, 1.0, 0), int64_t(80 * gib));
}

// A runner that only has a KV size: ModelRunner's default plan is the CPU rule.
class SizeOnlyRunner : public ModelRunner {
 public:
  const ModelConfig& config() const override { return cfg_; }
  std::string device_name() const override { return "test"; }
  size_t kv_bytes_per_token() const override { return 1 << 20; }
  Status allocate_kv_cache(const KvCacheSpec&) override { return Status::ok(); }
  KvCacheSpec kv_cache_spec() const override { return {}; }
  Status forward(const ForwardBatch&, std::vector<float>&) override { return Status::ok(); }

 private:
  ModelConfig cfg_;
};

TEST(KvCachePlanTest, RunnerDefaultPlanCapsAt1GiB) {
  SizeOnlyRunner r;
  auto s = r.plan_kv_cache(budget(0, 0, 32768, 256));
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->num_blocks, int32_t(kDefaultKvCacheCap / ((1 << 20) * 16)));
}

}  // namespace
}  // namespace yun
