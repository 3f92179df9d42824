// Engine memory grows with the work, not with max_tokens, and goes back to
// the OS when the engine goes idle (engine.cc: no reserve of max_tokens,
// samples created at the fork, malloc_trim when idle).
// Run: build/tests/yun_engine_tests --gtest_filter='EngineMemory*'
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "engine/fake_runner.h"
#include "yun/engine/engine.h"

namespace yun::test {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;  // their allocators keep freed memory (quarantine)
#else
constexpr bool kSanitized = false;
#endif

constexpr int32_t kVocab = 101;
constexpr int64_t kMB = 1 << 20;

// Resident set size of this process (/proc/self/statm, field 2).
int64_t rss_bytes() {
  long size = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  std::fclose(f);
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

// Heap bytes handed out by malloc, touched or not (a reserve() counts here
// even when its pages are not resident yet).
int64_t heap_in_use() {
  struct mallinfo2 m = mallinfo2();
  return static_cast<int64_t>(m.uordblks + m.hblkhd);
}

class Finals {
 public:
  RequestSink sink() {
    return [this](const RequestEvent& e) {
      if (!e.finish) return;
      std::lock_guard<std::mutex> lk(mu_);
      ++finished_;
      cv_.notify_all();
    };
  }
  bool wait(int n) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, std::chrono::seconds(60), [&] { return finished_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int finished_ = 0;
};

// Waits until the engine trimmed after `trims` (it does so once idle, at
// most once a second).
bool wait_trim(Engine& e, int64_t trims) {
  for (int i = 0; i < 500; ++i) {
    EngineStats s = e.stats();
    if (s.memory_trims > trims && s.num_running + s.num_waiting == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(EngineMemoryTest, HugeMaxTokensCostNothingUpFrontAndMemoryIsReturned) {
  if (kSanitized) GTEST_SKIP() << "sanitizer allocators do not return memory like glibc";
  EngineConfig cfg;
  cfg.block_size = 16;
  cfg.num_kv_blocks = 64;
  cfg.max_num_seqs = 64;
  auto runner_owned = std::make_unique<FakeRunner>(kVocab, /*max_pos=*/32768);
  FakeRunner* runner = runner_owned.get();
  runner->step_delay_us = 200;
  auto created = Engine::create(cfg, std::move(runner_owned), nullptr);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  Engine& e = **created;
  SamplingParams p;
  p.temperature = 0;
  p.ignore_eos = true;
  p.max_tokens = 30000;

  Finals finals;
  {  // Warm up (sampler scratch, logits buffer, thread stacks), then idle.
    SamplingParams w = p;
    w.max_tokens = 4;
    ASSERT_TRUE(e.submit({{1, 2, 3}, w, finals.sink()}).is_ok());
    ASSERT_TRUE(finals.wait(1));
    ASSERT_TRUE(wait_trim(e, 0));
  }
  malloc_trim(0);
  const int64_t rss0 = rss_bytes(), heap0 = heap_in_use();
  const int64_t trims0 = e.stats().memory_trims;

  // 2000 samples with max_tokens 30000: 1000 requests with n = 1 and 10 with
  // n = 100 (a reserve of the context would be 2000 x 120 KB = 240 MB).
  std::vector<uint64_t> ids;
  for (int i = 0; i < 1010; ++i) {
    SamplingParams q = p;
    q.n = i < 1000 ? 1 : 100;
    std::vector<int32_t> prompt = {1 + i % 50, 2 + i % 7, 3, 4, 5, 6, 7, 8};
    auto r = e.submit({prompt, q, finals.sink()});
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ids.push_back(*r);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // some steps, some forks
  const int64_t rss1 = rss_bytes(), heap1 = heap_in_use();
  EXPECT_GT(e.stats().generation_tokens_total, 0);
  for (uint64_t id : ids) e.abort(id);
  ASSERT_TRUE(finals.wait(1 + 2000));
  ASSERT_TRUE(wait_trim(e, trims0));
  const int64_t rss2 = rss_bytes(), heap2 = heap_in_use();
  std::printf(
      "[ memory   ] rss MB: baseline %.1f, 2000 live samples %+.1f, after abort %+.1f; "
      "heap in use MB: %.1f, %+.1f, %+.1f\n",
      double(rss0) / kMB, double(rss1 - rss0) / kMB, double(rss2 - rss0) / kMB, double(heap0) / kMB,
      double(heap1 - heap0) / kMB, double(heap2 - heap0) / kMB);
  EXPECT_LT(rss1 - rss0, 50 * kMB);
  EXPECT_LT(heap1 - heap0, 50 * kMB);
  // Back near the baseline after the abort (the trim gave the pages back).
  EXPECT_LT(rss2 - rss0, 8 * kMB);
  EXPECT_LT(heap2 - heap0, 4 * kMB);
}

}  // namespace
}  // namespace yun::test
