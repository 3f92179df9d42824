#include "yun/base/thread_pool.h"

#include <algorithm>

namespace yun {

namespace {
thread_local bool tls_in_worker = false;
}

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads <= 0) num_threads = hardware_threads();
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker_loop(int) {
  tls_in_worker = true;
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_work_.wait(lk, [&] { return stop_ || (generation_ != seen && next_chunk_ < num_chunks_); });
    if (stop_) return;
    seen = generation_;
    while (next_chunk_ < num_chunks_) {
      int64_t c = next_chunk_++;
      const auto* fn = fn_;
      int64_t b = c * chunk_, e = std::min(n_, b + chunk_);
      lk.unlock();
      (*fn)(b, e);
      lk.lock();
      if (++chunks_done_ == num_chunks_) cv_done_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int threads = num_threads();
  if (workers_.empty() || tls_in_worker || n <= grain) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> run_lk(run_mu_);
  // Nested parallel_for calls from fn on this thread run inline too.
  struct InRegion {
    InRegion() { tls_in_worker = true; }
    ~InRegion() { tls_in_worker = false; }
  } in_region;
  // A few chunks per thread balance uneven work without much overhead.
  int64_t target_chunks = std::min<int64_t>((n + grain - 1) / grain, int64_t(threads) * 4);
  int64_t chunk = (n + target_chunks - 1) / target_chunks;
  std::unique_lock<std::mutex> lk(mu_);
  fn_ = &fn;
  n_ = n;
  chunk_ = chunk;
  num_chunks_ = (n + chunk - 1) / chunk;
  next_chunk_ = 0;
  chunks_done_ = 0;
  ++generation_;
  cv_work_.notify_all();
  while (next_chunk_ < num_chunks_) {
    int64_t c = next_chunk_++;
    int64_t b = c * chunk_, e = std::min(n_, b + chunk_);
    lk.unlock();
    fn(b, e);
    lk.lock();
    ++chunks_done_;
  }
  cv_done_.wait(lk, [&] { return chunks_done_ == num_chunks_; });
  fn_ = nullptr;
}

}  // namespace yun
