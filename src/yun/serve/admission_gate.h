// AdmissionGate: a counter of admitted requests with a hard limit, taken
// atomically at admission, so that a burst of requests arriving between two
// engine steps cannot overshoot it (an engine stats snapshot lags by a step).
//
// `yun serve --max-waiting N` holds one ticket per generation request from
// admission until the request has produced its first token (or ended): at
// most N requests wait at once, and each request over that gets 429 with
// Retry-After. Per-tenant concurrency limits reuse the same type with the
// ticket held until the request ends.
//
// Thread-safe; tickets may be released on any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

namespace yun::serve {

class AdmissionGate {
 public:
  // limit < 0: unlimited (every try_admit succeeds, still counted).
  explicit AdmissionGate(int64_t limit) : limit_(limit) {}
  AdmissionGate(const AdmissionGate&) = delete;
  AdmissionGate& operator=(const AdmissionGate&) = delete;

  // A held slot; releases it when destroyed or on release() (once).
  class Ticket {
   public:
    Ticket() = default;
    explicit Ticket(AdmissionGate* gate) : gate_(gate) {}
    Ticket(Ticket&& o) noexcept : gate_(o.gate_) { o.gate_ = nullptr; }
    Ticket& operator=(Ticket&& o) noexcept {
      if (this != &o) {
        release();
        gate_ = o.gate_;
        o.gate_ = nullptr;
      }
      return *this;
    }
    ~Ticket() { release(); }
    void release() {
      if (gate_) gate_->count_.fetch_sub(1, std::memory_order_acq_rel);
      gate_ = nullptr;
    }
    bool held() const { return gate_ != nullptr; }

   private:
    AdmissionGate* gate_ = nullptr;
  };

  // A ticket when fewer than `limit` are held; nullopt (nothing taken) else.
  std::optional<Ticket> try_admit() {
    int64_t cur = count_.load(std::memory_order_relaxed);
    do {
      if (limit_ >= 0 && cur >= limit_) return std::nullopt;
    } while (!count_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel));
    return Ticket(this);
  }

  int64_t held() const { return count_.load(std::memory_order_relaxed); }
  int64_t limit() const { return limit_; }

 private:
  const int64_t limit_;
  std::atomic<int64_t> count_{0};
};

}  // namespace yun::serve
