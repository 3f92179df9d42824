// The CPU ModelRunner: the Qwen2/Qwen3/Qwen3-MoE/Llama decoder in float32
// over a ragged batch and a paged float32 KV cache.
//
// Per step: embedding gather -> per layer [RMSNorm, q/k/v projections (+bias),
// Qwen3 q/k norm, RoPE, K/V into the cache, paged causal attention, o_proj,
// residual, RMSNorm, SwiGLU MLP or MoE, residual] -> final RMSNorm and lm_head
// on the logit rows only. Scratch buffers live in the runner and only grow.
#include <algorithm>
#include <cmath>

#include "yun/base/thread_pool.h"
#include "yun/compute/cpu/attention.h"
#include "yun/compute/cpu/convert.h"
#include "yun/compute/cpu/kv_cache.h"
#include "yun/compute/cpu/matmul.h"
#include "yun/compute/cpu/mlp.h"
#include "yun/compute/cpu/rms_norm.h"
#include "yun/compute/cpu/rope.h"
#include "yun/compute/model_runner.h"
#include "yun/model/gguf_model.h"
#include "yun/model/safetensors.h"
#include "yun/model/weights.h"

namespace yun {

namespace {

WeightMatrix matrix(const TensorView& t, MatmulPrecision precision) {
  WeightMatrix m;
  m.precision = precision;
  m.dtype = t.dtype;
  m.data = t.data;
  m.rows = t.shape.size() >= 1 ? t.shape[0] : 0;
  m.cols = t.shape.size() >= 2 ? t.shape[1] : 1;
  return m;
}

const float* ptr_or_null(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

template <typename T>
T* grow(std::vector<T>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
  return v.data();
}

// Small per-layer tensors converted to float32 once at load.
struct LayerF32 {
  std::vector<float> input_norm, post_norm, q_norm, k_norm;
  std::vector<float> q_bias, k_bias, v_bias, o_bias;
  std::vector<float> gate_bias, up_bias, down_bias;
  SwigluWeights mlp;
  MoeWeights moe;
  bool is_moe = false;
};

class CpuRunner final : public ModelRunner {
 public:
  CpuRunner(ModelConfig config, ModelWeights weights, const CpuRunnerOptions& options)
      : config_(std::move(config)),
        w_(std::move(weights)),
        pool_(options.num_threads),
        precision_(options.bf16_activations ? MatmulPrecision::kBF16 : MatmulPrecision::kFloat32) {
    rope_ = compute_rope_freqs(config_);
    final_norm_ = tensor_to_f32(w_.final_norm);
    layers_.resize(w_.layers.size());
    for (size_t i = 0; i < layers_.size(); ++i) {
      const LayerWeights& lw = w_.layers[i];
      LayerF32& l = layers_[i];
      l.input_norm = tensor_to_f32(lw.input_norm);
      l.post_norm = tensor_to_f32(lw.post_attention_norm);
      l.q_norm = tensor_to_f32(lw.q_norm);
      l.k_norm = tensor_to_f32(lw.k_norm);
      l.q_bias = tensor_to_f32(lw.q_bias);
      l.k_bias = tensor_to_f32(lw.k_bias);
      l.v_bias = tensor_to_f32(lw.v_bias);
      l.o_bias = tensor_to_f32(lw.o_bias);
      l.gate_bias = tensor_to_f32(lw.gate_bias);
      l.up_bias = tensor_to_f32(lw.up_bias);
      l.down_bias = tensor_to_f32(lw.down_bias);
      l.is_moe = !lw.router.empty();
      if (l.is_moe) {
        // The router stays float32 in bf16 mode: rounding flips near-tied
        // expert choices, a jump in the output rather than a small error.
        l.moe.router = matrix(lw.router, MatmulPrecision::kFloat32);
        l.moe.top_k = config_.num_experts_per_tok;
        l.moe.norm_topk_prob = config_.norm_topk_prob;
        for (size_t e = 0; e < lw.expert_gate.size(); ++e) {
          SwigluWeights sw;
          sw.gate = mat(lw.expert_gate[e]);
          sw.up = mat(lw.expert_up[e]);
          sw.down = mat(lw.expert_down[e]);
          l.moe.experts.push_back(sw);
        }
      } else {
        l.mlp.gate = mat(lw.gate_proj);
        l.mlp.up = mat(lw.up_proj);
        l.mlp.down = mat(lw.down_proj);
        l.mlp.gate_bias = ptr_or_null(l.gate_bias);
        l.mlp.up_bias = ptr_or_null(l.up_bias);
        l.mlp.down_bias = ptr_or_null(l.down_bias);
      }
    }
  }

  const ModelConfig& config() const override { return config_; }
  std::string device_name() const override { return "cpu"; }

  size_t kv_bytes_per_token() const override {
    return size_t(2 * config_.num_hidden_layers * config_.kv_size()) * sizeof(float);
  }

  Status allocate_kv_cache(const KvCacheSpec& spec) override {
    spec_ = KvCacheSpec{};
    YUN_RETURN_IF_ERROR(cache_.allocate(config_.num_hidden_layers, spec.num_blocks, spec.block_size,
                                        config_.num_key_value_heads, config_.head_dim));
    spec_ = spec;
    return Status::ok();
  }

  KvCacheSpec kv_cache_spec() const override { return spec_; }

  using ModelRunner::forward;  // (batch, sampling, results): the host default
  Status forward(const ForwardBatch& batch, std::vector<float>& logits) override;

 private:
  Status validate(const ForwardBatch& batch);
  void prepare_rope(const ForwardBatch& batch);
  void run_layer(const ForwardBatch& batch, size_t layer);

  WeightMatrix mat(const TensorView& t) const { return matrix(t, precision_); }

  ModelConfig config_;
  ModelWeights w_;
  ThreadPool pool_;
  MatmulPrecision precision_;
  RopeFreqs rope_;
  std::vector<float> final_norm_;
  std::vector<LayerF32> layers_;
  CpuKvCache cache_;
  KvCacheSpec spec_;

  // Scratch, grown on demand.
  std::vector<float> x_, h_, q_, k_, v_, attn_, o_, cos_, sin_, last_;
  std::vector<int32_t> row_seq_, row_pos_;
  MlpScratch mlp_;
};

Status CpuRunner::validate(const ForwardBatch& b) {
  if (!cache_.allocated()) return invalid_argument("forward: KV cache not allocated");
  const int64_t T = b.total_tokens();
  if (T == 0 || b.seqs.empty()) return invalid_argument("forward: empty batch");
  if (!b.positions.empty() && int64_t(b.positions.size()) != T)
    return invalid_argument("forward: positions size != token_ids size");
  for (int64_t i = 0; i < T; ++i) {
    if (b.token_ids[size_t(i)] < 0 || b.token_ids[size_t(i)] >= config_.vocab_size)
      return invalid_argument("forward: token id " + std::to_string(b.token_ids[size_t(i)]) +
                              " out of range (vocab " + std::to_string(config_.vocab_size) + ")");
  }
  grow(row_seq_, T);
  grow(row_pos_, T);
  std::fill(row_seq_.begin(), row_seq_.begin() + T, -1);
  const int64_t bs = cache_.block_size();
  for (size_t s = 0; s < b.seqs.size(); ++s) {
    const SeqSlice& q = b.seqs[s];
    auto err = [s](const std::string& what) {  // strings only on the error path
      return invalid_argument("forward: sequence " + std::to_string(s) + ": " + what);
    };
    if (q.num_tokens < 1 || q.token_start < 0 || int64_t(q.token_start) + q.num_tokens > T)
      return err("token range outside the batch");
    if (q.context_len < q.num_tokens) return err("context_len < num_tokens");
    if (int64_t(q.block_table.size()) * bs < q.context_len)
      return err("block table does not cover context_len");
    const int64_t used_blocks = (int64_t(q.context_len) + bs - 1) / bs;
    for (int64_t i = 0; i < used_blocks; ++i) {
      int32_t blk = q.block_table[size_t(i)];
      if (blk < 0 || blk >= cache_.num_blocks())
        return err("block id " + std::to_string(blk) + " out of range");
    }
    const int32_t first = q.context_len - q.num_tokens;
    for (int32_t j = 0; j < q.num_tokens; ++j) {
      const int32_t row = q.token_start + j;
      if (row_seq_[size_t(row)] != -1) return err("rows overlap another");
      row_seq_[size_t(row)] = int32_t(s);
      row_pos_[size_t(row)] = first + j;
      if (!b.positions.empty() && b.positions[size_t(row)] != first + j)
        return err("position of row " + std::to_string(row) +
                   " is not context_len - num_tokens + offset");
    }
  }
  for (int64_t i = 0; i < T; ++i)
    if (row_seq_[size_t(i)] < 0)
      return invalid_argument("forward: row " + std::to_string(i) + " belongs to no sequence");
  for (int32_t r : b.logit_rows)
    if (r < 0 || r >= T) return invalid_argument("forward: logit row out of range");
  return Status::ok();
}

void CpuRunner::prepare_rope(const ForwardBatch& b) {
  const int64_t T = b.total_tokens(), half = config_.head_dim / 2;
  grow(cos_, T * half);
  grow(sin_, T * half);
  const bool dynamic = config_.rope_scaling.type == RopeScaling::Type::kDynamic;
  for (const SeqSlice& q : b.seqs) {
    RopeFreqs dyn;
    const RopeFreqs* f = &rope_;
    if (dynamic && q.context_len > config_.max_position_embeddings) {
      dyn = compute_rope_freqs(config_, q.context_len);
      f = &dyn;
    }
    for (int32_t j = 0; j < q.num_tokens; ++j) {
      const int64_t row = q.token_start + j;
      rope_cos_sin(*f, row_pos_[size_t(row)], cos_.data() + row * half, sin_.data() + row * half);
    }
  }
}

void CpuRunner::run_layer(const ForwardBatch& b, size_t li) {
  const LayerWeights& lw = w_.layers[li];
  const LayerF32& l = layers_[li];
  const int64_t T = b.total_tokens(), H = config_.hidden_size;
  const int64_t D = config_.head_dim, Hq = config_.num_attention_heads;
  const int64_t Hkv = config_.num_key_value_heads, Q = Hq * D, KV = Hkv * D;
  const float eps = float(config_.rms_norm_eps);
  float* x = x_.data();
  float* h = h_.data();
  rms_norm(x, T, H, l.input_norm.data(), eps, h);
  const MatmulJob qkv[3] = {{mat(lw.q_proj), q_.data(), ptr_or_null(l.q_bias)},
                            {mat(lw.k_proj), k_.data(), ptr_or_null(l.k_bias)},
                            {mat(lw.v_proj), v_.data(), ptr_or_null(l.v_bias)}};
  matmul_multi(h, T, qkv, 3, pool_);
  const int64_t half = D / 2;
  float* kc = cache_.k_layer(int64_t(li));
  float* vc = cache_.v_layer(int64_t(li));
  const int64_t bs = cache_.block_size(), ts = cache_.token_stride();
  pool_.parallel_for(
      T,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          float* qr = q_.data() + r * Q;
          float* kr = k_.data() + r * KV;
          if (!l.q_norm.empty()) {
            rms_norm(qr, Hq, D, l.q_norm.data(), eps, qr);
            rms_norm(kr, Hkv, D, l.k_norm.data(), eps, kr);
          }
          apply_rope(qr, Hq, D, cos_.data() + r * half, sin_.data() + r * half);
          apply_rope(kr, Hkv, D, cos_.data() + r * half, sin_.data() + r * half);
          const SeqSlice& s = b.seqs[size_t(row_seq_[size_t(r)])];
          const int64_t pos = row_pos_[size_t(r)];
          const int64_t slot = int64_t(s.block_table[size_t(pos / bs)]) * bs + pos % bs;
          std::copy(kr, kr + KV, kc + slot * ts);
          std::copy(v_.data() + r * KV, v_.data() + (r + 1) * KV, vc + slot * ts);
        }
      },
      4);
  AttentionShape shape{Hq, Hkv, D, bs, ts};
  paged_attention(b, shape, q_.data(), kc, vc, attn_.data(), pool_);
  matmul(attn_.data(), T, mat(lw.o_proj), o_.data(), pool_, ptr_or_null(l.o_bias));
  for (int64_t i = 0; i < T * H; ++i) x[i] += o_[size_t(i)];
  rms_norm(x, T, H, l.post_norm.data(), eps, h);
  if (l.is_moe) {
    moe_mlp(h, T, H, l.moe, o_.data(), mlp_, pool_);
  } else {
    swiglu_mlp(h, T, l.mlp, o_.data(), mlp_, pool_);
  }
  for (int64_t i = 0; i < T * H; ++i) x[i] += o_[size_t(i)];
}

Status CpuRunner::forward(const ForwardBatch& b, std::vector<float>& logits) {
  YUN_RETURN_IF_ERROR(validate(b));
  const int64_t T = b.total_tokens(), H = config_.hidden_size, V = config_.vocab_size;
  grow(x_, T * H);
  grow(h_, T * H);
  grow(o_, T * H);
  grow(q_, T * config_.q_size());
  grow(attn_, T * config_.q_size());
  grow(k_, T * config_.kv_size());
  grow(v_, T * config_.kv_size());
  const TensorView& emb = w_.embed_tokens;
  const size_t row_bytes = emb.nbytes / size_t(config_.vocab_size);  // checked at load
  pool_.parallel_for(
      T,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const auto* src = static_cast<const uint8_t*>(emb.data) +
                            size_t(b.token_ids[size_t(r)]) * row_bytes;
          to_f32(emb.dtype, src, H, x_.data() + r * H);
        }
      },
      16);
  prepare_rope(b);
  for (size_t li = 0; li < layers_.size(); ++li) run_layer(b, li);
  const int64_t L = int64_t(b.logit_rows.size());
  logits.resize(size_t(L * V));
  if (L == 0) return Status::ok();
  float* last = grow(last_, L * H);
  for (int64_t i = 0; i < L; ++i)
    std::copy(x_.data() + int64_t(b.logit_rows[size_t(i)]) * H,
              x_.data() + int64_t(b.logit_rows[size_t(i)] + 1) * H, last + i * H);
  rms_norm(last, L, H, final_norm_.data(), float(config_.rms_norm_eps), last);
  matmul(last, L, mat(w_.lm_head), logits.data(), pool_);
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<ModelRunner>> create_cpu_runner(const std::string& model_dir,
                                                       const CpuRunnerOptions& options) {
  const FileLoad load = options.read_weights ? FileLoad::kReadHugePages : FileLoad::kMap;
  ModelConfig config;
  std::shared_ptr<WeightSource> source;
  if (is_gguf_file(model_dir)) {
    YUN_ASSIGN_OR_RETURN(GgufModel m, open_gguf_model(model_dir, load));
    config = std::move(m.config);
    source = std::move(m.weights);
  } else {
    YUN_ASSIGN_OR_RETURN(config, load_model_config(model_dir));
    YUN_ASSIGN_OR_RETURN(source, WeightStore::open_dir(model_dir, load));
  }
  YUN_ASSIGN_OR_RETURN(ModelWeights weights, load_model_weights(config, std::move(source)));
  if (options.quantize != DType::kF32)
    YUN_RETURN_IF_ERROR(quantize_model_weights(weights, options.quantize));
  return std::unique_ptr<ModelRunner>(
      new CpuRunner(std::move(config), std::move(weights), options));
}

}  // namespace yun
