#include "yun/serve/admin_query.h"

#include "yun/tenancy/utc_time.h"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace yun::serve {

// Query parameters of a target ("/x?a=1&b=%20"): '+' and %XX decoded; a
// malformed escape is kept as is.
std::map<std::string, std::string> query_params(const std::string& target) {
  std::map<std::string, std::string> out;
  size_t q = target.find('?');
  if (q == std::string::npos) return out;
  auto decode = [](std::string_view s) {
    std::string o;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        o += ' ';
      } else if (s[i] == '%' && i + 2 < s.size() &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        o += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        o += s[i];
      }
    }
    return o;
  };
  std::string_view rest(target);
  rest.remove_prefix(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    size_t eq = kv.find('=');
    std::string k = decode(kv.substr(0, eq));
    std::string v = eq == std::string_view::npos ? "" : decode(kv.substr(eq + 1));
    if (!k.empty()) out[k] = v;
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

// A UTC day "YYYY-MM-DD" or unix seconds -> unix ms; nullopt when neither.
std::optional<int64_t> parse_time(const std::string& s) {
  if (s.size() == 10 && s[4] == '-' && s[7] == '-') return tenancy::parse_utc_day(s);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v > 1'000'000'000'000) {
    return std::nullopt;
  }
  return v * 1000;
}

// Reads the usage query from parameters; an error names the parameter.
std::optional<ApiError> usage_query(const std::map<std::string, std::string>& p,
                                    tenancy::UsageQuery& q, bool& csv) {
  for (auto& [k, v] : p) {
    if (k == "tenant") {
      q.tenant_id = v;
    } else if (k == "key") {
      q.key_id = v;
    } else if (k == "model") {
      q.model = v;
    } else if (k == "from" || k == "to") {
      auto t = parse_time(v);
      if (!t) return bad_request(k + " must be unix seconds or YYYY-MM-DD", k);
      (k == "from" ? q.from_ms : q.to_ms) = *t;
    } else if (k == "group_by") {
      size_t start = 0;
      while (start <= v.size()) {
        size_t comma = v.find(',', start);
        std::string g = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (g == "day") {
          q.bucket = tenancy::UsageQuery::kDay;
        } else if (g == "hour") {
          q.bucket = tenancy::UsageQuery::kHour;
        } else if (g == "key") {
          q.by_key = true;
        } else if (g != "tenant" && g != "model" && !g.empty()) {
          return bad_request("group_by takes day, hour, key (comma-separated)", "group_by");
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (k == "format") {
      if (v != "json" && v != "csv") return bad_request("format must be json or csv", "format");
      csv = v == "csv";
    } else {
      return bad_request("unknown query parameter " + k, k);
    }
  }
  return std::nullopt;
}

}  // namespace yun::serve
