#include "yun/cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace yun::cli {

ProgressBar::ProgressBar(int64_t total)
    : total_(total),
      enabled_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  if (enabled_) draw();
}

void ProgressBar::update(int64_t done) {
  done_ = done;
  if (!enabled_ || finished_) return;
  auto now = std::chrono::steady_clock::now();
  if (done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw();
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  draw();
  std::fputc('\n', stderr);
  finished_ = true;
}

void ProgressBar::draw() {
  constexpr int kWidth = 30;
  int filled = total_ > 0 ? static_cast<int>(kWidth * done_ / total_) : kWidth;
  std::string bar(kWidth, ' ');
  for (int i = 0; i < filled && i < kWidth; ++i) bar[i] = '=';
  if (filled < kWidth) bar[filled] = '>';
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "\r[%s] %lld/%lld  %.1f req/s", bar.c_str(), static_cast<long long>(done_),
               static_cast<long long>(total_), secs > 0 ? done_ / secs : 0.0);
  std::fflush(stderr);
}

}  // namespace yun::cli
