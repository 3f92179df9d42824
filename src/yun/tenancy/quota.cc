#include "yun/tenancy/quota.h"

#include "yun/tenancy/utc_time.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace yun::tenancy {
namespace {

std::tm utc(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

// Seconds from `ms` to the start of the next UTC day / month.
int64_t seconds_to_next(int64_t ms, BudgetPeriod p) {
  std::tm tm = utc(ms);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  if (p == BudgetPeriod::kDay) {
    tm.tm_mday += 1;
  } else {
    tm.tm_mday = 1;
    tm.tm_mon += 1;
  }
  int64_t next = static_cast<int64_t>(timegm(&tm));
  return std::max<int64_t>(1, next - ms / 1000);
}

int64_t lookup(const std::unordered_map<std::string, int64_t>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

std::string seconds_text(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(ms) / 1000.0);
  return buf;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> RateHeaders::to_headers() const {
  std::vector<std::pair<std::string, std::string>> h;
  if (limit_requests) {
    h.push_back({"x-ratelimit-limit-requests", std::to_string(*limit_requests)});
    h.push_back({"x-ratelimit-remaining-requests", std::to_string(*remaining_requests)});
    h.push_back({"x-ratelimit-reset-requests", seconds_text(reset_requests_ms)});
  }
  if (limit_tokens) {
    h.push_back({"x-ratelimit-limit-tokens", std::to_string(*limit_tokens)});
    h.push_back({"x-ratelimit-remaining-tokens", std::to_string(*remaining_tokens)});
    h.push_back({"x-ratelimit-reset-tokens", seconds_text(reset_tokens_ms)});
  }
  return h;
}

QuotaGate::QuotaGate(Clock clock) : clock_(clock ? std::move(clock) : Clock(unix_ms_now)) {}

std::string QuotaGate::day_of(int64_t ms) { return utc_day(ms); }

std::string QuotaGate::month_of(int64_t ms) { return day_of(ms).substr(0, 7); }

QuotaGate::State& QuotaGate::state(const std::string& id) { return states_[id]; }

void QuotaGate::roll(State& s, int64_t now_s, const std::string& day, const std::string& month) {
  if (s.day != day) {
    s.day = day;
    s.settled_day = 0;
  }
  if (s.month != month) {
    s.month = month;
    s.settled_month = 0;
  }
  int i = static_cast<int>(now_s % kWindow);
  if (s.sec[i] != now_s) {
    s.sec[i] = now_s;
    s.req[i] = s.tok[i] = 0;
  }
}

int64_t QuotaGate::used_budget(const Subject& s, const State& st) const {
  switch (s.limits.budget_period) {
    case BudgetPeriod::kDay:
      return (others_.day == st.day ? lookup(others_.day_tokens, s.id) : 0) + st.settled_day +
             st.reserved;
    case BudgetPeriod::kMonth:
      return (others_.month == st.month ? lookup(others_.month_tokens, s.id) : 0) +
             st.settled_month + st.reserved;
    case BudgetPeriod::kTotal:
      break;
  }
  return lookup(others_.total_tokens, s.id) + st.settled_total + st.reserved;
}

std::optional<Rejection> QuotaGate::check(const Subject& s, State& st, int64_t reserve,
                                          int64_t now_s, RateHeaders* h) {
  const Limits& l = s.limits;
  const char* who = s.id.rfind("k:", 0) == 0 ? "this key" : "this tenant";
  // Window sums, oldest bucket first (for the time until room frees up).
  int64_t reqs = lookup(others_.minute_requests, s.id);
  int64_t toks = lookup(others_.minute_tokens, s.id);
  std::vector<std::pair<int64_t, int>> live;  // (second, bucket)
  for (int i = 0; i < kWindow; ++i) {
    if (st.sec[i] > now_s - kWindow && st.sec[i] != 0) {
      reqs += st.req[i];
      toks += st.tok[i];
      live.push_back({st.sec[i], i});
    }
  }
  std::sort(live.begin(), live.end());
  // Seconds until the window has dropped enough of `arr` to fit `need` under `limit`.
  auto wait_for = [&](const int64_t* arr, int64_t total, int64_t need, int64_t limit) {
    for (auto& [sec, i] : live) {
      total -= arr[i];
      if (total + need <= limit) return std::max<int64_t>(1, sec + kWindow - now_s);
    }
    return int64_t{1};
  };
  if (l.max_concurrent && st.in_flight + 1 > *l.max_concurrent) {
    return Rejection{Rejection::kRateLimited,
                     std::string("too many concurrent requests for ") + who + " (limit " +
                         std::to_string(*l.max_concurrent) + "); retry when one finishes",
                     1};
  }
  if (l.requests_per_minute && reqs + 1 > *l.requests_per_minute) {
    return Rejection{Rejection::kRateLimited,
                     std::string("rate limit reached for ") + who + ": " +
                         std::to_string(*l.requests_per_minute) + " requests per minute",
                     wait_for(st.req, reqs, 1, *l.requests_per_minute)};
  }
  if (l.tokens_per_minute && toks + reserve > *l.tokens_per_minute) {
    bool never = reserve > *l.tokens_per_minute;
    return Rejection{
        Rejection::kRateLimited,
        std::string("rate limit reached for ") + who + ": " +
            std::to_string(*l.tokens_per_minute) + " tokens per minute (this request reserves " +
            std::to_string(reserve) + " tokens: prompt + max_tokens" +
            (never ? "; lower max_tokens, it can never fit)" : ")"),
        never ? 0 : wait_for(st.tok, toks, reserve, *l.tokens_per_minute)};
  }
  if (l.token_budget) {
    int64_t used = used_budget(s, st);
    if (used + reserve > *l.token_budget) {
      int64_t retry = l.budget_period == BudgetPeriod::kTotal
                          ? 0
                          : seconds_to_next(clock_(), l.budget_period);
      return Rejection{Rejection::kInsufficientQuota,
                       std::string("token budget spent for ") + who + ": " +
                           std::to_string(used) + " of " + std::to_string(*l.token_budget) +
                           " tokens used or reserved this " +
                           budget_period_name(l.budget_period) + " period; this request reserves " +
                           std::to_string(reserve) + " (prompt + max_tokens)",
                       retry};
    }
  }
  if (h) {
    if (l.requests_per_minute) {
      int64_t rem = *l.requests_per_minute - reqs - 1;
      if (!h->remaining_requests || rem < *h->remaining_requests) {
        h->limit_requests = *l.requests_per_minute;
        h->remaining_requests = rem;
        h->reset_requests_ms = live.empty() ? 0 : (live[0].first + kWindow - now_s) * 1000;
      }
    }
    if (l.tokens_per_minute) {
      int64_t rem = *l.tokens_per_minute - toks - reserve;
      if (!h->remaining_tokens || rem < *h->remaining_tokens) {
        h->limit_tokens = *l.tokens_per_minute;
        h->remaining_tokens = rem;
        h->reset_tokens_ms = live.empty() ? 0 : (live[0].first + kWindow - now_s) * 1000;
      }
    }
  }
  return std::nullopt;
}

std::variant<Reservation, Rejection> QuotaGate::admit(const Subject& tenant, const Subject& key,
                                                      int64_t reserve_tokens, RateHeaders* headers) {
  int64_t now = clock_();
  int64_t now_s = now / 1000;
  std::string day = day_of(now), month = day.substr(0, 7);
  std::lock_guard<std::mutex> lock(mu_);
  State& ts = state(tenant.id);
  State& ks = state(key.id);
  roll(ts, now_s, day, month);
  roll(ks, now_s, day, month);
  if (auto r = check(tenant, ts, reserve_tokens, now_s, headers)) return *r;
  if (auto r = check(key, ks, reserve_tokens, now_s, headers)) return *r;
  int i = static_cast<int>(now_s % kWindow);
  for (State* s : {&ts, &ks}) {
    s->req[i] += 1;
    s->tok[i] += reserve_tokens;
    s->in_flight += 1;
    s->reserved += reserve_tokens;
  }
  return Reservation{tenant.id, key.id, reserve_tokens, now_s, day, month};
}

void QuotaGate::settle(const Reservation& r, int64_t actual_tokens) {
  int64_t now = clock_();
  std::string day = day_of(now), month = day.substr(0, 7);
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string* id : {&r.tenant, &r.key}) {
    State& s = state(*id);
    roll(s, now / 1000, day, month);
    int i = static_cast<int>(r.second % kWindow);
    if (s.sec[i] == r.second) s.tok[i] += actual_tokens - r.tokens;
    s.in_flight -= 1;
    s.reserved -= r.tokens;
    // Spend is counted in the period the request ends in (as the ledger's
    // per-day counters count it by end time).
    s.settled_day += actual_tokens;
    s.settled_month += actual_tokens;
    s.settled_total += actual_tokens;
  }
}

void QuotaGate::set_others(OthersUsage others) {
  std::lock_guard<std::mutex> lock(mu_);
  others_ = std::move(others);
}

}  // namespace yun::tenancy
