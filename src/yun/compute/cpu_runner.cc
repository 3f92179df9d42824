// The CPU ModelRunner: the Qwen2/Qwen3/Qwen3-MoE/Llama/Qwen3.5 decoder in
// float32 over a ragged batch, a paged float32 KV cache and, for the hybrid
// Qwen3.5 layers, per-sequence recurrent state slots. The layer structure
// comes from the DecoderSpec (model/decoder_spec.h).
//
// Per step: embedding gather -> per layer [RMSNorm, q/k/v projections (+bias),
// Qwen3 q/k norm, RoPE, K/V into the cache, paged causal attention, o_proj,
// residual, RMSNorm, SwiGLU MLP or MoE, residual] -> final RMSNorm on the logit
// and hidden rows only, lm_head on the logit rows. Scratch buffers live in the
// runner and only grow.
// A Qwen3.5 linear-attention layer replaces the attention part with Gated
// DeltaNet (linear_attention below); its full-attention layers add the
// output gate and partial rotary; its norms are zero-centred ((1 + w),
// folded into the float32 weights at load).
#include <algorithm>
#include <cmath>

#include "yun/base/thread_pool.h"
#include "yun/compute/cpu/attention.h"
#include "yun/compute/cpu/causal_conv.h"
#include "yun/compute/cpu/convert.h"
#include "yun/compute/cpu/gated_delta.h"
#include "yun/compute/cpu/kv_cache.h"
#include "yun/compute/cpu/matmul.h"
#include "yun/compute/cpu/mlp.h"
#include "yun/compute/cpu/rms_norm.h"
#include "yun/compute/cpu/rope.h"
#include "yun/compute/cpu/state_table.h"
#include "yun/compute/model_runner.h"
#include "yun/model/decoder_spec.h"
#include "yun/model/gguf_model.h"
#include "yun/model/quant_scheme.h"
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

// Slices of at most this many tokens use the recurrent delta rule (see
// linear_attention): cheaper than the chunked form for so few tokens.
constexpr int64_t kRecurrentMaxTokens = 4;

// Runs q's rows in pieces that end at its captures (validate_snapshots: rows
// ascending in [1, num_tokens]): piece(t0, t1) for rows [t0, t1), and
// captured(c) once the state has advanced through c.rows.
template <class Piece, class Captured>
void for_each_capture_piece(const SeqSlice& q, Piece&& piece, Captured&& captured) {
  int64_t t0 = 0;
  for (const StateCapture& c : q.captures) {
    piece(t0, int64_t(c.rows));
    captured(c);
    t0 = c.rows;
  }
  if (t0 < q.num_tokens) piece(t0, int64_t(q.num_tokens));
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
  // Gated DeltaNet (linear-attention layers).
  std::vector<float> conv_w, a_log, dt_bias, linear_norm;  // [C*K], [Hv], [Hv], [Dv]
};

void add_one(std::vector<float>& w) {
  for (float& v : w) v += 1.0f;
}

class CpuRunner final : public ModelRunner {
 public:
  CpuRunner(ModelConfig config, ModelWeights weights, const CpuRunnerOptions& options)
      : config_(std::move(config)),
        w_(std::move(weights)),
        pool_(options.num_threads),
        precision_(options.bf16_activations ? MatmulPrecision::kBF16 : MatmulPrecision::kFloat32),
        spec_(build_decoder_spec(config_)) {
    rope_ = compute_rope_freqs(config_);
    final_norm_ = tensor_to_f32(w_.final_norm);
    const bool centred = spec_.norm == NormKind::kZeroCentred;
    if (centred) add_one(final_norm_);
    layers_.resize(w_.layers.size());
    for (size_t i = 0; i < layers_.size(); ++i) layers_[i] = convert_layer(w_.layers[i]);
    if (w_.mtp) {
      const MtpWeights& m = *w_.mtp;
      mtp_layer_ = convert_layer(m.layer);
      mtp_norm_e_ = tensor_to_f32(m.pre_fc_norm_embedding);
      mtp_norm_h_ = tensor_to_f32(m.pre_fc_norm_hidden);
      mtp_norm_ = tensor_to_f32(m.norm);
      if (centred) {
        add_one(mtp_norm_e_);
        add_one(mtp_norm_h_);
        add_one(mtp_norm_);
      }
    }
  }

