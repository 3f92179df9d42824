// Ledger (ledger.h): one writer thread drains the queue in batches.
//
// The queue's front is the batch in flight: it is copied out under the
// mutex, committed without it, and popped only after the commit succeeded,
// so a failed batch is retried as it was (the store skips ids it already
// holds, which makes a retry after an unknown outcome exactly-once).
#include "yun/tenancy/ledger.h"

#include <algorithm>
#include <vector>

#include "yun/base/log.h"
#include "yun/base/thread_name.h"

namespace yun::tenancy {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2000};

}  // namespace

Ledger::Ledger(Store* store, LedgerOptions options) : store_(store), options_(options) {
  if (options_.max_batch == 0) options_.max_batch = 1;
  writer_ = std::thread([this] { run(); });
}

Ledger::~Ledger() { drain(std::chrono::seconds(5)); }

void Ledger::record(UsageRecord r, Committed committed) {
  std::unique_lock lock(mu_);
  if (stopped_ || stopping_) {
    ++stats_.dropped;
    YUN_LOG(kError, "ledger: usage record " + r.request_id + " given after shutdown was dropped");
    lock.unlock();
    if (committed) committed(false);
    return;
  }
  queue_.push_back(std::move(r));
  bool wake = queue_.size() == options_.max_batch;
  if (committed) {
    ++num_waiting_;
    wake = true;
  }
  waiters_.push_back({std::move(committed), std::chrono::steady_clock::now() + options_.commit_wait});
  ++enqueued_;
  if (wake) cv_.notify_one();
}

std::vector<Ledger::Committed> Ledger::expire_waiters(std::chrono::steady_clock::time_point now) {
  std::vector<Committed> out;
  for (auto& w : waiters_) {
    if (w.deadline > now) break;  // deadlines grow along the queue
    if (w.fn) {
      out.push_back(std::move(w.fn));
      w.fn = nullptr;
      --num_waiting_;
    }
  }
  return out;
}

bool Ledger::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const int64_t target = enqueued_;
  if (committed_ >= target) return true;
  ++flush_waiters_;
  cv_.notify_one();
  bool done = flushed_cv_.wait_for(lock, timeout, [&] { return committed_ >= target || stopped_; });
  --flush_waiters_;
  return done && committed_ >= target;
}

void Ledger::drain(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
  }
  flush(timeout);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::vector<Committed> told;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    if (!queue_.empty()) {
      stats_.dropped += static_cast<int64_t>(queue_.size());
      YUN_LOG(kError,
              "ledger: " + std::to_string(queue_.size()) +
                  " usage records could not be committed before shutdown: " + stats_.last_error);
      queue_.clear();
    }
    for (auto& w : waiters_) {
      if (w.fn) told.push_back(std::move(w.fn));
    }
    waiters_.clear();
    num_waiting_ = 0;
    flushed_cv_.notify_all();
  }
  for (auto& f : told) f(false);
}

bool Ledger::healthy() const {
  std::lock_guard lock(mu_);
  return stats_.healthy && queue_.size() <= options_.max_pending;
}

LedgerStats Ledger::stats() const {
  std::lock_guard lock(mu_);
  LedgerStats s = stats_;
  s.committed = committed_;
  s.pending = static_cast<int64_t>(queue_.size());
  s.healthy = stats_.healthy && queue_.size() <= options_.max_pending;
  return s;
}

void Ledger::set_on_commit(std::function<void(std::span<const UsageRecord>)> f) {
  std::lock_guard lock(mu_);
  on_commit_ = std::move(f);
}

void Ledger::run() {
  set_current_thread_name("yun-ledger");
  std::chrono::milliseconds backoff{0};
  std::vector<UsageRecord> batch;
  std::unique_lock lock(mu_);
  while (true) {
    if (backoff.count() > 0) {
      // After a failure: wait out the backoff (a stop ends it early), telling
      // the waiters whose commit_wait passed meanwhile.
      auto until = std::chrono::steady_clock::now() + backoff;
      while (!stopping_) {
        auto now = std::chrono::steady_clock::now();
        auto expired = expire_waiters(now);
        if (!expired.empty()) {
          lock.unlock();
          for (auto& f : expired) f(false);
          lock.lock();
          continue;
        }
        if (now >= until) break;
        auto next = until;
        for (auto& w : waiters_) {
          if (w.fn) {
            next = std::min(next, w.deadline);
            break;
          }
        }
        cv_.wait_until(lock, next, [&] { return stopping_; });
      }
    } else {
      cv_.wait_for(lock, options_.flush_interval, [&] {
        return stopping_ || queue_.size() >= options_.max_batch ||
               ((flush_waiters_ > 0 || num_waiting_ > 0) && !queue_.empty());
      });
    }
    if (stopping_) return;  // drain() flushed first; what is left counts as dropped
    if (queue_.empty()) continue;
    size_t n = std::min(queue_.size(), options_.max_batch);
    batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    lock.unlock();
    Status s = store_->append_usage(batch);
    lock.lock();
    if (!s.is_ok()) {
      ++stats_.failures;
      stats_.last_error = s.to_string();
      if (stats_.healthy) YUN_LOG(kWarn, "ledger: commit failed, retrying: " + s.to_string());
      stats_.healthy = false;
      backoff = backoff.count() == 0 ? kFirstBackoff : std::min(backoff * 2, kMaxBackoff);
      continue;
    }
    if (!stats_.healthy) YUN_LOG(kInfo, "ledger: commits work again");
    backoff = std::chrono::milliseconds(0);
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    std::vector<Committed> told;
    for (size_t i = 0; i < n; ++i) {
      if (waiters_[i].fn) {
        told.push_back(std::move(waiters_[i].fn));
        --num_waiting_;
      }
    }
    waiters_.erase(waiters_.begin(), waiters_.begin() + static_cast<std::ptrdiff_t>(n));
    ++stats_.batches;
    stats_.healthy = true;
    stats_.last_error.clear();
    auto on_commit = on_commit_;
    if (on_commit || !told.empty()) {
      lock.unlock();
      if (on_commit) on_commit(batch);
      for (auto& f : told) f(true);
      lock.lock();
    }
    // Counted after the callback, so flush() returns once it has seen them.
    committed_ += static_cast<int64_t>(n);
    flushed_cv_.notify_all();
  }
}

}  // namespace yun::tenancy
