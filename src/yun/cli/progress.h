// ProgressBar: "[=====>    ] 37/100  12.3 req/s" on stderr, redrawn in place;
// silent unless stderr is a terminal. Use from one thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace yun::cli {

class ProgressBar {
 public:
  explicit ProgressBar(int64_t total);
  ~ProgressBar() { finish(); }
  // Sets the number of finished items and redraws (at most ~10 times a second).
  void update(int64_t done);
  // Draws the final state and ends the line (once).
  void finish();
  bool enabled() const { return enabled_; }

 private:
  void draw();
  int64_t total_, done_ = 0;
  bool enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace yun::cli
