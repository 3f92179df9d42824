#include "yun/serve/metrics.h"

#include "yun/base/prometheus_text.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace yun::serve {
namespace {

// The shortest text that reads back as `v` ("0.005", as vLLM's Python
// client writes bucket bounds, not "0.0050000000000000001").
std::string fmt(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}


void header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += name + "_bucket{" + labels + ",le=\"" + fmt(bounds_[i]) + "\"} " + std::to_string(cum) +
           "\n";
  }
  cum += counts_.back();
  out += name + "_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(cum) + "\n";
  out += name + "_sum{" + labels + "} " + fmt(sum_) + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(count_) + "\n";
}

std::vector<double> buckets_1_2_5(int64_t max_value) {
  std::vector<double> out;
  for (int64_t scale = 1;; scale *= 10) {
    for (int64_t m : {1, 2, 5}) {
      if (m * scale > max_value) return out;
      out.push_back(static_cast<double>(m * scale));
    }
  }
}

namespace {
const std::vector<double> kRequestLatencyBuckets = {
    0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
    30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
const std::vector<double> kTokenLatencyBuckets = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
                                                  0.3,  0.4,   0.5,  0.75,  1.0, 2.5,  5.0,
                                                  7.5,  10.0,  20.0, 40.0,  80.0};
}  // namespace

Metrics::Metrics(std::string model_name, int64_t max_model_len)
    : model_name_(model_name),
      labels_("model_name=\"" + prometheus_label(model_name) + "\""),
      ttft_({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
             1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}),
      itl_(kTokenLatencyBuckets),
      e2e_(kRequestLatencyBuckets),
      queue_(kRequestLatencyBuckets),
      prefill_(kRequestLatencyBuckets),
      decode_(kRequestLatencyBuckets),
      inference_(kRequestLatencyBuckets),
      tpot_(kTokenLatencyBuckets),
      prompt_tokens_(buckets_1_2_5(max_model_len > 0 ? max_model_len : int64_t{1} << 20)),
      generation_tokens_(buckets_1_2_5(max_model_len > 0 ? max_model_len : int64_t{1} << 20)) {
  for (const char* r : {"stop", "length", "abort", "error"}) finished_[r] = 0;
}

void Metrics::count_finished(const std::string& reason, const RequestEvent* ev) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++finished_[reason == "tool_calls" ? "stop" : reason];
  }
  if (!ev) return;
  // As vLLM's FinishedRequestStats: queued = submit -> first scheduled;
  // prefill = first scheduled -> first token; decode = first token -> end;
  // inference = first scheduled -> end; TPOT = decode / (tokens - 1).
  const double e2e = ev->time_since_submit;
  const double queued = ev->queue_time >= 0 ? ev->queue_time : e2e;
  const double first = ev->first_token_time >= 0 ? ev->first_token_time : e2e;
  queue_.observe(queued);
  prefill_.observe(std::max(0.0, first - queued));
  decode_.observe(std::max(0.0, e2e - first));
  inference_.observe(std::max(0.0, e2e - queued));
  prompt_tokens_.observe(ev->usage.prompt_tokens);
  generation_tokens_.observe(ev->usage.completion_tokens);
  if (ev->usage.completion_tokens > 1) {
    tpot_.observe(std::max(0.0, e2e - first) / (ev->usage.completion_tokens - 1));
  }
}

std::string Metrics::render(const EngineStats& s) const {
  std::string out;
  auto gauge = [&](const char* name, const char* help, double v) {
    header(out, name, "gauge", help);
    out += std::string(name) + "{" + labels_ + "} " + fmt(v) + "\n";
  };
  auto counter = [&](const std::string& base, const char* help, double v) {
    header(out, base + "_total", "counter", help);
    out += base + "_total{" + labels_ + "} " + fmt(v) + "\n";
  };
  // vLLM's info gauge (always 1): the CacheConfig as labels, which the
  // endpoint picker reads for block_size and num_gpu_blocks.
  header(out, "vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig");
  out += "vllm:cache_config_info{block_size=\"" + std::to_string(s.block_size) +
         "\",cache_dtype=\"auto\",enable_prefix_caching=\"" +
         (s.prefix_cache_enabled ? "True" : "False") +
         "\",engine=\"0\",num_cpu_blocks=\"None\",num_gpu_blocks=\"" +
         std::to_string(s.num_kv_blocks) + "\"} 1\n";
  gauge("vllm:num_requests_running", "Number of requests in model execution batches.",
        double(s.num_running));
  gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
        double(s.num_waiting));
  gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", s.kv_cache_usage);
  counter("vllm:prompt_tokens", "Number of prefill tokens processed.",
          double(s.prompt_tokens_total));
  counter("vllm:generation_tokens", "Number of generation tokens processed.",
          double(s.generation_tokens_total));
  counter("vllm:prefix_cache_queries",
          "Prefix cache queries, in terms of number of queried tokens.",
          double(s.prefix_cache_queries));
  counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.",
          double(s.prefix_cache_hits));
  counter("vllm:num_preemptions", "Cumulative number of preemptions from the engine.",
          double(s.num_preemptions));
  {
    std::lock_guard<std::mutex> lock(mu_);
    header(out, "vllm:request_success_total", "counter",
           "Count of successfully processed requests.");
    for (const auto& [reason, n] : finished_) {
      out += "vllm:request_success_total{" + labels_ + ",finished_reason=\"" + reason + "\"} " +
             std::to_string(n) + "\n";
    }
  }
  header(out, "vllm:time_to_first_token_seconds", "histogram",
         "Histogram of time to first token in seconds.");
  ttft_.render(out, "vllm:time_to_first_token_seconds", labels_);
  header(out, "vllm:inter_token_latency_seconds", "histogram",
         "Histogram of inter-token latency in seconds.");
  itl_.render(out, "vllm:inter_token_latency_seconds", labels_);
  header(out, "vllm:e2e_request_latency_seconds", "histogram",
         "Histogram of e2e request latency in seconds.");
  e2e_.render(out, "vllm:e2e_request_latency_seconds", labels_);
  struct Named {
    const char* name;
    const char* help;
    const Histogram& h;
  };
  for (const Named& n : {
           Named{"vllm:request_queue_time_seconds",
                 "Histogram of time spent in WAITING phase for request.", queue_},
           Named{"vllm:request_inference_time_seconds",
                 "Histogram of time spent in RUNNING phase for request.", inference_},
           Named{"vllm:request_prefill_time_seconds",
                 "Histogram of time spent in PREFILL phase for request.", prefill_},
           Named{"vllm:request_decode_time_seconds",
                 "Histogram of time spent in DECODE phase for request.", decode_},
           Named{"vllm:request_time_per_output_token_seconds",
                 "Histogram of time_per_output_token_seconds per request.", tpot_},
           Named{"vllm:request_prompt_tokens", "Number of prefill tokens processed.",
                 prompt_tokens_},
           Named{"vllm:request_generation_tokens", "Number of generation tokens processed.",
                 generation_tokens_},
       }) {
    header(out, n.name, "histogram", n.help);
    n.h.render(out, n.name, labels_);
  }
  return out;
}

}  // namespace yun::serve
