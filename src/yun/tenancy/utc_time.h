// The clock and calendar of tenancy: times are unix milliseconds, and the
// day a usage record counts in (its spend counter, a daily budget) is the
// UTC calendar day of its end time. One definition for the stores, the quota
// gate, the admin API's query strings and `yun admin`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace yun::tenancy {

int64_t unix_ms_now();
// "YYYY-MM-DD", the UTC calendar day of unix ms.
std::string utc_day(int64_t ms);
// Unix ms of the UTC midnight starting day "YYYY-MM-DD"; nullopt unless the
// text is exactly that shape and a real date (2026-02-30 is not).
std::optional<int64_t> parse_utc_day(std::string_view day);

}  // namespace yun::tenancy