  // The float32 small tensors and matrix views of one decoder layer.
  LayerF32 convert_layer(const LayerWeights& lw) const {
    const bool centred = spec_.norm == NormKind::kZeroCentred;
    LayerF32 l;
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
    if (centred) {
      add_one(l.input_norm);
      add_one(l.post_norm);
      add_one(l.q_norm);
      add_one(l.k_norm);
    }
    l.conv_w = tensor_to_f32(lw.conv1d);
    l.a_log = tensor_to_f32(lw.a_log);
    l.dt_bias = tensor_to_f32(lw.dt_bias);
    l.linear_norm = tensor_to_f32(lw.linear_norm);
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
      if (!lw.shared_expert_gate.empty()) {
        l.moe.shared.gate = mat(lw.shared_gate);
        l.moe.shared.up = mat(lw.shared_up);
        l.moe.shared.down = mat(lw.shared_down);
        l.moe.shared_gate = matrix(lw.shared_expert_gate, MatmulPrecision::kFloat32);
      }
    } else {
      l.mlp.gate = mat(lw.gate_proj);
      l.mlp.up = mat(lw.up_proj);
      l.mlp.down = mat(lw.down_proj);
      l.mlp.gate_bias = ptr_or_null(l.gate_bias);
      l.mlp.up_bias = ptr_or_null(l.up_bias);
      l.mlp.down_bias = ptr_or_null(l.down_bias);
    }
    return l;
  }

  const ModelConfig& config() const override { return config_; }
  std::string device_name() const override { return "cpu"; }

  // Only full-attention layers have KV (kv_layers: at least 1 for the cache).
  // The MTP head's attention layer, when loaded, is one more KV layer (the last).
  int64_t kv_layers() const {
    return std::max<int64_t>(1, spec_.num_full_attention_layers() + (w_.mtp ? 1 : 0));
  }
  size_t kv_bytes_per_token() const override {
    const int64_t layers = spec_.num_full_attention_layers() + (w_.mtp ? 1 : 0);
    return size_t(2 * layers * config_.kv_size()) * sizeof(float);
  }

  Status allocate_kv_cache(const KvCacheSpec& spec) override {
    kv_spec_ = KvCacheSpec{};
    YUN_RETURN_IF_ERROR(cache_.allocate(kv_layers(), spec.num_blocks, spec.block_size,
                                        config_.num_key_value_heads, config_.head_dim));
    kv_spec_ = spec;
    return Status::ok();
  }

  KvCacheSpec kv_cache_spec() const override { return kv_spec_; }

  size_t state_bytes_per_slot() const override { return spec_.state_bytes_per_sequence(); }
  Status allocate_state_slots(int32_t num_slots) override {
    if (num_slots < 0) return invalid_argument("negative number of state slots");
    if (!spec_.has_recurrent_state()) return Status::ok();
    state_.configure(num_slots, spec_.num_linear_attention_layers(),
                     spec_.linear.conv_state_floats(), spec_.linear.recurrent_state_floats());
    return Status::ok();
  }
  Status reset_state_slot(int32_t slot) override {
    return spec_.has_recurrent_state() ? state_.reset(slot) : Status::ok();
  }
  Status copy_state_slot(int32_t src, int32_t dst) override {
    return spec_.has_recurrent_state() ? state_.copy(src, dst) : Status::ok();
  }

  using ModelRunner::forward;  // (batch, sampling, results): the host default
  Status forward(const ForwardBatch& batch, std::vector<float>& logits) override;

  bool supports_hidden_states() const override { return true; }
  bool supports_mtp() const override { return w_.mtp.has_value(); }
  Status mtp_forward(const ForwardBatch& batch, std::span<const int32_t> hidden_src,
                     std::vector<float>& logits) override;
  std::span<const float> hidden_states() const override { return hidden_; }
  void release_scratch() override {
    hidden_ = std::vector<float>();
    all_hidden_ = std::vector<float>();
    ModelRunner::release_scratch();
  }

 private:
  // with_state: also check the state slots (forward; not mtp_forward).
  Status validate(const ForwardBatch& batch, bool with_state = true);
  void grow_scratch(int64_t T);
  void prepare_rope(const ForwardBatch& batch);
  // mixer_index: the layer's KV layer or state layer (DecoderLayer::mixer_index).
  void run_layer(const ForwardBatch& batch, const LayerWeights& lw, const LayerF32& l,
                 MixerKind mixer, int64_t mixer_index);
  // The mixers: read h_ (the normed input), write o_ (before the residual).
  void full_attention(const ForwardBatch& batch, const LayerWeights& lw, const LayerF32& l,
                      int64_t kv_layer);
  void linear_attention(const ForwardBatch& batch, const LayerWeights& lw, const LayerF32& l,
                        int64_t state_layer);
  Status validate_state(const ForwardBatch& batch);
  Status validate_snapshots(const SeqSlice& q, const std::string& where);

  WeightMatrix mat(const TensorView& t) const { return matrix(t, precision_); }

  ModelConfig config_;
  ModelWeights w_;
  ThreadPool pool_;
  MatmulPrecision precision_;
  DecoderSpec spec_;
  RopeFreqs rope_;
  std::vector<float> final_norm_;
  std::vector<LayerF32> layers_;
  CpuKvCache cache_;
  KvCacheSpec kv_spec_;
  CpuStateTable state_;

  // Scratch, grown on demand.
  std::vector<float> x_, h_, q_, k_, v_, attn_, o_, cos_, sin_, last_;
  std::vector<float> qg_, gate_;             // gated attention: q_proj output, gates
  std::vector<float> u_, y_, z_, beta_, g_;  // Gated DeltaNet
  std::vector<int32_t> row_seq_, row_pos_;
  std::vector<char> slot_seen_;
  MlpScratch mlp_;
  std::vector<float> hidden_;  // the last batch's hidden_rows (hidden_states())
  // MTP head (w_.mtp): its layer and norms, and the final normed hidden
  // state of every row of the last forward() (mtp_forward's input).
  LayerF32 mtp_layer_;
  std::vector<float> mtp_norm_e_, mtp_norm_h_, mtp_norm_, mtp_cat_;
  std::vector<float> all_hidden_;
  int64_t all_hidden_rows_ = 0;
};

