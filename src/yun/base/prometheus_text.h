// Pieces of Prometheus' text exposition format shared by every /metrics
// writer (serve's engine metrics, tenancy's per-tenant counters).
#pragma once

#include <string>

namespace yun {

// A label value as the format wants it: backslash, double quote and newline escaped.
inline std::string prometheus_label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace yun
