// Byte counts as the CLI prints them ("9.8 MB", decimal units as
// huggingface-cli and Ollama show sizes): `yun list`, `yun ps`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace yun::cli {

inline std::string human_size(int64_t b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace yun::cli
