#include "yun/base/log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace yun {

namespace {
LogLevel threshold() {
  static const LogLevel lvl = [] {
    const char* s = std::getenv("YUN_LOG_LEVEL");
    if (!s) return LogLevel::kInfo;
    if (!std::strcmp(s, "debug")) return LogLevel::kDebug;
    if (!std::strcmp(s, "warn")) return LogLevel::kWarn;
    if (!std::strcmp(s, "error")) return LogLevel::kError;
    return LogLevel::kInfo;
  }();
  return lvl;
}
}  // namespace

bool log_enabled(LogLevel level) { return level >= threshold(); }

void log_message(LogLevel level, const std::string& msg) {
  static std::mutex mu;
  static const char* names[] = {"debug", "info", "warn", "error"};
  std::lock_guard<std::mutex> lk(mu);
  std::fprintf(stderr, "[yun %s] %s\n", names[int(level)], msg.c_str());
}

}  // namespace yun
