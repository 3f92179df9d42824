#include "yun/base/thread_pool.h"

#include <algorithm>
#include <chrono>

#include "yun/base/thread_name.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define YUN_CPU_RELAX() _mm_pause()
#else
#define YUN_CPU_RELAX() std::this_thread::yield()
#endif

namespace yun {

namespace {
thread_local bool tls_in_worker = false;

// ticket_ = generation << 32 | number of chunks << 16 | next chunk index. The
// chunk count travels in the same word as the index it bounds: a worker that
// read an old ticket can never claim an index past its loop's end by
// comparing it with the count of a newer loop (that race let a stale claim
// run a finished loop's function and miscount the next loop's chunks).
constexpr int64_t kMaxChunks = 0xffff;
uint32_t gen_of(uint64_t ticket) { return uint32_t(ticket >> 32); }
int64_t chunks_of(uint64_t ticket) { return int64_t((ticket >> 16) & 0xffffu); }
int64_t index_of(uint64_t ticket) { return int64_t(ticket & 0xffffu); }

}  // namespace

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int num_threads, int spin_us) : spin_us_(std::max(0, spin_us)) {
  if (num_threads <= 0) num_threads = hardware_threads();
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

bool ThreadPool::wait_for_work(uint32_t gen) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::microseconds(spin_us_);
  for (int i = 0;; ++i) {
    if (stop_.load(std::memory_order_relaxed)) return false;
    if (generation_.load(std::memory_order_acquire) != gen) return true;
    YUN_CPU_RELAX();
    if ((i & 63) == 63 && Clock::now() >= deadline) break;
  }
  // Sleep. The caller bumps generation_ and then reads sleepers_; we add to
  // sleepers_ and then re-read generation_ (both seq_cst), so one of us sees
  // the other and no wake-up is lost.
  sleepers_.fetch_add(1);
  while (!stop_.load() && generation_.load() == gen) generation_.wait(gen);
  sleepers_.fetch_sub(1);
  return !stop_.load();
}

void ThreadPool::worker_loop() {
  tls_in_worker = true;
  set_current_thread_name("yun-compute");
  uint32_t seen = generation_.load();
  for (;;) {
    if (!wait_for_work(seen)) return;
    seen = generation_.load(std::memory_order_acquire);
    run_chunks(seen);
  }
}

void ThreadPool::run_chunks(uint32_t gen) {
  uint64_t t = ticket_.load(std::memory_order_acquire);
  for (;;) {
    if (gen_of(t) != gen) return;  // a later loop; its caller will publish it anew
    const int64_t c = index_of(t);
    if (c >= chunks_of(t)) return;
    if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
      continue;
    // Chunk c of generation gen is ours; the loop's fields stay valid until
    // every chunk has reported done.
    const auto* fn = fn_.load(std::memory_order_relaxed);
    const int64_t chunk = chunk_.load(std::memory_order_relaxed);
    const int64_t b = c * chunk, e = std::min(n_.load(std::memory_order_relaxed), b + chunk);
    (*fn)(b, e);
    chunks_done_.fetch_add(1, std::memory_order_acq_rel);
    t = ticket_.load(std::memory_order_acquire);
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
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
  const int64_t target_chunks = std::min<int64_t>(
      {(n + grain - 1) / grain, int64_t(num_threads()) * 4, kMaxChunks});
  const int64_t chunk = (n + target_chunks - 1) / target_chunks;
  const int64_t num_chunks = (n + chunk - 1) / chunk;
  fn_.store(&fn, std::memory_order_relaxed);
  n_.store(n, std::memory_order_relaxed);
  chunk_.store(chunk, std::memory_order_relaxed);
  chunks_done_.store(0, std::memory_order_relaxed);
  const uint32_t gen = generation_.load(std::memory_order_relaxed) + 1;
  ticket_.store(uint64_t(gen) << 32 | uint64_t(num_chunks) << 16, std::memory_order_release);
  generation_.store(gen);  // seq_cst: pairs with sleepers_ below
  if (sleepers_.load() > 0) generation_.notify_all();
  run_chunks(gen);
  for (int i = 0; chunks_done_.load(std::memory_order_acquire) < num_chunks; ++i) {
    if (i < 4096) {
      YUN_CPU_RELAX();
    } else {
      std::this_thread::yield();  // a worker was descheduled mid-chunk
    }
  }
}

}  // namespace yun
