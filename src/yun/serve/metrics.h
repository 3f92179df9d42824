// Metrics: Prometheus text exposition under vLLM v1's metric names, help
// texts, bucket bounds and label sets (vllm/v1/metrics/loggers.py), each
// series labeled model_name="<first served name>" (vLLM's served_model_name;
// vLLM's second label, engine="0", is left out: with one engine per process
// it says nothing and series keys stay what clients already match).
//
// Recorded by the request handlers (thread-safe): TTFT and inter-token
// latency as tokens arrive, the job's end-to-end latency, and per finished
// sample (count_finished with its final RequestEvent) the success counter by
// finished_reason, queue / prefill / decode / inference time, the mean time
// per output token and the prompt / generation token histograms. Token
// counters, queue sizes, KV-cache usage and vllm:cache_config_info come from
// the engine's EngineStats at render time.
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

// vLLM's build_1_2_5_buckets(max_value): 1, 2, 5, 10, 20, 50, ... <= max_value.
std::vector<double> buckets_1_2_5(int64_t max_value);

class Metrics {
 public:
  // `max_model_len` sizes the token-count histograms (as vLLM's); <= 0: 2^20.
  explicit Metrics(std::string model_name, int64_t max_model_len = 0);

  void observe_ttft(double seconds) { ttft_.observe(seconds); }
  void observe_inter_token(double seconds) { itl_.observe(seconds); }
  void observe_e2e(double seconds) { e2e_.observe(seconds); }
  // One sample ended. `reason`: stop | length | abort | error | tool_calls
  // (counted as stop). `final`, the sample's last engine event, carries its
  // timings and token counts (engine.h); null: only the counter moves.
  void count_finished(const std::string& reason, const RequestEvent* final = nullptr);
  void count_finished(const std::string& reason, const RequestEvent& final) {
    count_finished(reason, &final);
  }

  std::string render(const EngineStats& stats) const;

 private:
  std::string model_name_;
  std::string labels_;
  Histogram ttft_, itl_, e2e_;
  Histogram queue_, prefill_, decode_, inference_, tpot_;
  Histogram prompt_tokens_, generation_tokens_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> finished_;
};

}  // namespace yun::serve
