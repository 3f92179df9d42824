// RequestWorkers: a few threads that take the CPU-heavy part of large
// requests (JSON parsing, chat templating, tokenizing a multi-megabyte body)
// off the HTTP io threads, so one big body never stalls every other
// connection served by the same io thread. Tasks run in FIFO order; the
// destructor finishes queued tasks and joins.
#pragma once

#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "yun/base/blocking_queue.h"
#include "yun/base/thread_name.h"

namespace yun::serve {

class RequestWorkers {
 public:
  explicit RequestWorkers(int threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] {
        set_current_thread_name("yun-req");
        while (auto task = queue_.pop()) (*task)();
      });
    }
  }
  ~RequestWorkers() {
    queue_.close();
    for (auto& t : threads_) t.join();
  }
  RequestWorkers(const RequestWorkers&) = delete;
  RequestWorkers& operator=(const RequestWorkers&) = delete;

  void post(std::function<void()> task) { queue_.push(std::move(task)); }

 private:
  BlockingQueue<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
};

}  // namespace yun::serve
