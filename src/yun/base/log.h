// Minimal leveled logging to stderr. YUN_LOG_LEVEL=debug|info|warn|error (default info).
#pragma once

#include <string>

namespace yun {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

bool log_enabled(LogLevel level);
void log_message(LogLevel level, const std::string& msg);

}  // namespace yun

#define YUN_LOG(level, msg)                                                        \
  do {                                                                             \
    if (::yun::log_enabled(::yun::LogLevel::level)) ::yun::log_message(::yun::LogLevel::level, (msg)); \
  } while (0)
