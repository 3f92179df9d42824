// Ledger: the background writer of usage records. record() never blocks
// and never touches the database: records queue in memory and one writer
// thread commits them in batched transactions (Store::append_usage), at
// least every flush_interval, so a record is committed within about that
// long of record() while the store is healthy.
//
// A failed batch (database locked, full or gone) stays queued and is retried
// with backoff (100 ms doubling to 2 s); meanwhile healthy() is false, and
// the server answers new generation requests 503 rather than serve unbilled.
// It turns true again after the next successful commit. Retries are exactly
// once: the store skips request ids it already holds.
//
// Destruction (and drain()) commits everything queued, waiting up to the
// given timeout for the store; records still uncommitted then are counted in
// stats().dropped and logged.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "yun/tenancy/store.h"

namespace yun::tenancy {

struct LedgerOptions {
  std::chrono::milliseconds flush_interval{100};
  size_t max_batch = 2000;  // records per transaction
  // Queued records past this: record() still queues (nothing is dropped),
  // but healthy() turns false so admission stops.
  size_t max_pending = 1'000'000;
};

struct LedgerStats {
  int64_t committed = 0;  // records committed
  int64_t pending = 0;    // queued, not committed
  int64_t batches = 0;    // successful transactions
  int64_t failures = 0;   // failed transactions
  int64_t dropped = 0;    // given up at shutdown
  bool healthy = true;
  std::string last_error;  // of the latest failure ("" after a success)
};

class Ledger {
 public:
  Ledger(Store* store, LedgerOptions options = {});
  ~Ledger();  // drain(5 s), then stops the writer
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  void record(UsageRecord r);  // any thread; never blocks on the database
  // Waits until every record given before the call is committed; false when
  // `timeout` passed first.
  bool flush(std::chrono::milliseconds timeout);
  // flush(timeout), then stops the writer; later record() calls are dropped.
  void drain(std::chrono::milliseconds timeout);
  bool healthy() const;
  LedgerStats stats() const;
  // Called on the writer thread with each committed batch (after commit;
  // flush() returns only after the callbacks of the records it waited for).
  void set_on_commit(std::function<void(std::span<const UsageRecord>)> f);

 private:
  void run();

  Store* store_;
  LedgerOptions options_;
  mutable std::mutex mu_;  // guards everything below; never held during a store call
  std::condition_variable cv_, flushed_cv_;
  std::deque<UsageRecord> queue_;
  int64_t enqueued_ = 0;   // records ever given to record()
  int64_t committed_ = 0;  // records ever committed (a prefix of the queue order)
  int flush_waiters_ = 0;  // flush() calls waiting: the writer commits at once
  LedgerStats stats_;
  bool stopping_ = false, stopped_ = false;
  std::function<void(std::span<const UsageRecord>)> on_commit_;
  std::thread writer_;
};

}  // namespace yun::tenancy
