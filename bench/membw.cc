// yun_bench_membw [--threads N] [--mib 1024] [--repeats 7]: memory read
// bandwidth (all threads summing a large buffer), printed as one JSON object.
#include "membw.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  int threads = 0, repeats = 7;
  size_t mib = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--mib"))
      mib = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--repeats"))
      repeats = std::atoi(argv[i + 1]);
  }
  yun::ThreadPool pool(threads);
  auto r = yun::bench::measure_read_bandwidth(pool, mib << 20, repeats);
  std::printf(
      "{\"bench\":\"membw\",\"threads\":%d,\"bytes\":%.0f,\"repeats\":%d,"
      "\"median_gbs\":%.2f,\"best_gbs\":%.2f}\n",
      r.threads, r.bytes, r.repeats, r.median_gbs, r.best_gbs);
  return 0;
}
