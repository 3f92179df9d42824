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
// A record given with a `committed` callback is committed at once (group
// commit: the writer takes whatever is queued), and the callback runs on
// the writer thread after its transaction: true, or false when the store
// kept failing for `commit_wait` (the record stays queued and is retried).
// The server holds a response's last bytes until then, so a request whose
// response completed is billed even if the process is killed right after.
//
// Destruction (and drain()) commits everything queued, waiting up to the
// given timeout for the store; records still uncommitted then are counted in
// stats().dropped and logged (their callbacks get false).
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
  // How long a record's `committed` callback waits for a failing store.
  std::chrono::milliseconds commit_wait{1000};
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

  using Committed = std::function<void(bool committed)>;
  // Any thread; never blocks on the database. `committed` (may be empty):
  // see the header comment.
  void record(UsageRecord r, Committed committed = {});
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
  struct Waiter {
    Committed fn;  // empty: none (or already told false)
    std::chrono::steady_clock::time_point deadline;
  };
  std::deque<Waiter> waiters_;  // parallel to queue_
  int64_t num_waiting_ = 0;     // non-empty fns in waiters_
  // Takes the callbacks past their deadline (to be told false), under mu_.
  std::vector<Committed> expire_waiters(std::chrono::steady_clock::time_point now);
  int64_t enqueued_ = 0;   // records ever given to record()
  int64_t committed_ = 0;  // records ever committed (a prefix of the queue order)
  int flush_waiters_ = 0;  // flush() calls waiting: the writer commits at once
  LedgerStats stats_;
  bool stopping_ = false, stopped_ = false;
  std::function<void(std::span<const UsageRecord>)> on_commit_;
  std::thread writer_;
};

}  // namespace yun::tenancy
