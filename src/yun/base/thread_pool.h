// ThreadPool: a fixed set of worker threads for data-parallel loops.
//
// parallel_for splits [0, n) into contiguous chunks, runs fn(begin, end) on the
// workers and the calling thread, and returns when all chunks are done. Calls
// from several threads at once are serialized (one loop runs at a time); a
// parallel_for called from inside a worker runs inline.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace yun {

class ThreadPool {
 public:
  // num_threads <= 0: one per hardware thread. The calling thread counts as one.
  explicit ThreadPool(int num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(begin, end) over [0, n) in chunks of at least `grain` items
  // (the last may be shorter). Blocks until every chunk has run.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex run_mu_;  // serializes parallel_for calls
  std::mutex mu_;      // guards the fields below
  std::condition_variable cv_work_;
  std::condition_variable cv_done_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;  // GUARDED_BY(mu_)
  int64_t n_ = 0, chunk_ = 0, num_chunks_ = 0;                  // GUARDED_BY(mu_)
  int64_t next_chunk_ = 0;                                      // GUARDED_BY(mu_)
  int64_t chunks_done_ = 0;                                     // GUARDED_BY(mu_)
  uint64_t generation_ = 0;                                     // GUARDED_BY(mu_)
  bool stop_ = false;                                           // GUARDED_BY(mu_)
};

// Number of hardware threads (at least 1).
int hardware_threads();

}  // namespace yun