Status CpuRunner::validate(const ForwardBatch& b, bool with_state) {
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
  for (int32_t r : b.hidden_rows)
    if (r < 0 || r >= T) return invalid_argument("forward: hidden row out of range");
  return with_state ? validate_state(b) : Status::ok();
}

Status CpuRunner::validate_state(const ForwardBatch& b) {
  if (!spec_.has_recurrent_state()) return Status::ok();
  if (state_.num_slots() == 0)
    return invalid_argument(
        "forward: this model keeps recurrent state: allocate_state_slots first");
  slot_seen_.assign(size_t(state_.num_slots()), 0);
  for (size_t s = 0; s < b.seqs.size(); ++s) {
    const SeqSlice& q = b.seqs[s];
    const std::string where = "forward: sequence " + std::to_string(s) + ": ";
    if (q.state_slot < 0 || q.state_slot >= state_.num_slots())
      return invalid_argument(where + "state slot " + std::to_string(q.state_slot) +
                              " out of range (" + std::to_string(state_.num_slots()) + " slots)");
    if (slot_seen_[size_t(q.state_slot)]++)
      return invalid_argument(where + "state slot " + std::to_string(q.state_slot) +
                              " used twice in one batch");
    const int64_t first = q.context_len - q.num_tokens;
    YUN_RETURN_IF_ERROR(validate_snapshots(q, where));
    if (q.restore_slot >= 0) {
      if (first == 0 || state_.position(q.restore_slot) != first)
        return invalid_argument(where + "restore slot " + std::to_string(q.restore_slot) +
                                " holds " + std::to_string(state_.position(q.restore_slot)) +
                                " tokens but the batch continues from position " +
                                std::to_string(first));
      continue;
    }
    if (first != 0 && state_.position(q.state_slot) != first)
      return invalid_argument(where + "state slot " + std::to_string(q.state_slot) + " holds " +
                              std::to_string(state_.position(q.state_slot)) +
                              " tokens but the batch continues from position " +
                              std::to_string(first) +
                              " (a recurrent state cannot skip or rewind tokens)");
  }
  // A restore reads a slot that nothing in this batch writes.
  for (const SeqSlice& q : b.seqs)
    if (q.restore_slot >= 0 && slot_seen_[size_t(q.restore_slot)])
      return invalid_argument("forward: restore slot " + std::to_string(q.restore_slot) +
                              " is written by this batch");
  return Status::ok();
}

