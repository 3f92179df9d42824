// CudaRunner: the decoder forward pass on one GPU (see cuda_runner.h).
//
// Per layer, for T rows of a ragged batch (H hidden, Q = nq*hd, KV = nkv*hd):
//   x = rmsnorm(residual += pending)           add_rms_norm
//   qkv = x · Wqkvᵀ (+ b)                      one fused GEMM [T, Q + 2KV]
//   q, k = rope(qknorm(q, k))                  rope_qk, in place
//   cache[slots] = k, v                        kv_cache_write
//   attn = paged_attention(q, cache)           [T, Q]
//   o = attn · Woᵀ (+ b)                       [T, H]
//   x = rmsnorm(residual += o)
//   dense: down(silu(gate) * up) via one gate|up GEMM; MoE: route, gather
//   rows by expert, per-expert GEMMs, weighted combine into the residual.
// The residual stream is float32; everything else bf16 with f32 accumulation.
#include "yun/compute/cuda/cuda_runner.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <type_traits>

#include "yun/base/log.h"
#include "yun/compute/cuda/attention.cuh"
#include "yun/compute/cuda/cuda_common.h"
#include "yun/compute/cuda/cuda_weights.h"
#include "yun/compute/cuda/embedding.cuh"
#include "yun/compute/cuda/kv_cache.cuh"
#include "yun/compute/cuda/matmul.h"
#include "yun/compute/cuda/moe.cuh"
#include "yun/compute/cuda/prefill_attention.cuh"
#include "yun/compute/cuda/rms_norm.cuh"
#include "yun/compute/cuda/rope.cuh"
#include "yun/compute/cuda/sampling.cuh"
#include "yun/compute/cuda/silu_mul.cuh"
#include "yun/compute/rope_freqs.h"
#include "yun/model/decoder_spec.h"
#include "yun/model/safetensors.h"
#include "yun/model/weights.h"

namespace yun {
namespace {

using cuda::bf16;

// Device memory kept out of the KV cache: cuBLAS workspaces, graphs, fragmentation.
constexpr size_t kKvReserveBytes = size_t(256) << 20;

// A capture of one decode bucket.
struct DecodeGraph {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  int splits = 1;
};

class CudaRunner final : public ModelRunner {
 public:
  ~CudaRunner() override;

  Status init(const std::string& model_dir, const CudaRunnerOptions& opts);

  const ModelConfig& config() const override { return cfg_; }
  std::string device_name() const override { return "cuda:" + std::to_string(opts_.device); }
  size_t kv_bytes_per_token() const override {
    return size_t(cfg_.num_hidden_layers) * 2 * size_t(cfg_.kv_size()) * sizeof(bf16);
  }
  Result<KvCacheSpec> plan_kv_cache(const KvCacheBudget& budget) const override;
  Status allocate_kv_cache(const KvCacheSpec& spec) override;
  KvCacheSpec kv_cache_spec() const override { return kv_spec_; }
  Status forward(const ForwardBatch& batch, std::vector<float>& logits) override;
  Status forward(const ForwardBatch& batch, std::span<const RowSampling> sampling,
                 std::vector<SampleResult>& results) override;

 private:
  Status ensure_capacity(int64_t tokens, int64_t seqs, int64_t rows, int64_t bt_stride);
  Status alloc_activations(int64_t tok_cap, int64_t seq_cap, int64_t row_cap, int64_t bt_cap);
  void destroy_graphs();
  Status validate(const ForwardBatch& b) const;
  // KV cache bytes the device can give under gpu_memory_utilization, counting
  // the cache this runner holds now (freed before a new one is allocated).
  Result<int64_t> kv_budget_bytes() const;
  // Runs the batch up to the logits (logits_ on the device, [R, vocab]); no
  // host synchronization at the end.
  Status run_forward(const ForwardBatch& batch);
  int choose_splits(int64_t T, int64_t max_ctx, bool for_graph) const;
  Status upload_meta(int64_t T, int64_t S, int64_t R, int64_t num_tiles);
  // num_tiles > 0: prefill rows through prefill_attention over those tiles.
  Status run_layers(int64_t T, int64_t R, int splits, int64_t num_tiles = 0);
  Status run_moe(const cuda::DeviceLayer& L, int64_t T);

  ModelConfig cfg_;
  CudaRunnerOptions opts_;
  cudaStream_t stream_ = nullptr;
  cuda::Matmul mm_;
  int sm_count_ = 1;
  bool tiled_prefill_ = true;  // YUN_CUDA_PREFILL=generic turns it off
  std::vector<void*> allocs_;  // small tables (inv_freq)

  cuda::DeviceWeights w_;
  float* inv_freq_ = nullptr;
  float attn_scaling_ = 1.f;
  int64_t qkv_dim_ = 0, inter_ = 0, moe_inter_ = 0, topk_ = 0;

  // KV cache: per layer k then v, each [num_slots, kv_size].
  KvCacheSpec kv_spec_;
  bf16* kv_ = nullptr;

