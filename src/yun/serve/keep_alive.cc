#include "yun/serve/keep_alive.h"

#include <cctype>
#include <cmath>
#include <string>

namespace yun::serve {

Result<double> parse_keep_alive(std::string_view text) {
  auto bad = [&] {
    return invalid_argument("keep_alive '" + std::string(text) +
                            "' is not a duration (e.g. 5m, 30s, 1h30m, 0, -1; a number is seconds)");
  };
  std::string s;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  }
  if (s.empty()) return bad();
  bool negative = false;
  size_t i = 0;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    i = 1;
  }
  double total = 0;
  bool any = false;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start) return bad();
    double v = 0;
    try {
      v = std::stod(s.substr(start, i - start));
    } catch (...) {
      return bad();
    }
    size_t u = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string unit = s.substr(u, i - u);
    double mult = 0;
    if (unit.empty()) {
      if (any || i != s.size()) return bad();  // a bare number is the whole value
      mult = 1;
    } else if (unit == "h") {
      mult = 3600;
    } else if (unit == "m") {
      mult = 60;
    } else if (unit == "s") {
      mult = 1;
    } else if (unit == "ms") {
      mult = 1e-3;
    } else if (unit == "us" || unit == "µs") {
      mult = 1e-6;
    } else if (unit == "ns") {
      mult = 1e-9;
    } else {
      return bad();
    }
    total += v * mult;
    any = true;
  }
  if (!any || !std::isfinite(total)) return bad();
  if (negative && total > 0) return -1.0;
  return total;
}

Result<double> keep_alive_from_json(const nlohmann::ordered_json& value) {
  if (value.is_number()) {
    double v = value.get<double>();
    if (!std::isfinite(v)) return invalid_argument("keep_alive must be a finite number");
    return v < 0 ? -1.0 : v;
  }
  if (value.is_string()) return parse_keep_alive(value.get<std::string>());
  return invalid_argument("keep_alive must be a number of seconds or a duration string");
}

}  // namespace yun::serve