// restore_slot and captures: slots in range, none used twice in the batch
// (slot_seen_ counts every slot of the batch), capture rows ascending in
// [1, num_tokens].
Status CpuRunner::validate_snapshots(const SeqSlice& q, const std::string& where) {
  auto take = [&](int32_t slot, const char* what) {
    if (slot < 0 || slot >= state_.num_slots() || slot == q.state_slot ||
        slot_seen_[size_t(slot)]++)
      return invalid_argument(where + what + " slot " + std::to_string(slot) +
                              " out of range or used twice in one batch");
    return Status::ok();
  };
  if (q.restore_slot >= 0) {
    if (q.restore_slot >= state_.num_slots() || q.restore_slot == q.state_slot)
      return invalid_argument(where + "restore slot " + std::to_string(q.restore_slot) +
                              " out of range");
  }
  int32_t rows = 0;
  for (const StateCapture& c : q.captures) {
    if (c.rows <= rows || c.rows > q.num_tokens)
      return invalid_argument(where + "capture rows must ascend within the slice");
    rows = c.rows;
    YUN_RETURN_IF_ERROR(take(c.slot, "capture"));
  }
  return Status::ok();
}

void CpuRunner::prepare_rope(const ForwardBatch& b) {
  const int64_t T = b.total_tokens(), half = config_.rotary_dim() / 2;
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

void CpuRunner::run_layer(const ForwardBatch& b, const LayerWeights& lw, const LayerF32& l,
                          MixerKind mixer, int64_t mixer_index) {
  const int64_t T = b.total_tokens(), H = config_.hidden_size;
  const float eps = float(config_.rms_norm_eps);
  float* x = x_.data();
  float* h = h_.data();
  rms_norm(x, T, H, l.input_norm.data(), eps, h);
  if (mixer == MixerKind::kLinearAttention) {
    linear_attention(b, lw, l, mixer_index);
  } else {
    full_attention(b, lw, l, mixer_index);
  }
  for (int64_t i = 0; i < T * H; ++i) x[i] += o_[size_t(i)];
  rms_norm(x, T, H, l.post_norm.data(), eps, h);
  if (l.is_moe) {
    moe_mlp(h, T, H, l.moe, o_.data(), mlp_, pool_);
  } else {
    swiglu_mlp(h, T, l.mlp, o_.data(), mlp_, pool_);
  }
  for (int64_t i = 0; i < T * H; ++i) x[i] += o_[size_t(i)];
}

void CpuRunner::full_attention(const ForwardBatch& b, const LayerWeights& lw, const LayerF32& l,
                               int64_t kv_layer) {
  const int64_t T = b.total_tokens();
  const int64_t D = config_.head_dim, Hq = config_.num_attention_heads;
  const int64_t Hkv = config_.num_key_value_heads, Q = Hq * D, KV = Hkv * D;
  const float eps = float(config_.rms_norm_eps);
  const bool gated = spec_.attention.output_gate;
  const int64_t rd = spec_.attention.rotary_dim;
  const float* h = h_.data();
  // The gated q_proj yields per head [query (D), gate (D)]: split below.
  const MatmulJob qkv[3] = {{mat(lw.q_proj), gated ? qg_.data() : q_.data(), ptr_or_null(l.q_bias)},
                            {mat(lw.k_proj), k_.data(), ptr_or_null(l.k_bias)},
                            {mat(lw.v_proj), v_.data(), ptr_or_null(l.v_bias)}};
  matmul_multi(h, T, qkv, 3, pool_);
  const int64_t half = rd / 2;
  float* kc = cache_.k_layer(kv_layer);
  float* vc = cache_.v_layer(kv_layer);
  const int64_t bs = cache_.block_size(), ts = cache_.token_stride();
  pool_.parallel_for(
      T,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          float* qr = q_.data() + r * Q;
          float* kr = k_.data() + r * KV;
          if (gated) {
            const float* src = qg_.data() + r * 2 * Q;
            float* gr = gate_.data() + r * Q;
            for (int64_t hd = 0; hd < Hq; ++hd) {
              std::copy(src + hd * 2 * D, src + hd * 2 * D + D, qr + hd * D);
              std::copy(src + hd * 2 * D + D, src + (hd + 1) * 2 * D, gr + hd * D);
            }
          }
          if (!l.q_norm.empty()) {
            rms_norm(qr, Hq, D, l.q_norm.data(), eps, qr);
            rms_norm(kr, Hkv, D, l.k_norm.data(), eps, kr);
          }
          apply_rope_partial(qr, Hq, D, rd, cos_.data() + r * half, sin_.data() + r * half);
          apply_rope_partial(kr, Hkv, D, rd, cos_.data() + r * half, sin_.data() + r * half);
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
  if (gated) {
    float* a = attn_.data();
    const float* g = gate_.data();
    for (int64_t i = 0; i < T * Q; ++i) a[i] *= 1.0f / (1.0f + std::exp(-g[i]));
  }
  matmul(attn_.data(), T, mat(lw.o_proj), o_.data(), pool_, ptr_or_null(l.o_bias));
}

// Gated DeltaNet: projections, the state-carrying causal conv + SiLU, l2-normed
// q/k, the gated delta rule (chunked for a prefill piece, recurrent for one
// token), the gated RMSNorm, out_proj. Each sequence reads and advances its
// state slot (validate_state checked the slots; forward reset new ones).
void CpuRunner::linear_attention(const ForwardBatch& b, const LayerWeights& lw, const LayerF32& l,
                                 int64_t sl) {
  const LinearAttentionShape& ls = spec_.linear;
  const int64_t T = b.total_tokens();
  const int64_t Hk = ls.num_key_heads, Dk = ls.key_head_dim;
  const int64_t Hv = ls.num_value_heads, Dv = ls.value_head_dim;
  const int64_t C = ls.conv_channels(), Vs = ls.value_size(), K = ls.conv_kernel;
  const float eps = float(config_.rms_norm_eps);
  float* u = u_.data();
  float* y = y_.data();
  float* z = z_.data();
  float* beta = beta_.data();
  float* g = g_.data();
  float* o = attn_.data();
  const MatmulJob proj[4] = {{mat(lw.in_proj_qkv), u, nullptr},
                             {mat(lw.in_proj_z), z, nullptr},
                             {mat(lw.in_proj_b), beta, nullptr},
                             {mat(lw.in_proj_a), g, nullptr}};
  matmul_multi(h_.data(), T, proj, 4, pool_);
  const int64_t S = int64_t(b.seqs.size());
  pool_.parallel_for(S, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const SeqSlice& q = b.seqs[size_t(s)];
      const int64_t r = q.token_start;
      float* conv = state_.conv(q.state_slot, sl);
      for_each_capture_piece(
          q,
          [&](int64_t t0, int64_t t1) {
            causal_conv1d_silu(u + (r + t0) * C, C, t1 - t0, C, l.conv_w.data(), K, conv,
                               y + (r + t0) * C, C);
          },
          [&](const StateCapture& c) {
            std::copy(conv, conv + (K - 1) * C, state_.conv(c.slot, sl));
          });
    }
  });
  const float q_scale = float(1.0 / std::sqrt(double(Dk)));
  pool_.parallel_for(
      T,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          float* yr = y + r * C;
          for (int64_t hd = 0; hd < Hk; ++hd) {
            l2_normalize(yr + hd * Dk, Dk, 1e-6f, q_scale);
            l2_normalize(yr + (Hk + hd) * Dk, Dk, 1e-6f, 1.0f);
          }
          for (int64_t hd = 0; hd < Hv; ++hd) {
            beta[r * Hv + hd] = delta_beta(beta[r * Hv + hd]);
            g[r * Hv + hd] =
                delta_log_decay(g[r * Hv + hd], l.a_log[size_t(hd)], l.dt_bias[size_t(hd)]);
          }
        }
      },
      8);
  const int64_t group = Hv / Hk;  // value heads per key head
  pool_.parallel_for(S * Hv, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const SeqSlice& q = b.seqs[size_t(i / Hv)];
      const int64_t hd = i % Hv, kh = hd / group, r = q.token_start;
      DeltaHeadArgs a;
      a.n = q.num_tokens;
      a.Dk = Dk;
      a.Dv = Dv;
      a.q = y + r * C + kh * Dk;
      a.k = y + r * C + (Hk + kh) * Dk;
      a.qk_stride = C;
      a.v = y + r * C + 2 * Hk * Dk + hd * Dv;
      a.v_stride = C;
      a.o = o + r * Vs + hd * Dv;
      a.o_stride = Vs;
      a.g = g + r * Hv + hd;
      a.beta = beta + r * Hv + hd;
      a.gb_stride = Hv;
      a.state = state_.recurrent(q.state_slot, sl) + hd * Dk * Dv;
      for_each_capture_piece(
          q,
          [&](int64_t t0, int64_t t1) {
            DeltaHeadArgs piece = a;
            piece.n = t1 - t0;
            piece.q += t0 * a.qk_stride;
            piece.k += t0 * a.qk_stride;
            piece.v += t0 * a.v_stride;
            piece.o += t0 * a.o_stride;
            piece.g += t0 * a.gb_stride;
            piece.beta += t0 * a.gb_stride;
            // Decode and short slices (a speculative verify step) take the
            // recurrent form: n state passes, no triangular solve.
            if (piece.n == 1 || q.num_tokens <= kRecurrentMaxTokens) {
              gated_delta_recurrent(piece);
            } else {
              gated_delta_chunked(piece, kDeltaChunk);
            }
          },
          [&](const StateCapture& c) {
            float* dst = state_.recurrent(c.slot, sl) + hd * Dk * Dv;
            std::copy(a.state, a.state + Dk * Dv, dst);
          });
    }
  });
  pool_.parallel_for(
      T,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t hd = 0; hd < Hv; ++hd)
            gated_rms_norm(o + r * Vs + hd * Dv, z + r * Vs + hd * Dv, l.linear_norm.data(), Dv,
                           eps);
      },
      8);
  matmul(o, T, mat(lw.out_proj), o_.data(), pool_);
}

