// BlockPool's KV-cache event hook (set_record_events / take_events): every
// commit that makes a block findable is reported once as kStored (with its
// parent, or its chain's salt when first), every eviction of a committed
// block once as kRemoved, in order; no-op commits and plain evictions report
// nothing; with recording off nothing is kept. A random workload checks the
// replayed events against the pool's own view.
// Run: build/tests/yun_engine_tests --gtest_filter='BlockPoolEvents*'
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "yun/engine/block_pool.h"

namespace yun {
namespace {

using Kind = KvBlockEvent::Kind;

TEST(BlockPoolEventsTest, CommitAndEvictReportedOnceInOrder) {
  BlockPool pool(2, 2, true);
  pool.set_record_events(true);
  std::vector<int32_t> t1 = {1, 2}, t2 = {3, 4}, t3 = {5, 6};
  const uint64_t salt = 77;
  const uint64_t root = BlockPool::root_hash(salt);
  uint64_t h1 = BlockPool::hash_block(root, t1), h2 = BlockPool::hash_block(h1, t2);
  int32_t a = pool.allocate(), b = pool.allocate();
  pool.commit(a, h1, root, t1, &salt);
  pool.commit(b, h2, h1, t2);
  pool.commit(b, h2, h1, t2);  // already committed: nothing
  auto ev = pool.take_events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, Kind::kStored);
  EXPECT_EQ(ev[0].hash, h1);
  EXPECT_FALSE(ev[0].parent.has_value());
  EXPECT_EQ(ev[0].cache_salt, salt);
  EXPECT_EQ(ev[0].tokens, t1);
  EXPECT_EQ(ev[1].kind, Kind::kStored);
  EXPECT_EQ(ev[1].hash, h2);
  ASSERT_TRUE(ev[1].parent.has_value());
  EXPECT_EQ(*ev[1].parent, h1);
  EXPECT_EQ(ev[1].tokens, t2);
  EXPECT_TRUE(pool.take_events().empty());  // handed over once

  pool.release(b);
  pool.release(a);
  // Evicts b's hash first (LRU), then a's; a third block is plain: no event.
  int32_t c = pool.allocate();
  uint64_t h3 = BlockPool::hash_block(root, t3);
  pool.commit(c, h3, root, t3, &salt);
  int32_t d = pool.allocate();
  ev = pool.take_events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, Kind::kRemoved);
  EXPECT_EQ(ev[0].hash, h2);
  EXPECT_EQ(ev[1].kind, Kind::kStored);
  EXPECT_EQ(ev[1].hash, h3);
  EXPECT_EQ(ev[2].kind, Kind::kRemoved);
  EXPECT_EQ(ev[2].hash, h1);
  pool.release(d);
  d = pool.allocate();  // plain block again: nothing
  EXPECT_TRUE(pool.take_events().empty());
  (void)c;
}

TEST(BlockPoolEventsTest, DuplicateHashCommitReportsNothing) {
  BlockPool pool(2, 2, true);
  pool.set_record_events(true);
  std::vector<int32_t> t = {1, 2};
  uint64_t h = BlockPool::hash_block(BlockPool::kRootHash, t);
  int32_t a = pool.allocate(), b = pool.allocate();
  const uint64_t salt = 0;
  pool.commit(a, h, BlockPool::kRootHash, t, &salt);
  pool.commit(b, h, BlockPool::kRootHash, t, &salt);  // another block holds h
  EXPECT_EQ(pool.take_events().size(), 1u);
  pool.release(b);
  pool.release(a);
  pool.allocate();  // b (plain, front of the free list): nothing
  EXPECT_TRUE(pool.take_events().empty());
  pool.allocate();  // a: its hash removed once
  auto ev = pool.take_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::kRemoved);
}

TEST(BlockPoolEventsTest, OffRecordsNothing) {
  BlockPool pool(1, 2, true);
  std::vector<int32_t> t = {1, 2};
  int32_t a = pool.allocate();
  pool.commit(a, BlockPool::hash_block(BlockPool::kRootHash, t), BlockPool::kRootHash, t);
  pool.release(a);
  pool.allocate();
  EXPECT_FALSE(pool.has_events());
}

// Random allocate/commit/release: replaying the events gives exactly the set
// of hashes the pool can still find, and no hash is stored twice while
// stored or removed while not stored.
TEST(BlockPoolEventsTest, RandomWorkloadReplaysToThePoolsView) {
  BlockPool pool(8, 2, true);
  pool.set_record_events(true);
  std::mt19937 rng(7);
  std::vector<int32_t> held;
  std::map<uint64_t, std::vector<int32_t>> stored;  // hash -> tokens (the replayed model)
  std::map<uint64_t, std::pair<uint64_t, std::vector<int32_t>>> committed;  // what we committed
  for (int step = 0; step < 2000; ++step) {
    int op = rng() % 3;
    if (op == 0 && pool.num_free() > 0) {
      held.push_back(pool.allocate());
    } else if (op == 1 && !held.empty()) {
      int32_t blk = held[rng() % held.size()];
      std::vector<int32_t> toks = {static_cast<int32_t>(rng() % 4),
                                   static_cast<int32_t>(rng() % 4)};
      uint64_t parent = BlockPool::kRootHash;
      uint64_t h = BlockPool::hash_block(parent, toks);
      const uint64_t salt = 0;
      pool.commit(blk, h, parent, toks, &salt);
      committed[h] = {parent, toks};
    } else if (!held.empty()) {
      size_t i = rng() % held.size();
      pool.release(held[i]);
      held.erase(held.begin() + static_cast<long>(i));
    }
    for (const KvBlockEvent& e : pool.take_events()) {
      if (e.kind == Kind::kStored) {
        ASSERT_FALSE(stored.count(e.hash)) << "stored twice at step " << step;
        stored[e.hash] = e.tokens;
      } else {
        ASSERT_TRUE(stored.count(e.hash)) << "removed while not stored at step " << step;
        stored.erase(e.hash);
      }
    }
    ASSERT_TRUE(pool.check_invariants());
  }
  // The model holds exactly what lookup() still finds.
  for (const auto& [h, pt] : committed) {
    bool findable = pool.lookup(h, pt.first, pt.second).has_value();
    EXPECT_EQ(findable, stored.count(h) == 1) << h;
  }
  for (const auto& [h, toks] : stored) EXPECT_EQ(committed.at(h).second, toks);
}

}  // namespace
}  // namespace yun
