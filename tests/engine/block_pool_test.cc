// BlockPool tests: ref counts, free-list order (plain blocks before cached,
// cached in LRU order), hash-chained lookups that verify tokens, and the
// prefix cache switch. Run: build-engine/tests/yun_engine_tests --gtest_filter='BlockPool*'
#include "yun/engine/block_pool.h"

#include <gtest/gtest.h>

namespace yun {
namespace {

TEST(BlockPoolTest, RefCountsAndFreeList) {
  BlockPool pool(4, 16, true);
  EXPECT_EQ(pool.num_free(), 4);
  int32_t a = pool.allocate(), b = pool.allocate();
  EXPECT_NE(a, b);
  EXPECT_EQ(pool.num_free(), 2);
  pool.acquire(a);
  EXPECT_EQ(pool.ref_count(a), 2);
  pool.release(a);
  EXPECT_EQ(pool.num_free(), 2);
  pool.release(a);
  pool.release(b);
  EXPECT_EQ(pool.num_free(), 4);
  EXPECT_TRUE(pool.check_invariants());
}

TEST(BlockPoolTest, CachedBlocksAreFoundAndEvictedLast) {
  BlockPool pool(3, 2, true);
  std::vector<int32_t> t1 = {1, 2}, t2 = {3, 4};
  uint64_t h1 = BlockPool::hash_block(BlockPool::kRootHash, t1);
  uint64_t h2 = BlockPool::hash_block(h1, t2);
  int32_t a = pool.allocate(), b = pool.allocate();
  pool.commit(a, h1, BlockPool::kRootHash, t1);
  pool.commit(b, h2, h1, t2);
  pool.release(b);
  pool.release(a);
  EXPECT_EQ(pool.num_cached_free(), 2);
  // Still findable while free; a wrong parent or tokens never match.
  EXPECT_EQ(pool.lookup(h1, BlockPool::kRootHash, t1), a);
  EXPECT_FALSE(pool.lookup(h1, 123, t1));
  EXPECT_FALSE(pool.lookup(h1, BlockPool::kRootHash, t2));
  // The plain free block goes first, then cached ones in release order (b).
  int32_t c = pool.allocate();
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
  int32_t d = pool.allocate();
  EXPECT_EQ(d, b);
  EXPECT_FALSE(pool.lookup(h2, h1, t2));  // evicted
  EXPECT_EQ(pool.lookup(h1, BlockPool::kRootHash, t1), a);
  pool.acquire(a);  // a prefix hit takes it off the free list
  EXPECT_EQ(pool.num_free(), 0);
  EXPECT_TRUE(pool.check_invariants());
}

TEST(BlockPoolTest, DisabledCacheNeverMatches) {
  BlockPool pool(2, 2, false);
  std::vector<int32_t> t = {1, 2};
  uint64_t h = BlockPool::hash_block(BlockPool::kRootHash, t);
  int32_t a = pool.allocate();
  pool.commit(a, h, BlockPool::kRootHash, t);
  pool.release(a);
  EXPECT_FALSE(pool.lookup(h, BlockPool::kRootHash, t));
  EXPECT_EQ(pool.num_cached_free(), 0);
}

TEST(BlockPoolTest, HashDependsOnParentAndOrder) {
  std::vector<int32_t> t = {1, 2}, r = {2, 1};
  EXPECT_NE(BlockPool::hash_block(1, t), BlockPool::hash_block(2, t));
  EXPECT_NE(BlockPool::hash_block(1, t), BlockPool::hash_block(1, r));
}

}  // namespace
}  // namespace yun