void CpuRunner::grow_scratch(int64_t T) {
  const int64_t H = config_.hidden_size;
  grow(x_, T * H);
  grow(h_, T * H);
  grow(o_, T * H);
  grow(q_, T * config_.q_size());
  grow(attn_, T * std::max(config_.q_size(), spec_.linear.value_size()));
  grow(k_, T * config_.kv_size());
  grow(v_, T * config_.kv_size());
  if (spec_.attention.output_gate) {
    grow(qg_, T * 2 * config_.q_size());
    grow(gate_, T * config_.q_size());
  }
  if (spec_.has_recurrent_state()) {
    const int64_t C = spec_.linear.conv_channels(), Hv = spec_.linear.num_value_heads;
    grow(u_, T * C);
    grow(y_, T * C);
    grow(z_, T * spec_.linear.value_size());
    grow(beta_, T * Hv);
    grow(g_, T * Hv);
  }
}

Status CpuRunner::forward(const ForwardBatch& b, std::vector<float>& logits) {
  hidden_.clear();
  all_hidden_rows_ = 0;
  YUN_RETURN_IF_ERROR(validate(b));
  const int64_t T = b.total_tokens(), H = config_.hidden_size, V = config_.vocab_size;
  grow_scratch(T);
  if (spec_.has_recurrent_state()) {
    // A sequence that starts at position 0 starts from a zero state.
    for (const SeqSlice& q : b.seqs)
      if (q.context_len == q.num_tokens) YUN_RETURN_IF_ERROR(state_.reset(q.state_slot));
    // A prefix-cache hit continues from a snapshot; captures are allocated
    // here and overwritten layer by layer in linear_attention.
    for (const SeqSlice& q : b.seqs) {
      if (q.restore_slot >= 0) YUN_RETURN_IF_ERROR(state_.copy(q.restore_slot, q.state_slot));
      for (const StateCapture& c : q.captures) YUN_RETURN_IF_ERROR(state_.ensure(c.slot));
    }
  }
  const TensorView& emb = w_.embed_tokens;
  const size_t row_bytes = emb.nbytes / size_t(config_.vocab_size);  // checked at load
  pool_.parallel_for(
      T,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const auto* src =
              static_cast<const uint8_t*>(emb.data) + size_t(b.token_ids[size_t(r)]) * row_bytes;
          to_f32(emb.dtype, src, H, x_.data() + r * H);
        }
      },
      16);
  prepare_rope(b);
  for (size_t li = 0; li < layers_.size(); ++li)
    run_layer(b, w_.layers[li], layers_[li], spec_.layers[li].mixer, spec_.layers[li].mixer_index);
  if (spec_.has_recurrent_state())
    for (const SeqSlice& q : b.seqs) {
      state_.set_position(q.state_slot, q.context_len);
      for (const StateCapture& c : q.captures)
        state_.set_position(c.slot, q.context_len - q.num_tokens + c.rows);
    }
  if (w_.mtp) {  // every row's final normed hidden state, for mtp_forward
    float* all = grow(all_hidden_, T * H);
    rms_norm(x_.data(), T, H, final_norm_.data(), float(config_.rms_norm_eps), all);
    all_hidden_rows_ = T;
  }
  // The final norm over the logit rows, then the hidden rows after them.
  const int64_t L = int64_t(b.logit_rows.size()), N = int64_t(b.hidden_rows.size());
  logits.resize(size_t(L * V));
  if (L + N == 0) return Status::ok();
  float* last = grow(last_, (L + N) * H);
  for (int64_t i = 0; i < L + N; ++i) {
    const int64_t row = i < L ? b.logit_rows[size_t(i)] : b.hidden_rows[size_t(i - L)];
    std::copy(x_.data() + row * H, x_.data() + (row + 1) * H, last + i * H);
  }
  rms_norm(last, L + N, H, final_norm_.data(), float(config_.rms_norm_eps), last);
  if (L > 0) matmul(last, L, mat(w_.lm_head), logits.data(), pool_);
  hidden_.assign(last + L * H, last + (L + N) * H);
  return Status::ok();
}

