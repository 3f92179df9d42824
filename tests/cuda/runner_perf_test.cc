// CudaRunnerPerf (perf mode only: YUN_CUDA_PERF=1): writes a synthetic Qwen3
// checkpoint with Qwen3-8B shapes (hidden 4096, 32/8 heads x 128, MLP 12288,
// real 151,936 vocab, tied) and YUN_CUDA_BENCH_LAYERS layers (default 4) to
// $TMPDIR, loads it on the GPU and times: the weight upload, a 2048-token
// prefill, and decode steps (CUDA graphs) at batch 1, 8, 32, 64 with 1024
// tokens of context each. Prints PERF lines (GB/s counts weights + KV read).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cuda/cuda_test_util.h"
#include "yun/compute/cuda/cuda_runner.h"
#include "yun/model/safetensors_writer.h"

namespace yun::cuda_test {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Dims {
  int64_t V = 151936, H = 4096, I = 12288, nq = 32, nkv = 8, hd = 128, L = 4;
};

Status write_model(const std::string& dir, const Dims& d) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << R"({"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",)"
      << R"("vocab_size": )" << d.V << R"(, "hidden_size": )" << d.H << R"(, "intermediate_size": )" << d.I
      << R"(, "num_hidden_layers": )" << d.L << R"(, "num_attention_heads": )" << d.nq
      << R"(, "num_key_value_heads": )" << d.nkv << R"(, "head_dim": )" << d.hd
      << R"(, "max_position_embeddings": 40960, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,)"
      << R"("tie_word_embeddings": true, "bos_token_id": 151643, "eos_token_id": 151645, "torch_dtype": "bfloat16"})";
  std::vector<TensorSpec> t;
  std::vector<bool> is_norm;
  auto add = [&](const std::string& n, std::vector<int64_t> shape, bool norm) {
    t.push_back({n, DType::kBF16, std::move(shape)});
    is_norm.push_back(norm);
  };
  add("model.embed_tokens.weight", {d.V, d.H}, false);
  add("model.norm.weight", {d.H}, true);
  for (int64_t i = 0; i < d.L; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {d.H}, true);
    add(p + "post_attention_layernorm.weight", {d.H}, true);
    add(p + "self_attn.q_proj.weight", {d.nq * d.hd, d.H}, false);
    add(p + "self_attn.k_proj.weight", {d.nkv * d.hd, d.H}, false);
    add(p + "self_attn.v_proj.weight", {d.nkv * d.hd, d.H}, false);
    add(p + "self_attn.o_proj.weight", {d.H, d.nq * d.hd}, false);
    add(p + "self_attn.q_norm.weight", {d.hd}, true);
    add(p + "self_attn.k_norm.weight", {d.hd}, true);
    add(p + "mlp.gate_proj.weight", {d.I, d.H}, false);
    add(p + "mlp.up_proj.weight", {d.I, d.H}, false);
    add(p + "mlp.down_proj.weight", {d.H, d.I}, false);
  }
  return write_safetensors(dir + "/model.safetensors", t, [&](size_t idx, size_t off, uint8_t* dst, size_t n) {
    uint16_t* o = reinterpret_cast<uint16_t*>(dst);
    uint64_t s = 0x9E3779B97F4A7C15ull ^ (idx * 1315423911ull) ^ off;
    for (size_t i = 0; i < n / 2; ++i) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      const float u = float(s >> 40) / float(1 << 24) - 0.5f;  // [-0.5, 0.5)
      o[i] = f32_to_bf16(is_norm[idx] ? 1.f + 0.2f * u : 0.04f * u);
    }
  });
}

