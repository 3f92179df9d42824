// ThreadPool: a fixed set of worker threads for data-parallel loops.
//
// parallel_for splits [0, n) into contiguous chunks, runs fn(begin, end) on the
// workers and the calling thread, and returns when all chunks are done. Calls
// from several threads at once are serialized (one loop runs at a time); a
// parallel_for called from inside a worker or from inside fn runs inline.
//
// Hand-off is lock-free: a loop is published by bumping one atomic word (the
// generation in the high half; the loop's chunk count and the next chunk
// index in the low half, so that a claim is always checked against its own
// loop's count), and chunks are claimed by compare-and-swap on it (at most
// 65,535 chunks a loop). Idle workers spin for a short
// while (`spin_us`, ~50 µs by default) before sleeping on a futex
// (std::atomic::wait), because a decode step issues hundreds of small loops
// back to back (every matmul, attention, norm of every layer) and a condvar
// wake-up costs 10-50 µs each on a VM; the spin keeps a step's loops on warm
// threads, and the sleep keeps an idle server at 0% CPU.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace yun {

class ThreadPool {
 public:
  // num_threads <= 0: one per hardware thread. The calling thread counts as one.
  // spin_us: how long an idle worker polls for the next loop before sleeping.
  explicit ThreadPool(int num_threads = 0, int spin_us = 50);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(begin, end) over [0, n) in chunks of at least `grain` items
  // (the last may be shorter). Blocks until every chunk has run.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1);

 private:
  void worker_loop();
  // Claims and runs chunks of generation `gen` until none are left.
  void run_chunks(uint32_t gen);
  // Blocks until the generation differs from `gen` (spin, then futex); false on stop.
  bool wait_for_work(uint32_t gen);

  std::vector<std::thread> workers_;
  const int spin_us_;
  std::mutex run_mu_;  // serializes parallel_for calls
  // The published loop; written by the caller before `ticket_` is bumped.
  std::atomic<const std::function<void(int64_t, int64_t)>*> fn_{nullptr};
  std::atomic<int64_t> n_{0}, chunk_{0};
  // generation << 32 | number of chunks << 16 | next chunk index.
  std::atomic<uint64_t> ticket_{0};
  std::atomic<uint32_t> generation_{0};  // futex word for sleepers (== ticket_ >> 32)
  std::atomic<int64_t> chunks_done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
};

// Number of hardware threads (at least 1).
int hardware_threads();

}  // namespace yun
