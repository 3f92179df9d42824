// The hybrid prefix cache's bookkeeping (engine/state_snapshots.h and
// BlockManager with snapshots): reserve -> commit -> find, pending slots
// freed by begin_step, LRU eviction that spares pinned snapshots, snapshots
// dropped with their evicted KV block, prefix matches that stop at the
// deepest snapshotted block, the captures planned at interval and
// prompt-end boundaries, and forks sharing up to a snapshot.
// Run: build/tests/yun_engine_tests --gtest_filter='StateSnapshots*'
#include "yun/engine/state_snapshots.h"

#include <gtest/gtest.h>

#include "yun/engine/block_manager.h"

namespace yun {
namespace {

TEST(StateSnapshotsTest, ReserveCommitFindEvict) {
  StateSnapshots none;
  EXPECT_FALSE(none.enabled());
  StateSnapshots s(/*first_slot=*/8, /*num=*/2, /*interval=*/4);
  EXPECT_TRUE(s.enabled());
  EXPECT_EQ(s.interval(), 4);
  const int32_t a = s.reserve(100);
  EXPECT_GE(a, 8);
  EXPECT_LT(a, 10);
  EXPECT_FALSE(s.find(100));  // pending: not findable
  s.commit(a);
  ASSERT_TRUE(s.find(100));
  EXPECT_EQ(*s.find(100), a);
  // A pending slot whose forward pass failed goes back at the next step.
  const int32_t b = s.reserve(200);
  EXPECT_NE(b, a);
  s.begin_step();
  EXPECT_FALSE(s.find(200));
  EXPECT_TRUE(s.check_invariants());
  const int32_t b2 = s.reserve(200);
  s.commit(b2);
  // Full: the least recently used goes (100, unless touched).
  s.touch(a);
  const int32_t c = s.reserve(300);
  EXPECT_EQ(c, b2);
  EXPECT_FALSE(s.find(200));
  EXPECT_EQ(s.num_evicted(), 1);
  s.commit(c);
  // Pinned snapshots are never evicted: with both pinned, no slot.
  s.pin(a);
  s.pin(c);
  EXPECT_EQ(s.reserve(400), -1);
  s.unpin(c);
  EXPECT_EQ(s.reserve(400), c);
  EXPECT_TRUE(s.find(100));
  s.commit(c);
  // Committed twice for one hash (two sequences, one step): the second frees.
  s.unpin(a);
  s.drop(100);
  EXPECT_FALSE(s.find(100));
  const int32_t d = s.reserve(400);
  s.commit(d);
  EXPECT_EQ(*s.find(400), c);
  EXPECT_TRUE(s.check_invariants());
  EXPECT_EQ(s.num_committed(), 1);
}

// A BlockManager over 16 blocks of 4 tokens with 2 state slots and 3
// snapshots (slots 2..4), one every 2 blocks.
struct Hybrid {
  BlockPool pool{16, 4, /*enable_prefix_cache=*/true};
  StateSlots slots{2};
  StateSnapshots snaps{2, 3, 2};
  BlockManager bm{pool, &slots, &snaps};
};

Sequence make_seq(std::vector<int32_t> tokens) {
  Sequence s;
  s.tokens = std::move(tokens);
  s.num_prompt_tokens = s.num_tokens();
  return s;
}

// Runs seq's whole prompt as one step, as the scheduler does: allocate,
// plan captures, (forward), commit.
std::vector<StateCapture> prefill(BlockManager& bm, Sequence& s) {
  const int32_t n = s.num_tokens() - s.num_computed;
  EXPECT_TRUE(bm.allocate_slots(s, n));
  std::vector<StateCapture> caps;
  bm.plan_captures(s, n, caps);
  s.num_computed += n;
  bm.commit_full_blocks(s);
  bm.commit_captures(s, caps);
  return caps;
}

TEST(StateSnapshotsTest, BlockManagerMatchesUpToTheDeepestSnapshot) {
  Hybrid h;
  std::vector<int32_t> t(23);
  for (int i = 0; i < 23; ++i) t[size_t(i)] = 10 + i;
  Sequence a = make_seq(t);
  // 23 tokens, blocks of 4: boundaries 8 and 16 (every 2 blocks) and 20
  // (the prompt's last full block before its last token: (23 - 1) / 4 = 5).
  std::vector<StateCapture> caps = prefill(h.bm, a);
  ASSERT_EQ(caps.size(), 3u);
  EXPECT_EQ(caps[0].rows, 8);
  EXPECT_EQ(caps[1].rows, 16);
  EXPECT_EQ(caps[2].rows, 20);
  EXPECT_EQ(h.snaps.num_committed(), 3);
  // The same prompt: matches 5 blocks (20 tokens) and restores the 20 one.
  Sequence b = make_seq(t);
  EXPECT_EQ(h.bm.match_prefix(b), 20);
  EXPECT_EQ(b.restore_slot, caps[2].slot);
  // A prompt that shares 14 tokens: the chain matches 3 blocks, the deepest
  // snapshot among them is at 8.
  std::vector<int32_t> u(t.begin(), t.begin() + 14);
  u.push_back(999);
  u.push_back(998);
  Sequence c = make_seq(u);
  EXPECT_EQ(h.bm.match_prefix(c), 8);
  EXPECT_EQ(c.restore_slot, caps[0].slot);
  EXPECT_EQ(c.block_table.size(), 2u);
  // Its step (deepest first): a capture at 16 (every 2 blocks; its own
  // block 3) evicts a's unpinned snapshot at 16; the one at 12 (its prompt
  // end, (16 - 1) / 4 = 3 blocks) finds no slot (b and c pin the others).
  ASSERT_TRUE(h.bm.allocate_slots(c, 8));
  std::vector<StateCapture> cc;
  h.bm.plan_captures(c, 8, cc);
  ASSERT_EQ(cc.size(), 1u);
  EXPECT_EQ(cc[0].rows, 8);
  EXPECT_EQ(h.snaps.num_evicted(), 1);
  h.bm.commit_captures(c, {});
  EXPECT_EQ(c.restore_slot, -1);
  h.bm.free(c);
  h.bm.free(a);
  h.bm.free(b);
  EXPECT_TRUE(h.pool.check_invariants());
  EXPECT_TRUE(h.snaps.check_invariants());
  // Without snapshots a hybrid never hits (the state at the boundary is gone).
  BlockPool pool(16, 4, true);
  StateSlots slots(2);
  BlockManager plain(pool, &slots);
  Sequence x = make_seq(t);
  prefill(plain, x);
  plain.free(x);
  Sequence y = make_seq(t);
  EXPECT_EQ(plain.match_prefix(y), 0);
}

TEST(StateSnapshotsTest, EvictingASnapshottedBlockDropsItsSnapshot) {
  Hybrid h;
  std::vector<int32_t> t(9);
  for (int i = 0; i < 9; ++i) t[size_t(i)] = i + 1;
  Sequence a = make_seq(t);
  prefill(h.bm, a);  // a snapshot at 8
  ASSERT_EQ(h.snaps.num_committed(), 1);
  h.bm.free(a);
  // Take every block: the cached ones are evicted, their snapshots with them.
  std::vector<int32_t> held;
  while (h.pool.num_free() > 0) held.push_back(h.pool.allocate());
  EXPECT_EQ(h.snaps.num_committed(), 0);
  EXPECT_TRUE(h.snaps.check_invariants());
  for (int32_t id : held) h.pool.release(id);
  Sequence b = make_seq(t);
  EXPECT_EQ(h.bm.match_prefix(b), 0);
  EXPECT_EQ(b.restore_slot, -1);
}

TEST(StateSnapshotsTest, ForksShareUpToASnapshotAndPinIt) {
  Hybrid h;
  std::vector<int32_t> t(11);
  for (int i = 0; i < 11; ++i) t[size_t(i)] = 50 + i;
  Sequence parent = make_seq(t);
  prefill(h.bm, parent);  // snapshot at 8 (interval and prompt end)
  Sequence child = make_seq(t);
  EXPECT_EQ(h.bm.share_prompt_blocks(parent, child), 8);
  EXPECT_EQ(child.block_table.size(), 2u);
  ASSERT_GE(child.restore_slot, 0);
  // Pinned: filling the table evicts the others, never this one.
  for (uint64_t k = 0; k < 5; ++k) {
    const int32_t s = h.snaps.reserve(1000 + k);
    if (s >= 0) h.snaps.commit(s);
  }
  EXPECT_TRUE(h.snaps.find(parent.block_hashes[1]));
  h.bm.free(child);  // unpins
  EXPECT_EQ(child.restore_slot, -1);
  h.bm.free(parent);
  EXPECT_TRUE(h.snaps.check_invariants());
}

}  // namespace
}  // namespace yun
