// yun_bench_decode --model DIR [--threads N] [--tokens 64] [--prompt-len 512] [--bf16]
//                  [--no-mmap]
//
// End-to-end speed of the CPU runner (compute/model_runner.h): loads DIR,
// runs one prompt-len-token prefill (prefill tokens/s), then `tokens` batch-1
// decode steps (decode tokens/s), and measures the machine's read bandwidth in
// the same run (bench/membw.h) to report the fraction of the bandwidth bound:
//
//   bytes/token = all linear weights + one embedding row + lm_head (bf16: 2 B)
//                 (+ for a Qwen3.5 hybrid: the float32 recurrent states, 4 B)
//   bound tok/s = membw / bytes/token; frac = measured tok/s / bound tok/s
//
// e.g. Qwen2.5-0.5B: 24 layers * 14.9M + 136M (lm_head) params ~ 0.99 GB/token,
// so ~20 tok/s per 20 GB/s. Qwen3.5-0.8B (18 linear + 6 full layers, tied
// 248k x 1024 head): ~1.50 GB of weights + 18.9 MB of state per token. Also reports the time from main's entry to the
// first generated token (load + prefill + first decode step; run twice so the
// model files are in the page cache). --bf16: the runner's bf16-activation
// mode (`--dtype bfloat16`; faster prefill, not exact). --no-mmap: weights read
// into huge pages (CpuRunnerOptions::read_weights). Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "membw.h"
#include "yun/base/thread_pool.h"
#include "yun/compute/cpu/matmul.h"
#include "yun/compute/model_runner.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Bytes one decode step must read: the weights (bf16: 2 bytes each) and, for
// a Qwen3.5 hybrid, each linear-attention layer's float32 recurrent state
// (Hv x Dk x Dv, read once; its write-back and the tiny conv state are not
// counted, nor the KV cache, as for Qwen3).
double bytes_per_token(const yun::ModelConfig& c) {
  const double h = double(c.hidden_size);
  const double hd = double(c.head_dim > 0 ? c.head_dim : c.hidden_size / c.num_attention_heads);
  const double q = double(c.num_attention_heads) * hd, kv = double(c.num_key_value_heads) * hd;
  double mlp = 3.0 * h * double(c.intermediate_size);
  if (c.num_experts > 0)  // MoE: only the routed experts are read (router is small)
    mlp = 3.0 * h * double(c.moe_intermediate_size) * double(c.num_experts_per_tok) +
          h * double(c.num_experts) + (3.0 * double(c.shared_expert_intermediate_size) + 1.0) * h;
  const double full = h * q * (c.attn_output_gate ? 2.0 : 1.0) + 2.0 * h * kv + q * h;
  const double hk = double(c.linear_num_key_heads), dk = double(c.linear_key_head_dim);
  const double hv = double(c.linear_num_value_heads), dv = double(c.linear_value_head_dim);
  const double conv_c = 2.0 * hk * dk + hv * dv;
  // in_proj_qkv, in_proj_z, in_proj_b + in_proj_a, out_proj, the conv taps.
  const double linear = h * conv_c + h * hv * dv + 2.0 * h * hv + hv * dv * h +
                        conv_c * double(c.linear_conv_kernel_dim);
  double params = h /* embedding row */ + double(c.vocab_size) * h /* lm_head (tied or not) */;
  double state_bytes = 0;
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const bool is_full = c.full_attention_layers.empty() || c.is_full_attention_layer(i);
    params += mlp + (is_full ? full : linear);
    if (!is_full) state_bytes += 4.0 * hv * dk * dv;
  }
  return 2.0 * params + state_bytes;
}

}  // namespace

