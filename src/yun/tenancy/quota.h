// QuotaGate: the limits of tenants and keys, decided in memory at admission.
//
// A request names two subjects, its tenant ("t:<id>") and its key
// ("k:<id>"), each with its own Limits (model.h). admit() checks every limit
// of both, then (only if all pass) reserves: one request in the per-minute
// window, `reserve_tokens` (prompt + max_tokens over the request's
// sequences) in the token window and against the budget, one concurrent
// slot. settle() replaces the reservation with the real count when the
// request ends (whatever ended it) and frees the slot.
//
//   requests_per_minute / tokens_per_minute: a sliding 60 s window of
//       one-second buckets (this replica's) plus other replicas' last minute
//       (set_others, from the store);
//   max_concurrent: requests admitted and not settled, this replica;
//   token_budget per day / month (UTC) / total: other replicas' committed
//       spend (set_others) + this replica's settled spend since start + what
//       is reserved in flight. So on one replica a budget is never exceeded;
//       across replicas each sees the others' spend as of its last sync.
//
// Over a limit: a Rejection, kRateLimited (429 rate_limit_exceeded, with the
// seconds until the window frees room) or kInsufficientQuota (429
// insufficient_quota: the budget is spent until the period resets).
// Thread-safe (one mutex; every call is O(limits), no I/O).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "yun/tenancy/model.h"

namespace yun::tenancy {

struct Subject {
  std::string id;  // "t:<tenant id>" or "k:<key id>"
  Limits limits;
};

struct Reservation {
  std::string tenant, key;  // subject ids
  int64_t tokens = 0;       // reserved
  int64_t second = 0;       // the window second it was counted in
  std::string day, month;   // the budget periods it was counted in
};

struct Rejection {
  enum Code { kRateLimited, kInsufficientQuota } code = kRateLimited;
  std::string message;
  int64_t retry_after_s = 1;  // 0: do not retry (no reset coming)
};

// OpenAI's x-ratelimit-* values for the most constrained subject.
struct RateHeaders {
  std::optional<int64_t> limit_requests, remaining_requests, limit_tokens, remaining_tokens;
  int64_t reset_requests_ms = 0, reset_tokens_ms = 0;
  // As HTTP headers (x-ratelimit-limit-requests, …, x-ratelimit-reset-tokens "1.5s").
  std::vector<std::pair<std::string, std::string>> to_headers() const;
};

// Other replicas' usage, from the store (all per subject).
struct OthersUsage {
  std::unordered_map<std::string, int64_t> minute_requests, minute_tokens;
  std::unordered_map<std::string, int64_t> day_tokens, month_tokens, total_tokens;
  std::string day, month;  // the periods day_tokens / month_tokens are of
};

class QuotaGate {
 public:
  using Clock = std::function<int64_t()>;  // unix milliseconds
  explicit QuotaGate(Clock clock = {});

  std::variant<Reservation, Rejection> admit(const Subject& tenant, const Subject& key,
                                             int64_t reserve_tokens, RateHeaders* headers = nullptr);
  // `actual_tokens`: prompt + completion tokens the engine counted.
  void settle(const Reservation& r, int64_t actual_tokens);
  void set_others(OthersUsage others);

  // UTC "YYYY-MM-DD" / "YYYY-MM" of a unix-ms time.
  static std::string day_of(int64_t ms);
  static std::string month_of(int64_t ms);
  int64_t now_ms() const { return clock_(); }

 private:
  static constexpr int kWindow = 60;
  struct State {
    int64_t sec[kWindow] = {};  // the second bucket i holds (0: empty)
    int64_t req[kWindow] = {}, tok[kWindow] = {};
    int64_t in_flight = 0;
    int64_t reserved = 0;  // budget tokens reserved in flight
    std::string day, month;
    int64_t settled_day = 0, settled_month = 0, settled_total = 0;  // this replica
  };
  State& state(const std::string& id);
  void roll(State& s, int64_t now_s, const std::string& day, const std::string& month);
  std::optional<Rejection> check(const Subject& s, State& st, int64_t reserve, int64_t now_s,
                                 RateHeaders* h);
  int64_t used_budget(const Subject& s, const State& st) const;

  Clock clock_;
  std::mutex mu_;
  std::unordered_map<std::string, State> states_;
  OthersUsage others_;
};

}  // namespace yun::tenancy
