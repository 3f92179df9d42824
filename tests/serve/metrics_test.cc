// Metrics: vLLM's series names, label sets and derived per-request timings
// (queue / prefill / decode / inference, TPOT) from a sample's final engine
// event; vllm:cache_config_info from EngineStats; vLLM's 1-2-5 buckets.
// Run: build/tests/yun_serve_tests --gtest_filter='Metrics*'
#include "yun/serve/metrics.h"

#include <gtest/gtest.h>

namespace yun::serve {
namespace {

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(MetricsTest, OneTwoFiveBuckets) {
  EXPECT_EQ(buckets_1_2_5(100), (std::vector<double>{1, 2, 5, 10, 20, 50, 100}));
  EXPECT_EQ(buckets_1_2_5(4), (std::vector<double>{1, 2}));
}

TEST(MetricsTest, FinishedSampleTimingsAndTokens) {
  Metrics m("m", 1000);
  RequestEvent ev;
  ev.time_since_submit = 1.0;
  ev.queue_time = 0.25;
  ev.first_token_time = 0.5;
  ev.usage.prompt_tokens = 30;
  ev.usage.completion_tokens = 6;
  m.count_finished("tool_calls", ev);  // counted as stop
  m.count_finished("abort");           // no event: counter only
  EngineStats s;
  s.block_size = 16;
  s.num_kv_blocks = 1234;
  s.prefix_cache_enabled = true;
  std::string t = m.render(s);
  EXPECT_TRUE(has(t,
                  "vllm:cache_config_info{block_size=\"16\",cache_dtype=\"auto\","
                  "enable_prefix_caching=\"True\",engine=\"0\",num_cpu_blocks=\"None\","
                  "num_gpu_blocks=\"1234\"} 1"))
      << t;
  EXPECT_TRUE(has(t, "vllm:request_success_total{model_name=\"m\",finished_reason=\"stop\"} 1"));
  EXPECT_TRUE(has(t, "vllm:request_success_total{model_name=\"m\",finished_reason=\"abort\"} 1"));
  EXPECT_TRUE(has(t, "vllm:request_queue_time_seconds_sum{model_name=\"m\"} 0.25"));
  EXPECT_TRUE(has(t, "vllm:request_queue_time_seconds_count{model_name=\"m\"} 1"));
  EXPECT_TRUE(has(t, "vllm:request_prefill_time_seconds_sum{model_name=\"m\"} 0.25"));
  EXPECT_TRUE(has(t, "vllm:request_decode_time_seconds_sum{model_name=\"m\"} 0.5"));
  EXPECT_TRUE(has(t, "vllm:request_inference_time_seconds_sum{model_name=\"m\"} 0.75"));
  EXPECT_TRUE(has(t, "vllm:request_time_per_output_token_seconds_sum{model_name=\"m\"} 0.1"));
  EXPECT_TRUE(has(t, "vllm:request_prompt_tokens_sum{model_name=\"m\"} 30"));
  EXPECT_TRUE(has(t, "vllm:request_prompt_tokens_bucket{model_name=\"m\",le=\"20\"} 0"));
  EXPECT_TRUE(has(t, "vllm:request_prompt_tokens_bucket{model_name=\"m\",le=\"50\"} 1"));
  EXPECT_TRUE(has(t, "vllm:request_prompt_tokens_bucket{model_name=\"m\",le=\"1000\"} 1"));
  EXPECT_TRUE(has(t, "vllm:request_generation_tokens_sum{model_name=\"m\"} 6"));
  EXPECT_TRUE(has(t, "# TYPE vllm:request_queue_time_seconds histogram"));
  // The series every vLLM dashboard and the endpoint picker read.
  for (const char* name :
       {"vllm:num_requests_running{", "vllm:num_requests_waiting{", "vllm:kv_cache_usage_perc{",
        "vllm:prefix_cache_queries_total{", "vllm:prefix_cache_hits_total{",
        "vllm:time_to_first_token_seconds_bucket{", "vllm:inter_token_latency_seconds_bucket{",
        "vllm:e2e_request_latency_seconds_bucket{"}) {
    EXPECT_NE(t.find(name), std::string::npos) << name;
  }
}

TEST(MetricsTest, OneTokenHasNoTpot) {
  Metrics m("m");
  RequestEvent ev;
  ev.time_since_submit = 0.5;
  ev.queue_time = 0.1;
  ev.first_token_time = 0.5;
  ev.usage.completion_tokens = 1;
  m.count_finished("length", ev);
  std::string t = m.render(EngineStats{});
  EXPECT_TRUE(has(t, "vllm:request_time_per_output_token_seconds_count{model_name=\"m\"} 0"));
  EXPECT_TRUE(has(t, "vllm:request_decode_time_seconds_count{model_name=\"m\"} 1"));
}

}  // namespace
}  // namespace yun::serve