  // Activation buffers (capacity-sized) and step metadata.
  int64_t tok_cap_ = 0, seq_cap_ = 0, row_cap_ = 0, bt_cap_ = 0;
  std::vector<void*> act_;  // everything below, freed on regrow
  float* residual_ = nullptr;
  bf16 *x_ = nullptr, *qkv_ = nullptr, *attn_ = nullptr, *o_ = nullptr, *gu_ = nullptr, *act_buf_ = nullptr;
  bf16 *xg_ = nullptr, *eo_ = nullptr;            // MoE gathered rows / expert outputs
  float *router_ = nullptr, *topk_w_ = nullptr;
  int32_t *topk_ids_ = nullptr, *moe_idx_ = nullptr;  // moe_idx_: [gather rows | pair rows]
  float *fres_ = nullptr, *logits_ = nullptr, *attn_ws_ = nullptr;
  bf16 *fadd_ = nullptr, *fx_ = nullptr;
  int32_t* meta_d_ = nullptr;  // ids, pos, slots, seq, logit rows [tok_cap each], tables, tiles [2 tok_cap]
  int32_t* meta_h_ = nullptr;  // pinned mirror
  int32_t* moe_h_ = nullptr;   // pinned: topk ids then upload of moe_idx
  int64_t attn_ws_floats_ = 0;
  // Device sampling (row_cap_ rows): parameters and tokens, device + pinned.
  cuda::DeviceSampleRow* samp_rows_d_ = nullptr;
  int32_t* samp_out_d_ = nullptr;
  void* samp_h_ = nullptr;  // pinned: [row_cap] DeviceSampleRow then [row_cap] int32
  CpuSampler sampler_;      // rows the device sampler does not take
  std::vector<float> host_rows_;
  std::vector<char> on_device_;