TEST(CudaRunnerPerf, SyntheticQwen3) {
  YUN_SKIP_WITHOUT_GPU();
  if (!perf_mode()) GTEST_SKIP() << "perf only (YUN_CUDA_PERF=1)";
  Dims d;
  if (const char* l = std::getenv("YUN_CUDA_BENCH_LAYERS")) d.L = std::max(1, std::atoi(l));
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/yun-cuda-bench-" + std::to_string(getpid());
  double t0 = now_s();
  ASSERT_STATUS_OK(write_model(dir, d));
  const double t_write = now_s() - t0;
  CudaRunnerOptions opts;
  opts.auto_allocate_kv_cache = false;
  opts.max_num_tokens = 8192;
  t0 = now_s();
  auto r = create_cuda_runner(dir, opts);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const double t_load = now_s() - t0;
  ModelRunner& runner = **r;
  const double weight_bytes = 2.0 * (d.V * d.H + d.L * (d.H * (d.nq + 2 * d.nkv) * d.hd + d.H * d.nq * d.hd + 3 * d.H * d.I));
  std::printf("PERF %-16s %-34s %10.2f s  %9.1f GB/s (file written in %.1f s)\n", "load_weights",
              (std::to_string(d.L) + " layers, " + std::to_string(int(weight_bytes / 1e6)) + " MB").c_str(), t_load,
              weight_bytes / t_load * 1e-9, t_write);
  const int32_t bs = 16, ctx0 = 1024, max_b = 64, per_seq = (ctx0 + 64) / bs + 1;
  ASSERT_STATUS_OK(runner.allocate_kv_cache({per_seq * max_b + 1, bs}));
  Rng rng(42);
  auto seq_of = [&](ForwardBatch& b, int32_t n, int32_t ctx, int32_t seq_index) {
    SeqSlice s;
    s.token_start = b.total_tokens();
    s.num_tokens = n;
    s.context_len = ctx;
    for (int32_t k = 0; k * bs < ctx; ++k) s.block_table.push_back(seq_index * per_seq + k);
    for (int32_t i = 0; i < n; ++i) {
      b.token_ids.push_back(rng.randint(0, int(d.V) - 1));
      b.positions.push_back(ctx - n + i);
    }
    b.seqs.push_back(std::move(s));
  };
  std::vector<float> logits;
  const double params_flops = 2.0 * (weight_bytes / 2 - d.V * d.H);  // per token, without lm_head
  // Prefill: one 2048-token prompt (wall time of forward(), synchronous).
  {
    ForwardBatch b;
    seq_of(b, 2048, 2048, 0);
    b.logit_rows = {2047};
    std::vector<double> ts;
    for (int i = 0; i < 4; ++i) {
      t0 = now_s();
      ASSERT_STATUS_OK(runner.forward(b, logits));
      if (i > 0) ts.push_back(now_s() - t0);
    }
    std::sort(ts.begin(), ts.end());
    const double s = ts[ts.size() / 2];
    const double flops = params_flops * 2048 + 2.0 * d.H * d.V + 2.0 * d.L * d.nq * d.hd * 2048.0 * 2048.0;
    std::printf("PERF %-16s %-34s %10.2f us %9.1f tok/s %8.3f TFLOP/s\n", "prefill", "T=2048 (1 seq)", s * 1e6,
                2048 / s, flops / s * 1e-12);
  }
  // Fill every sequence's context (8 sequences per step).
  for (int32_t first = 0; first < max_b; first += 8) {
    ForwardBatch b;
    for (int32_t j = first; j < first + 8; ++j) seq_of(b, ctx0, ctx0, j);
    ASSERT_STATUS_OK(runner.forward(b, logits));
  }
  for (int32_t batch : {1, 8, 32, 64}) {
    std::vector<double> ts;
    for (int step = 0; step < 23; ++step) {
      ForwardBatch b;
      for (int32_t j = 0; j < batch; ++j) {
        seq_of(b, 1, ctx0 + 1 + step, j);
        b.logit_rows.push_back(j);
      }
      t0 = now_s();
      ASSERT_STATUS_OK(runner.forward(b, logits));
      if (step >= 3) ts.push_back(now_s() - t0);  // first steps: eager run + capture
    }
    std::sort(ts.begin(), ts.end());
    const double s = ts[ts.size() / 2];
    const double kv_bytes = double(batch) * (ctx0 + 12) * double(runner.kv_bytes_per_token());
    std::printf("PERF %-16s %-34s %10.2f us %9.1f GB/s %8.1f tok/s\n", "decode_step",
                ("batch " + std::to_string(batch) + ", ctx " + std::to_string(ctx0)).c_str(), s * 1e6,
                (weight_bytes + kv_bytes) / s * 1e-9, batch / s);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace yun::cuda_test