// fc([norm_e(embed(token)), norm_h(hidden)]) -> one full-attention decoder
// layer (KV in the cache's last layer) -> norm -> the shared lm_head.
Status CpuRunner::mtp_forward(const ForwardBatch& b, std::span<const int32_t> hidden_src,
                              std::vector<float>& logits) {
  if (!w_.mtp) return unimplemented("this model was loaded without its MTP head");
  YUN_RETURN_IF_ERROR(validate(b, /*with_state=*/false));
  const int64_t T = b.total_tokens(), H = config_.hidden_size, V = config_.vocab_size;
  if (int64_t(hidden_src.size()) != T)
    return invalid_argument("mtp_forward: hidden_src size != token_ids size");
  for (int32_t r : hidden_src)
    if (r < 0 || r >= all_hidden_rows_)
      return invalid_argument("mtp_forward: hidden row " + std::to_string(r) +
                              " is not a row of the last forward()");
  grow_scratch(T);
  const float eps = float(config_.rms_norm_eps);
  float* cat = grow(mtp_cat_, T * 2 * H);
  const TensorView& emb = w_.embed_tokens;
  const size_t row_bytes = emb.nbytes / size_t(config_.vocab_size);
  for (int64_t r = 0; r < T; ++r) {
    const auto* src =
        static_cast<const uint8_t*>(emb.data) + size_t(b.token_ids[size_t(r)]) * row_bytes;
    to_f32(emb.dtype, src, H, cat + r * 2 * H);
    rms_norm(cat + r * 2 * H, 1, H, mtp_norm_e_.data(), eps, cat + r * 2 * H);
    const float* hid = all_hidden_.data() + int64_t(hidden_src[size_t(r)]) * H;
    rms_norm(hid, 1, H, mtp_norm_h_.data(), eps, cat + r * 2 * H + H);
  }
  matmul(cat, T, mat(w_.mtp->fc), x_.data(), pool_);
  prepare_rope(b);
  run_layer(b, w_.mtp->layer, mtp_layer_, MixerKind::kFullAttention, kv_layers() - 1);
  const int64_t L = int64_t(b.logit_rows.size());
  logits.resize(size_t(L * V));
  if (L == 0) return Status::ok();
  float* last = grow(last_, L * H);
  for (int64_t i = 0; i < L; ++i) {
    const int64_t row = b.logit_rows[size_t(i)];
    std::copy(x_.data() + row * H, x_.data() + (row + 1) * H, last + i * H);
  }
  rms_norm(last, L, H, mtp_norm_.data(), eps, last);
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
  if (options.load_mtp) YUN_RETURN_IF_ERROR(load_mtp_weights(config, weights));
  if (options.quantize_scheme)
    YUN_RETURN_IF_ERROR(quantize_model_weights(weights, *options.quantize_scheme));
  else if (options.quantize != DType::kF32)
    YUN_RETURN_IF_ERROR(quantize_model_weights(weights, options.quantize));
  return std::unique_ptr<ModelRunner>(
      new CpuRunner(std::move(config), std::move(weights), options));
}

}  // namespace yun
