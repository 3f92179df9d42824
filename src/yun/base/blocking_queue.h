// BlockingQueue<T>: an unbounded multi-producer multi-consumer queue, the
// only way threads in yun hand each other work (IO threads <-> engine thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace yun {

template <typename T>
class BlockingQueue {
 public:
  void push(T v) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      q_.push_back(std::move(v));
    }
    cv_.notify_one();
  }
  // Blocks until an item is there or close() was called (then nullopt once empty).
  std::optional<T> pop() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return !q_.empty() || closed_; });
    return take_locked();
  }
  // Like pop() but gives up after `timeout` (nullopt).
  template <typename Rep, typename Period>
  std::optional<T> pop_for(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, timeout, [&] { return !q_.empty() || closed_; });
    return take_locked();
  }
  // Never blocks.
  std::optional<T> try_pop() {
    std::lock_guard<std::mutex> lk(mu_);
    return take_locked();
  }
  void close() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  size_t size() const {
    std::lock_guard<std::mutex> lk(mu_);
    return q_.size();
  }

 private:
  std::optional<T> take_locked() {
    if (q_.empty()) return std::nullopt;
    T v = std::move(q_.front());
    q_.pop_front();
    return v;
  }
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> q_;   // GUARDED_BY(mu_)
  bool closed_ = false;  // GUARDED_BY(mu_)
};

}  // namespace yun
