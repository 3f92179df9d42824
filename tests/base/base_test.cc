// Tests for base/: Status/Result, ThreadPool, UTF-8 helpers, half conversions.
// Run: build/tests/yun_base_tests
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <atomic>
#include <cmath>

#include "yun/base/half.h"
#include "yun/base/status.h"
#include "yun/base/thread_pool.h"
#include "yun/base/utf8.h"

namespace yun {
namespace {

Result<int> half_of(int x) {
  if (x % 2) return invalid_argument("odd");
  return x / 2;
}

Status twice_half(int x, int* out) {
  YUN_ASSIGN_OR_RETURN(int h, half_of(x));
  YUN_ASSIGN_OR_RETURN(int q, half_of(h));
  *out = q;
  return Status::ok();
}

TEST(Status, PropagatesErrors) {
  int out = 0;
  EXPECT_TRUE(twice_half(8, &out).is_ok());
  EXPECT_EQ(out, 2);
  Status s = twice_half(6, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.to_string(), "invalid_argument: odd");
}

TEST(ThreadPool, CoversRangeExactlyOnce) {
  ThreadPool pool(4);
  for (int64_t n : {1, 7, 100, 1001}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i]++;
    });
    for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  }
}

// Many back-to-back loops (the spinning hand-off), loops after the workers
// fell asleep (the futex path), and loops from several threads at once.
TEST(ThreadPool, BackToBackSleepingAndConcurrentCallers) {
  ThreadPool pool(3, /*spin_us=*/20);
  int64_t total = 0;
  for (int it = 0; it < 20000; ++it) {
    std::atomic<int64_t> sum{0};
    const int64_t n = 1 + it % 37;
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) sum += i;
    });
    ASSERT_EQ(sum.load(), n * (n - 1) / 2);
    if (it % 5000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    total += n;
  }
  EXPECT_GT(total, 0);
  std::atomic<int64_t> hits{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int it = 0; it < 2000; ++it)
        pool.parallel_for(64, [&](int64_t b, int64_t e) { hits += e - b; });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(hits.load(), 4 * 2000 * 64);
}

// Short and long loops alternating, more threads than cores: a worker that
// read the previous loop's ticket must never run a chunk once that loop has
// returned (it used to be able to, judging its stale index against the next
// loop's chunk count, and then miscount that loop's chunks).
TEST(ThreadPool, NoStaleChunkAfterReturn) {
  ThreadPool pool(4, /*spin_us=*/20);
  std::atomic<int64_t> active{-1}, stale{0};
  for (int64_t it = 0; it < 200000; ++it) {
    const int64_t n = it % 2 == 0 ? 2 : 16;
    std::atomic<int64_t> count{0};
    active.store(it);
    pool.parallel_for(n, [&active, &stale, &count, it](int64_t b, int64_t e) {
      if (active.load() != it) stale++;
      count += e - b;
    });
    active.store(-1);
    ASSERT_EQ(count.load(), n) << "iteration " << it;
  }
  EXPECT_EQ(stale.load(), 0);
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(3);
  std::atomic<int> total{0};
  pool.parallel_for(10, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) pool.parallel_for(5, [&](int64_t b2, int64_t e2) { total += int(e2 - b2); });
  });
  EXPECT_EQ(total.load(), 50);
}

TEST(Utf8, ValidatesAndHoldsBackIncomplete) {
  EXPECT_TRUE(is_valid_utf8("héllo 世界 🙂"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));        // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));    // surrogate
  std::string s = "ab\xE4\xB8";                    // incomplete 世
  EXPECT_EQ(utf8_complete_prefix(s), 2u);
  EXPECT_EQ(utf8_sanitize("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(utf8_sanitize("a\xE4\xB8"), "a\xEF\xBF\xBD");
}

TEST(Half, RoundTrips) {
  for (float f : {0.0f, 1.0f, -2.5f, 3.140625f, 65536.0f}) EXPECT_EQ(bf16_to_f32(f32_to_bf16(f)), f);
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7C00)));
}

}  // namespace
}  // namespace yun