  std::map<int64_t, DecodeGraph> graphs_;
};

CudaRunner::~CudaRunner() {
  if (stream_) cudaStreamSynchronize(stream_);
  destroy_graphs();
  for (void* p : act_) cudaFree(p);
  if (meta_h_) cudaFreeHost(meta_h_);
  if (moe_h_) cudaFreeHost(moe_h_);
  if (samp_h_) cudaFreeHost(samp_h_);
  if (kv_) cudaFree(kv_);
  for (void* p : allocs_) cudaFree(p);
  if (stream_) cudaStreamDestroy(stream_);
}

Status CudaRunner::init(const std::string& model_dir, const CudaRunnerOptions& opts) {
  opts_ = opts;
  if (!cuda_device_available()) return unavailable("cuda: no CUDA device or driver");
  YUN_CUDA_CHECK(cudaSetDevice(opts.device));
  cudaDeviceProp prop{};
  YUN_CUDA_CHECK(cudaGetDeviceProperties(&prop, opts.device));
  sm_count_ = prop.multiProcessorCount;
  if (const char* e = std::getenv("YUN_CUDA_PREFILL")) tiled_prefill_ = std::string(e) != "generic";
  if (const char* e = std::getenv("YUN_CUDA_SAMPLING")) {
    if (std::string(e) == "device") opts_.device_sampling = true;
    if (std::string(e) == "host") opts_.device_sampling = false;
  }
  YUN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  YUN_RETURN_IF_ERROR(mm_.init());

  YUN_ASSIGN_OR_RETURN(cfg_, load_model_config(model_dir));
  {
    // The decoder description says what this backend cannot run yet.
    const DecoderSpec spec = build_decoder_spec(cfg_);
    if (spec.has_recurrent_state())
      return unimplemented("cuda: " + cfg_.architecture_name +
                           " has linear-attention (Gated DeltaNet) layers, not supported on "
                           "CUDA yet; use --device cpu");
    bool shared_expert = false;
    for (const LayerSpec& l : spec.layers) shared_expert |= l.mlp == MlpKind::kMoeShared;
    if (spec.norm != NormKind::kPlain || spec.attention.output_gate ||
        spec.attention.rotary_dim != cfg_.head_dim || shared_expert)
      return unimplemented("cuda: " + cfg_.architecture_name +
                           " (zero-centred norms, gated attention, partial rotary or a shared "
                           "expert) is not supported on CUDA yet; use --device cpu");
  }
  if (cfg_.head_dim > 256 || cfg_.head_dim % 2 != 0)
    return unimplemented("cuda: head_dim " + std::to_string(cfg_.head_dim) + " (even, <= 256 supported)");
  YUN_ASSIGN_OR_RETURN(auto store, WeightStore::open_dir(model_dir));
  store->prefetch();
  YUN_ASSIGN_OR_RETURN(ModelWeights w, load_model_weights(cfg_, store));

  qkv_dim_ = cfg_.q_size() + 2 * cfg_.kv_size();
  inter_ = cfg_.intermediate_size;
  moe_inter_ = cfg_.moe_intermediate_size;
  topk_ = cfg_.num_experts_per_tok;

  YUN_RETURN_IF_ERROR(cuda::upload_weights(cfg_, w, &w_));

  // One table for the whole run: for dynamic NTK it is exact up to
  // max_position_embeddings, and validate() refuses longer contexts.
  RopeFreqs rope = compute_rope_freqs(cfg_);
  attn_scaling_ = rope.attention_scale;
  void* f = nullptr;
  YUN_CUDA_CHECK(cudaMalloc(&f, rope.inv_freq.size() * sizeof(float)));
  allocs_.push_back(f);
  inv_freq_ = static_cast<float*>(f);
  YUN_CUDA_CHECK(cudaMemcpy(inv_freq_, rope.inv_freq.data(), rope.inv_freq.size() * sizeof(float),
                            cudaMemcpyHostToDevice));

  const int64_t bs = std::max(1, opts_.kv_block_size);
  const int64_t max_pos = std::max<int64_t>(cfg_.max_position_embeddings, 1);
  YUN_RETURN_IF_ERROR(ensure_capacity(std::max<int64_t>(opts_.max_num_tokens, 1), 256, 256,
                                      cuda::ceil_div(std::min<int64_t>(max_pos, 32768), bs)));
  if (opts_.auto_allocate_kv_cache) {
    KvCacheSpec spec;
    spec.block_size = int32_t(bs);
    spec.num_blocks = 0;  // auto
    YUN_RETURN_IF_ERROR(allocate_kv_cache(spec));
  }
  YUN_LOG(kInfo, "cuda: loaded " + cfg_.architecture_name + " on " + device_name() + " (" +
                     std::string(prop.name) + "), weights " + std::to_string(w_.bytes >> 20) +
                     " MiB, KV blocks " + std::to_string(kv_spec_.num_blocks));
  return Status::ok();
}

Result<int64_t> CudaRunner::kv_budget_bytes() const {
  YUN_CUDA_CHECK(cudaSetDevice(opts_.device));
  size_t free_b = 0, total_b = 0;
  YUN_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const size_t held = kv_ ? kv_bytes_per_token() * size_t(kv_spec_.block_size) *
                                size_t(kv_spec_.num_blocks)
                          : 0;
  return gpu_kv_cache_bytes(total_b, std::min(total_b, free_b + held),
                            opts_.gpu_memory_utilization, kKvReserveBytes);
}

Result<KvCacheSpec> CudaRunner::plan_kv_cache(const KvCacheBudget& budget) const {
  YUN_ASSIGN_OR_RETURN(int64_t bytes, kv_budget_bytes());
  if (bytes <= 0 && budget.num_blocks == 0 && budget.memory_bytes == 0) {
    return resource_exhausted("cuda: no device memory left for the KV cache under "
                              "--gpu-memory-utilization " +
                              std::to_string(opts_.gpu_memory_utilization));
  }
  return plan_kv_blocks(budget, kv_bytes_per_token(), bytes);
}

Status CudaRunner::allocate_kv_cache(const KvCacheSpec& spec) {
  if (spec.block_size <= 0 || spec.num_blocks < 0) return invalid_argument("cuda: bad KvCacheSpec");
  // The engine re-requests the size it read from kv_cache_spec(): keep it.
  if (kv_ && spec.num_blocks == kv_spec_.num_blocks && spec.block_size == kv_spec_.block_size)
    return Status::ok();
  YUN_CUDA_CHECK(cudaSetDevice(opts_.device));
  YUN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  destroy_graphs();
  if (kv_) {
    YUN_CUDA_CHECK(cudaFree(kv_));
    kv_ = nullptr;
    kv_spec_ = KvCacheSpec{};
  }
  const size_t per_block = kv_bytes_per_token() * size_t(spec.block_size);
  int64_t blocks = spec.num_blocks;
  if (blocks == 0) {  // all the device gives (kv_ is already freed here)
    YUN_ASSIGN_OR_RETURN(int64_t avail, kv_budget_bytes());
    blocks = std::min<int64_t>(avail / int64_t(per_block), INT32_MAX);
    if (blocks < 1) return resource_exhausted("cuda: no memory left for the KV cache");
  }
  void* p = nullptr;
  YUN_CUDA_CHECK(cudaMalloc(&p, size_t(blocks) * per_block));
  kv_ = static_cast<bf16*>(p);
  kv_spec_.block_size = spec.block_size;
  kv_spec_.num_blocks = int32_t(blocks);
  return Status::ok();
}

void CudaRunner::destroy_graphs() {
  for (auto& [b, g] : graphs_) {
    if (g.exec) cudaGraphExecDestroy(g.exec);
    if (g.graph) cudaGraphDestroy(g.graph);
  }
  graphs_.clear();
}

// Grows the activation buffers (never shrinks). Invalidates the graphs when
// anything moves.
Status CudaRunner::ensure_capacity(int64_t tokens, int64_t seqs, int64_t rows, int64_t bt_stride) {
  if (tokens <= tok_cap_ && seqs <= seq_cap_ && rows <= row_cap_ && bt_stride <= bt_cap_)
    return Status::ok();
  YUN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  destroy_graphs();
  for (void* p : act_) cudaFree(p);
  act_.clear();
  if (meta_h_) cudaFreeHost(meta_h_), meta_h_ = nullptr;
  if (moe_h_) cudaFreeHost(moe_h_), moe_h_ = nullptr;
  if (samp_h_) cudaFreeHost(samp_h_), samp_h_ = nullptr;
  auto grow = [](int64_t need, int64_t have) { return need <= have ? have : std::max(need, have * 2); };
  const int64_t tok = grow(tokens, tok_cap_), seq = grow(seqs, seq_cap_);
  const int64_t row = grow(rows, row_cap_), bt = grow(bt_stride, bt_cap_);
  tok_cap_ = seq_cap_ = row_cap_ = bt_cap_ = 0;  // stays 0 (realloc next time) if this fails
  YUN_RETURN_IF_ERROR(alloc_activations(tok, seq, row, bt));
  tok_cap_ = tok, seq_cap_ = seq, row_cap_ = row, bt_cap_ = bt;
  return Status::ok();
}

Status CudaRunner::alloc_activations(int64_t tok_cap, int64_t seq_cap, int64_t row_cap, int64_t bt_cap) {

  const int64_t H = cfg_.hidden_size, V = cfg_.vocab_size, C = tok_cap;
  const int64_t pairs = w_.any_moe ? C * topk_ : 0;
  const int64_t gu_w = std::max(w_.any_moe ? topk_ * 2 * moe_inter_ : 0, 2 * inter_);
  auto alloc = [&](auto** out, int64_t n, size_t elem) -> Status {
    void* p = nullptr;
    YUN_CUDA_CHECK(cudaMalloc(&p, size_t(std::max<int64_t>(n, 1)) * elem));
    act_.push_back(p);
    *out = static_cast<std::remove_reference_t<decltype(**out)>*>(p);
    return Status::ok();
  };
  YUN_RETURN_IF_ERROR(alloc(&residual_, C * H, 4));
  YUN_RETURN_IF_ERROR(alloc(&x_, C * H, 2));
  YUN_RETURN_IF_ERROR(alloc(&qkv_, C * qkv_dim_, 2));
  YUN_RETURN_IF_ERROR(alloc(&attn_, C * cfg_.q_size(), 2));
  YUN_RETURN_IF_ERROR(alloc(&o_, C * H, 2));
  YUN_RETURN_IF_ERROR(alloc(&gu_, C * gu_w, 2));
  YUN_RETURN_IF_ERROR(alloc(&act_buf_, C * gu_w / 2, 2));
  if (w_.any_moe) {
    YUN_RETURN_IF_ERROR(alloc(&xg_, pairs * H, 2));
    YUN_RETURN_IF_ERROR(alloc(&eo_, pairs * H, 2));
    YUN_RETURN_IF_ERROR(alloc(&router_, C * cfg_.num_experts, 4));
    YUN_RETURN_IF_ERROR(alloc(&topk_w_, pairs, 4));
    YUN_RETURN_IF_ERROR(alloc(&topk_ids_, pairs, 4));
    YUN_RETURN_IF_ERROR(alloc(&moe_idx_, 2 * pairs, 4));
    YUN_CUDA_CHECK(cudaMallocHost(&moe_h_, size_t(3 * pairs) * 4));
  }
  YUN_RETURN_IF_ERROR(alloc(&fres_, row_cap * H, 4));
  YUN_RETURN_IF_ERROR(alloc(&fadd_, row_cap * H, 2));
  YUN_RETURN_IF_ERROR(alloc(&fx_, row_cap * H, 2));
  YUN_RETURN_IF_ERROR(alloc(&logits_, row_cap * V, 4));
  YUN_RETURN_IF_ERROR(alloc(&samp_rows_d_, row_cap, sizeof(cuda::DeviceSampleRow)));
  YUN_RETURN_IF_ERROR(alloc(&samp_out_d_, row_cap, 4));
  YUN_CUDA_CHECK(cudaMallocHost(&samp_h_, size_t(row_cap) * (sizeof(cuda::DeviceSampleRow) + 4)));
  // Split-K runs only for <= 64 rows, at most 16 splits.
  attn_ws_floats_ = cuda::attention_workspace_floats(std::min<int64_t>(C, 64), int(cfg_.num_attention_heads),
                                                     int(cfg_.head_dim), 16);
  YUN_RETURN_IF_ERROR(alloc(&attn_ws_, attn_ws_floats_, 4));
  const int64_t meta_n = 7 * C + seq_cap * bt_cap;
  YUN_RETURN_IF_ERROR(alloc(&meta_d_, meta_n, 4));
  YUN_CUDA_CHECK(cudaMallocHost(&meta_h_, size_t(meta_n) * 4));
  std::memset(meta_h_, 0, size_t(meta_n) * 4);
  return Status::ok();
}

Status CudaRunner::validate(const ForwardBatch& b) const {
  const int64_t T = b.total_tokens();
  if (kv_ == nullptr) return invalid_argument("cuda: KV cache not allocated");
  // supports_hidden_states() is false here: the engine refuses embedding
  // requests first; this is the runner's own guard.
  if (!b.hidden_rows.empty())
    return unimplemented(
        "cuda: hidden states (embeddings) are not implemented on the CUDA runner yet");
  if (T == 0 || b.seqs.empty()) return invalid_argument("forward: empty batch");
  if (!b.positions.empty() && int64_t(b.positions.size()) != T)
    return invalid_argument("forward: positions size != token count");
  for (int32_t id : b.token_ids)
    if (id < 0 || id >= cfg_.vocab_size) return invalid_argument("forward: token id out of range");
  std::vector<char> seen(size_t(T), 0);
  const int64_t bs = kv_spec_.block_size;
  for (const SeqSlice& s : b.seqs) {
    if (s.num_tokens < 1 || s.token_start < 0 || int64_t(s.token_start) + s.num_tokens > T)
      return invalid_argument("forward: sequence rows out of range");
    if (s.context_len < s.num_tokens) return invalid_argument("forward: context_len < num_tokens");
    if (rope_depends_on_length(cfg_) && s.context_len > cfg_.max_position_embeddings)
      return unimplemented("cuda: dynamic NTK RoPE past max_position_embeddings");
    if (int64_t(s.block_table.size()) * bs < s.context_len)
      return invalid_argument("forward: block table does not cover context_len");
    for (int64_t i = 0; i < cuda::ceil_div(s.context_len, bs); ++i) {
      const int32_t blk = s.block_table[size_t(i)];
      if (blk < 0 || blk >= kv_spec_.num_blocks) return invalid_argument("forward: block id out of range");
    }
    for (int32_t r = s.token_start; r < s.token_start + s.num_tokens; ++r) {
      if (seen[size_t(r)]) return invalid_argument("forward: row in two sequences");
      seen[size_t(r)] = 1;
      const int32_t want = s.context_len - s.num_tokens + (r - s.token_start);
      if (!b.positions.empty() && b.positions[size_t(r)] != want)
        return invalid_argument("forward: position does not match context_len");
    }
  }
  for (char c : seen)
    if (!c) return invalid_argument("forward: row not in any sequence");
  for (int32_t r : b.logit_rows)
    if (r < 0 || r >= T) return invalid_argument("forward: logit row out of range");
  return Status::ok();
}

// Split-K along the keys when the grid is too small to fill the GPU.
int CudaRunner::choose_splits(int64_t T, int64_t max_ctx, bool for_graph) const {
  if (T > 64) return 1;
  const int64_t group = cfg_.num_attention_heads / cfg_.num_key_value_heads;
  const int64_t blocks = T * cfg_.num_key_value_heads * cuda::ceil_div(group, 8);
  if (blocks >= 2 * sm_count_) return 1;
  int64_t s = cuda::ceil_div(2 * sm_count_, blocks);
  if (!for_graph) s = std::min(s, cuda::ceil_div(max_ctx, 256));
  return int(std::clamp<int64_t>(s, 1, 16));
}

// Copies the step's metadata (already in meta_h_) to the device.
Status CudaRunner::upload_meta(int64_t T, int64_t S, int64_t R, int64_t num_tiles) {
  const int64_t C = tok_cap_;
  const int64_t lens[5] = {T, T, T, T, R};
  for (int i = 0; i < 5; ++i)
    YUN_CUDA_CHECK(cudaMemcpyAsync(meta_d_ + i * C, meta_h_ + i * C, size_t(lens[i]) * 4,
                                   cudaMemcpyHostToDevice, stream_));
  YUN_CUDA_CHECK(cudaMemcpyAsync(meta_d_ + 5 * C, meta_h_ + 5 * C, size_t(S * bt_cap_) * 4,
                                 cudaMemcpyHostToDevice, stream_));
  const int64_t tiles_at = 5 * C + seq_cap_ * bt_cap_;
  if (num_tiles > 0)
    YUN_CUDA_CHECK(cudaMemcpyAsync(meta_d_ + tiles_at, meta_h_ + tiles_at, size_t(2 * num_tiles) * 4,
                                   cudaMemcpyHostToDevice, stream_));
  return Status::ok();
}

Status CudaRunner::forward(const ForwardBatch& batch, std::vector<float>& logits) {
  YUN_RETURN_IF_ERROR(run_forward(batch));
  const int64_t R = int64_t(batch.logit_rows.size()), V = cfg_.vocab_size;
  logits.resize(size_t(R * V));
  if (R > 0)
    YUN_CUDA_CHECK(cudaMemcpyAsync(logits.data(), logits_, size_t(R * V) * 4, cudaMemcpyDeviceToHost, stream_));
  YUN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return Status::ok();
}

// Rows the device sampler takes: greedy without extras, or top-k (k <=
// kMaxDeviceTopK) sampling with temperature / top-p / min-p and nothing else.
bool device_can_sample(const RowSampling& r) {
  if (r.plain_greedy()) return true;
  const SamplingOptions& o = r.options;
  return !o.greedy() && r.rng != nullptr && o.top_k >= 1 && o.top_k <= cuda::kMaxDeviceTopK &&
         !r.edits_logits() && o.logprobs < 0;
}

Status CudaRunner::forward(const ForwardBatch& batch, std::span<const RowSampling> sampling,
                           std::vector<SampleResult>& results) {
  const int64_t R = int64_t(batch.logit_rows.size()), V = cfg_.vocab_size;
  if (!opts_.device_sampling || int64_t(sampling.size()) != R || R == 0)
    return forward_then_sample_on_host(batch, sampling, results);
  on_device_.assign(size_t(R), 0);
  int64_t nd = 0;
  for (int64_t i = 0; i < R; ++i) {
    const RowSampling& s = sampling[size_t(i)];
    if (!s.options.greedy() && s.rng == nullptr)
      return invalid_argument("forward: a non-greedy row has no RNG");
    on_device_[size_t(i)] = device_can_sample(s);
    nd += on_device_[size_t(i)];
  }
  if (nd == 0) return forward_then_sample_on_host(batch, sampling, results);
  YUN_RETURN_IF_ERROR(run_forward(batch));
  auto* hrows = static_cast<cuda::DeviceSampleRow*>(samp_h_);
  auto* hout = reinterpret_cast<int32_t*>(hrows + row_cap_);
  int64_t k = 0;
  for (int64_t i = 0; i < R; ++i) {
    if (!on_device_[size_t(i)]) continue;
    const RowSampling& s = sampling[size_t(i)];
    cuda::DeviceSampleRow d;
    d.logit_row = int32_t(i);
    d.greedy = s.options.greedy() ? 1 : 0;
    if (!d.greedy) {
      d.top_k = s.options.top_k;
      d.inv_temperature = float(1.0 / s.options.temperature);
      d.top_p = s.options.top_p;
      d.min_p = s.options.min_p;
      d.u = std::generate_canonical<double, std::numeric_limits<double>::digits>(*s.rng);
    }
    hrows[k++] = d;
  }
  YUN_CUDA_CHECK(cudaMemcpyAsync(samp_rows_d_, hrows, size_t(nd) * sizeof(cuda::DeviceSampleRow),
                                 cudaMemcpyHostToDevice, stream_));
  YUN_RETURN_IF_ERROR(cuda::sample_rows(logits_, R, V, samp_rows_d_, nd, samp_out_d_, stream_));
  YUN_CUDA_CHECK(cudaMemcpyAsync(hout, samp_out_d_, size_t(nd) * 4, cudaMemcpyDeviceToHost, stream_));
  host_rows_.resize(size_t((R - nd) * V));
  int64_t m = 0;
  for (int64_t i = 0; i < R; ++i) {
    if (on_device_[size_t(i)]) continue;
    YUN_CUDA_CHECK(cudaMemcpyAsync(host_rows_.data() + m * V, logits_ + i * V, size_t(V) * 4,
                                   cudaMemcpyDeviceToHost, stream_));
    ++m;
  }
  YUN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  results.assign(size_t(R), SampleResult{});
  k = 0, m = 0;
  for (int64_t i = 0; i < R; ++i) {
    if (on_device_[size_t(i)]) {
      const int32_t tok = hout[k++];
      if (tok < 0 || tok >= V) return internal_error("cuda: device sampler returned " + std::to_string(tok));
      results[size_t(i)].token = tok;
    } else {
      results[size_t(i)] = sampler_.sample(
          std::span<const float>(host_rows_.data() + m * V, size_t(V)), sampling[size_t(i)]);
      ++m;
    }
  }
  return Status::ok();
}

Status CudaRunner::run_forward(const ForwardBatch& batch) {
  YUN_CUDA_CHECK(cudaSetDevice(opts_.device));
  YUN_RETURN_IF_ERROR(validate(batch));
  const int64_t T = batch.total_tokens();
  const int64_t S = int64_t(batch.seqs.size());
  const int64_t R = int64_t(batch.logit_rows.size());
  const int64_t bs = kv_spec_.block_size;
  int64_t max_blocks = 1, max_ctx = 1;
  bool decode = T == S;
  for (const SeqSlice& s : batch.seqs) {
    max_blocks = std::max<int64_t>(max_blocks, cuda::ceil_div(s.context_len, bs));
    max_ctx = std::max<int64_t>(max_ctx, s.context_len);
    decode = decode && s.num_tokens == 1;
  }
  int64_t bucket = 0;
  if (decode && opts_.cuda_graphs && !w_.any_moe && S <= opts_.max_graph_batch && R <= S) {
    bucket = 1;
    while (bucket < S) bucket *= 2;
  }
  const int64_t Tr = bucket ? bucket : T, Sr = bucket ? bucket : S, Rr = bucket ? bucket : R;
  YUN_RETURN_IF_ERROR(ensure_capacity(Tr, Sr, std::max<int64_t>(Rr, 1), max_blocks));

  // Host metadata: ids, positions, slots, token_seq, logit rows, block tables.
  const int64_t C = tok_cap_;
  int32_t* ids = meta_h_;
  int32_t* pos = meta_h_ + C;
  int32_t* slots = meta_h_ + 2 * C;
  int32_t* tseq = meta_h_ + 3 * C;
  int32_t* lrows = meta_h_ + 4 * C;
  int32_t* tables = meta_h_ + 5 * C;
  for (int64_t si = 0; si < S; ++si) {
    const SeqSlice& s = batch.seqs[size_t(si)];
    for (int32_t i = 0; i < s.num_tokens; ++i) {
      const int64_t r = s.token_start + i;
      const int32_t p = s.context_len - s.num_tokens + i;
      ids[r] = batch.token_ids[size_t(r)];
      pos[r] = p;
      slots[r] = s.block_table[size_t(p / bs)] * int32_t(bs) + int32_t(p % bs);
      tseq[r] = int32_t(si);
    }
    const int64_t nb = cuda::ceil_div(s.context_len, bs);
    std::memcpy(tables + si * bt_cap_, s.block_table.data(), size_t(nb) * 4);
  }
  for (int64_t i = 0; i < R; ++i) lrows[i] = batch.logit_rows[size_t(i)];
  for (int64_t r = T; r < Tr; ++r) {  // graph padding: harmless rows, no KV write
    ids[r] = 0, pos[r] = 0, slots[r] = -1, tseq[r] = int32_t(r);
    tables[r * bt_cap_] = 0;
  }
  for (int64_t i = R; i < Rr; ++i) lrows[i] = 0;
  // Prefill present: tiles of up to kPrefillTileRows consecutive rows per sequence.
  int64_t num_tiles = 0;
  if (bucket == 0 && T > S && tiled_prefill_) {
    int32_t* tiles = meta_h_ + 5 * C + seq_cap_ * bt_cap_;
    for (const SeqSlice& s : batch.seqs) {
      for (int32_t i = 0; i < s.num_tokens; i += cuda::kPrefillTileRows) {
        tiles[2 * num_tiles] = s.token_start + i;
        tiles[2 * num_tiles + 1] = std::min(cuda::kPrefillTileRows, s.num_tokens - i);
        ++num_tiles;
      }
    }
  }
  YUN_RETURN_IF_ERROR(upload_meta(Tr, Sr, Rr, num_tiles));

  if (bucket == 0) {
    YUN_RETURN_IF_ERROR(run_layers(T, R, choose_splits(T, max_ctx, false), num_tiles));
  } else {
    auto it = graphs_.find(bucket);
    if (it != graphs_.end() && it->second.exec) {
      YUN_CUDA_CHECK(cudaGraphLaunch(it->second.exec, stream_));
    } else {
      // First time for this bucket: run eagerly (warms cuBLASLt plans), then capture.
      const int splits = choose_splits(bucket, 0, true);
      YUN_RETURN_IF_ERROR(run_layers(bucket, bucket, splits));
      DecodeGraph g;
      g.splits = splits;
      YUN_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
      Status st = run_layers(bucket, bucket, splits);
      cudaError_t end = cudaStreamEndCapture(stream_, &g.graph);
      if (st.is_ok() && end == cudaSuccess) {
        end = cudaGraphInstantiate(&g.exec, g.graph, 0);
      }
      if (!st.is_ok() || end != cudaSuccess) {
        if (g.graph) cudaGraphDestroy(g.graph);
        (void)cudaGetLastError();
        YUN_LOG(kWarn, "cuda: decode graph capture failed (" +
                           (st.is_ok() ? std::string(cudaGetErrorString(end)) : st.to_string()) +
                           "); bucket " + std::to_string(bucket) + " runs eagerly");
        opts_.cuda_graphs = false;
      } else {
        graphs_[bucket] = g;
      }
    }
  }
  return Status::ok();
}

// The whole forward pass on stream_, reading metadata from meta_d_. No host
// synchronization except in MoE layers (so it can be captured for dense models).
Status CudaRunner::run_layers(int64_t T, int64_t R, int splits, int64_t num_tiles) {
  const int64_t H = cfg_.hidden_size, C = tok_cap_;
  const int nq = int(cfg_.num_attention_heads), nkv = int(cfg_.num_key_value_heads), hd = int(cfg_.head_dim);
  const int64_t Q = cfg_.q_size(), KV = cfg_.kv_size();
  const float eps = float(cfg_.rms_norm_eps);
  const int32_t* d_ids = meta_d_;
  const int32_t* d_pos = meta_d_ + C;
  const int32_t* d_slots = meta_d_ + 2 * C;
  const int32_t* d_tseq = meta_d_ + 3 * C;
  const int32_t* d_lrows = meta_d_ + 4 * C;
  const int32_t* d_tables = meta_d_ + 5 * C;
  const int32_t* d_tiles = meta_d_ + 5 * C + seq_cap_ * bt_cap_;
  const int64_t num_slots = int64_t(kv_spec_.num_blocks) * kv_spec_.block_size;
  const auto BF = cuda::OutType::kBF16;

  YUN_RETURN_IF_ERROR(cuda::embedding_lookup(w_.embed, cfg_.vocab_size, H, d_ids, T, residual_, stream_));
  const bf16* pending = nullptr;  // bf16 output still to be added to the residual
  for (size_t li = 0; li < w_.layers.size(); ++li) {
    const cuda::DeviceLayer& L = w_.layers[li];
    bf16* kc = kv_ + int64_t(2 * li) * num_slots * KV;
    bf16* vc = kc + num_slots * KV;
    YUN_RETURN_IF_ERROR(cuda::add_rms_norm(residual_, pending, L.input_norm, eps, x_, T, H, stream_));
    YUN_RETURN_IF_ERROR(mm_.linear(x_, T, H, L.qkv_w, qkv_dim_, L.qkv_b, qkv_, BF, stream_));
    YUN_RETURN_IF_ERROR(cuda::rope_qk(qkv_, T, qkv_dim_, nq, nkv, hd, d_pos, inv_freq_, attn_scaling_,
                                      L.q_norm, L.k_norm, eps, stream_));
    YUN_RETURN_IF_ERROR(cuda::kv_cache_write(qkv_, T, qkv_dim_, Q, Q + KV, KV, d_slots, kc, vc,
                                             num_slots, stream_));
    cuda::PagedAttentionArgs a;
    a.q = qkv_;
    a.q_stride = qkv_dim_;
    a.k_cache = kc;
    a.v_cache = vc;
    a.positions = d_pos;
    a.token_seq = d_tseq;
    a.block_tables = d_tables;
    a.bt_stride = int32_t(bt_cap_);
    a.block_size = kv_spec_.block_size;
    a.T = T;
    a.num_q_heads = nq;
    a.num_kv_heads = nkv;
    a.head_dim = hd;
    a.scale = 1.f / std::sqrt(float(hd));
    a.out = attn_;
    a.out_stride = Q;
    a.num_splits = splits;
    a.workspace = attn_ws_;
    if (splits > 1 && cuda::attention_workspace_floats(T, nq, hd, splits) > attn_ws_floats_) a.num_splits = 1;
    if (num_tiles > 0) {
      YUN_RETURN_IF_ERROR(cuda::prefill_attention(a, d_tiles, num_tiles, stream_));
    } else {
      YUN_RETURN_IF_ERROR(cuda::paged_attention(a, stream_));
    }
    YUN_RETURN_IF_ERROR(mm_.linear(attn_, T, Q, L.o_w, H, L.o_b, o_, BF, stream_));
    YUN_RETURN_IF_ERROR(cuda::add_rms_norm(residual_, o_, L.post_norm, eps, x_, T, H, stream_));
    if (L.moe) {
      YUN_RETURN_IF_ERROR(run_moe(L, T));
      pending = nullptr;
    } else {
      YUN_RETURN_IF_ERROR(mm_.linear(x_, T, H, L.gate_up_w, 2 * inter_, L.gate_up_b, gu_, BF, stream_));
      YUN_RETURN_IF_ERROR(cuda::silu_mul(gu_, act_buf_, T, inter_, stream_));
      YUN_RETURN_IF_ERROR(mm_.linear(act_buf_, T, inter_, L.down_w, H, L.down_b, o_, BF, stream_));
      pending = o_;
    }
  }
  if (R == 0) return Status::ok();
  YUN_RETURN_IF_ERROR(cuda::gather_rows_f32(residual_, T, H, d_lrows, R, fres_, stream_));
  if (pending) YUN_RETURN_IF_ERROR(cuda::gather_rows_bf16(pending, T, H, d_lrows, R, fadd_, stream_));
  YUN_RETURN_IF_ERROR(cuda::add_rms_norm(fres_, pending ? fadd_ : nullptr, w_.final_norm, eps, fx_, R, H, stream_));
  return mm_.linear(fx_, R, H, w_.lm_head, cfg_.vocab_size, nullptr, logits_, cuda::OutType::kF32, stream_);
}

// MoE block: route on the device, group (token, expert) pairs by expert on
// the host (one small D2H + sync), one gate|up and one down GEMM per active
// expert over its contiguous rows, then the weighted combine into the residual.
Status CudaRunner::run_moe(const cuda::DeviceLayer& L, int64_t T) {
  const int64_t H = cfg_.hidden_size, E = cfg_.num_experts, k = topk_, I = moe_inter_;
  const int64_t P = T * k;
  YUN_RETURN_IF_ERROR(mm_.linear(x_, T, H, L.router, E, nullptr, router_, cuda::OutType::kF32, stream_));
  YUN_RETURN_IF_ERROR(cuda::moe_route(router_, T, int(E), int(k), cfg_.norm_topk_prob, topk_ids_, topk_w_, stream_));
  int32_t* h_ids = moe_h_;
  int32_t* h_gather = moe_h_ + P;  // [P] token of each sorted pair
  int32_t* h_rows = h_gather + P;  // [P] sorted position of pair (t, j)
  YUN_CUDA_CHECK(cudaMemcpyAsync(h_ids, topk_ids_, size_t(P) * 4, cudaMemcpyDeviceToHost, stream_));
  YUN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  std::vector<int64_t> count(size_t(E) + 1, 0), start(size_t(E) + 1, 0);
  for (int64_t p = 0; p < P; ++p) {
    if (h_ids[p] < 0 || h_ids[p] >= E) return internal_error("moe: expert id out of range");
    ++count[size_t(h_ids[p])];
  }
  for (int64_t e = 0; e < E; ++e) start[size_t(e) + 1] = start[size_t(e)] + count[size_t(e)];
  std::vector<int64_t> fill(start.begin(), start.end());
  for (int64_t p = 0; p < P; ++p) {
    const int64_t pos = fill[size_t(h_ids[p])]++;
    h_gather[pos] = int32_t(p / k);
    h_rows[p] = int32_t(pos);
  }
  YUN_CUDA_CHECK(cudaMemcpyAsync(moe_idx_, h_gather, size_t(2 * P) * 4, cudaMemcpyHostToDevice, stream_));
  YUN_RETURN_IF_ERROR(cuda::gather_rows_bf16(x_, T, H, moe_idx_, P, xg_, stream_));
  for (int64_t e = 0; e < E; ++e) {
    const int64_t n = count[size_t(e)], off = start[size_t(e)];
    if (n == 0) continue;
    YUN_RETURN_IF_ERROR(mm_.linear(xg_ + off * H, n, H, L.expert_gate_up[size_t(e)], 2 * I, nullptr,
                                   gu_ + off * 2 * I, cuda::OutType::kBF16, stream_));
  }
  YUN_RETURN_IF_ERROR(cuda::silu_mul(gu_, act_buf_, P, I, stream_));
  for (int64_t e = 0; e < E; ++e) {
    const int64_t n = count[size_t(e)], off = start[size_t(e)];
    if (n == 0) continue;
    YUN_RETURN_IF_ERROR(mm_.linear(act_buf_ + off * I, n, I, L.expert_down[size_t(e)], H, nullptr,
                                   eo_ + off * H, cuda::OutType::kBF16, stream_));
  }
  return cuda::moe_combine(eo_, P, moe_idx_ + P, topk_w_, T, int(k), H, residual_, stream_);
}

}  // namespace

Result<std::unique_ptr<ModelRunner>> create_cuda_runner(const std::string& model_dir,
                                                        const CudaRunnerOptions& options) {
  auto r = std::make_unique<CudaRunner>();
  YUN_RETURN_IF_ERROR(r->init(model_dir, options));
  return std::unique_ptr<ModelRunner>(std::move(r));
}

}  // namespace yun