int main(int argc, char** argv) {
  const auto t_main = Clock::now();
  std::string model;
  int threads = 0, tokens = 64, prompt_len = 512;
  bool bf16 = false, read_weights = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--bf16")) {
      bf16 = true;
      continue;
    }
    if (!std::strcmp(argv[i], "--no-mmap")) {
      read_weights = true;
      continue;
    }
    if (i + 1 >= argc) break;
    if (!std::strcmp(argv[i], "--model"))
      model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--tokens"))
      tokens = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--prompt-len"))
      prompt_len = std::atoi(argv[i + 1]);
    ++i;
  }
  if (model.empty() || tokens < 1 || prompt_len < 1) {
    std::fprintf(stderr,
                 "usage: yun_bench_decode --model DIR [--threads N] [--tokens 64] "
                 "[--prompt-len 512] [--bf16] [--no-mmap]\n");
    return 2;
  }
  yun::CpuRunnerOptions opts;
  opts.num_threads = threads;
  opts.bf16_activations = bf16;
  opts.read_weights = read_weights;
  auto runner_or = yun::create_cpu_runner(model, opts);
  if (!runner_or.is_ok()) {
    std::fprintf(stderr, "load failed: %s\n", runner_or.status().to_string().c_str());
    return 1;
  }
  std::unique_ptr<yun::ModelRunner> runner = std::move(runner_or).value();
  const auto t_loaded = Clock::now();
  const yun::ModelConfig& cfg = runner->config();

  const int total = prompt_len + tokens;
  yun::KvCacheSpec spec;
  spec.block_size = 16;
  spec.num_blocks = (total + spec.block_size - 1) / spec.block_size + 1;
  if (auto st = runner->allocate_kv_cache(spec); !st.is_ok()) {
    std::fprintf(stderr, "kv cache: %s\n", st.to_string().c_str());
    return 1;
  }
  // One recurrent-state slot (hybrid models; a no-op for the others).
  if (auto st = runner->allocate_state_slots(1); !st.is_ok()) {
    std::fprintf(stderr, "state slots: %s\n", st.to_string().c_str());
    return 1;
  }
  std::vector<int32_t> blocks(spec.num_blocks);
  for (int i = 0; i < spec.num_blocks; ++i) blocks[i] = i;

  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> tok(
      0, int32_t(std::min<int64_t>(cfg.vocab_size, 100000)) - 1);
  std::vector<float> logits;
  auto argmax = [&] {
    return int32_t(std::max_element(logits.begin(), logits.begin() + cfg.vocab_size) -
                   logits.begin());
  };

  // Prefill.
  yun::ForwardBatch pre;
  for (int i = 0; i < prompt_len; ++i) {
    pre.token_ids.push_back(tok(rng));
    pre.positions.push_back(i);
  }
  pre.seqs.push_back({0, prompt_len, prompt_len, blocks, 0});
  pre.logit_rows = {prompt_len - 1};
  const auto t_pre0 = Clock::now();
  if (auto st = runner->forward(pre, logits); !st.is_ok()) {
    std::fprintf(stderr, "prefill: %s\n", st.to_string().c_str());
    return 1;
  }
  const auto t_pre1 = Clock::now();
  int32_t next = argmax();

  // Decode, batch 1 (greedy; content does not matter for speed).
  std::vector<double> step_s;
  Clock::time_point t_first_token;
  for (int t = 0; t < tokens; ++t) {
    yun::ForwardBatch b;
    b.token_ids = {next};
    b.positions = {prompt_len + t};
    b.seqs.push_back({0, 1, prompt_len + t + 1, blocks, 0});
    b.logit_rows = {0};
    auto s0 = Clock::now();
    if (auto st = runner->forward(b, logits); !st.is_ok()) {
      std::fprintf(stderr, "decode: %s\n", st.to_string().c_str());
      return 1;
    }
    auto s1 = Clock::now();
    next = argmax();
    if (t == 0) t_first_token = Clock::now();
    step_s.push_back(seconds_between(s0, s1));
  }
  double decode_total = 0;
  for (double s : step_s) decode_total += s;
  std::vector<double> sorted = step_s;
  std::sort(sorted.begin(), sorted.end());
  const double median_step = sorted[sorted.size() / 2];

  // Bandwidth with the same number of threads as the runner.
  yun::ThreadPool pool(threads);
  auto bw = yun::bench::measure_read_bandwidth(pool, size_t(1) << 30, 5);
  const double bytes_tok = bytes_per_token(cfg);
  const double bound_tps = bw.median_gbs * 1e9 / bytes_tok;
  const double decode_tps = tokens / decode_total;
  std::printf(
      "{\"bench\":\"decode\",\"model\":\"%s\",\"threads\":%d,\"kernel\":\"%s\",\"bf16\":%s,"
      "\"no_mmap\":%s,"
      "\"prompt_len\":%d,\"tokens\":%d,\"load_s\":%.3f,\"prefill_s\":%.3f,"
      "\"prefill_tps\":%.1f,\"decode_tps\":%.2f,\"decode_median_ms\":%.2f,"
      "\"decode_tps_median\":%.2f,\"weight_gb_per_token\":%.4f,\"membw_gbs\":%.2f,"
      "\"bound_tps\":%.2f,\"frac_of_bound\":%.3f,\"frac_of_bound_median\":%.3f,"
      "\"time_to_first_token_s\":%.3f}\n",
      model.c_str(), pool.num_threads(), yun::matmul_kernel_name(),
      bf16 && yun::matmul_bf16_supported() ? "true" : "false", read_weights ? "true" : "false",
      prompt_len, tokens, seconds_between(t_main, t_loaded), seconds_between(t_pre0, t_pre1),
      prompt_len / seconds_between(t_pre0, t_pre1), decode_tps, median_step * 1e3,
      1.0 / median_step, bytes_tok / 1e9, bw.median_gbs, bound_tps, decode_tps / bound_tps,
      (1.0 / median_step) / bound_tps, seconds_between(t_main, t_first_token));
  return 0;
}
