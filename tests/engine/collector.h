// Collector: gathers a test's RequestEvents per (request id, sample index)
// from engine sinks (any thread), checks that nothing follows a sample's
// final event, and waits for a number of finished samples.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "yun/engine/engine.h"

namespace yun::test {

struct Collected {
  std::vector<int32_t> ids;
  std::string text;
  std::optional<FinishReason> finish;
  std::string stop_reason;
  Usage usage;
  std::vector<TokenLogprob> logprobs;
  Status error;
};

class Collector {
 public:
  RequestSink sink() {
    return [this](const RequestEvent& e) {
      std::lock_guard<std::mutex> lk(mu_);
      Collected& c = m_[{e.request_id, e.index}];
      EXPECT_FALSE(c.finish.has_value()) << "event after the final one";
      c.ids.insert(c.ids.end(), e.token_ids.begin(), e.token_ids.end());
      c.text += e.text;
      c.logprobs.insert(c.logprobs.end(), e.logprobs.begin(), e.logprobs.end());
      c.usage = e.usage;
      if (e.finish) {
        c.finish = e.finish;
        c.stop_reason = e.stop_reason;
        c.error = e.error;
        ++finished_;
        cv_.notify_all();
      }
    };
  }
  // Waits until `n` samples have finished (fails after 60 s).
  void wait(int n) {
    std::unique_lock<std::mutex> lk(mu_);
    ASSERT_TRUE(cv_.wait_for(lk, std::chrono::seconds(60), [&] { return finished_ >= n; }))
        << finished_ << " of " << n << " finished";
  }
  Collected get(uint64_t id, int index = 0) {
    std::lock_guard<std::mutex> lk(mu_);
    return m_[{id, index}];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<uint64_t, int>, Collected> m_;
  int finished_ = 0;
};

}  // namespace yun::test
