// Metrics: Prometheus text exposition with vLLM's metric names, each labeled
// model_name="<first served name>". Latency histograms and finish counters
// are recorded here by the request handlers (thread-safe); token counts,
// queue sizes and KV-cache usage come from the engine's EngineStats.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "yun/engine/engine.h"

namespace yun::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // Appends the _bucket/_sum/_count lines for `name` with `labels` ("k=\"v\"").
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  explicit Metrics(std::string model_name);

  void observe_ttft(double seconds) { ttft_.observe(seconds); }
  void observe_inter_token(double seconds) { itl_.observe(seconds); }
  void observe_e2e(double seconds) { e2e_.observe(seconds); }
  // `reason`: stop | length | abort | error | tool_calls (counted as stop).
  void count_finished(const std::string& reason);

  std::string render(const EngineStats& stats) const;

 private:
  std::string labels_;
  Histogram ttft_, itl_, e2e_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> finished_;
};

}  // namespace yun::serve
