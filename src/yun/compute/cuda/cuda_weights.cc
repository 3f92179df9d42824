// Weight upload to the device (see cuda_weights.h).
#include "yun/compute/cuda/cuda_weights.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "yun/base/half.h"

namespace yun::cuda {
namespace {

// Copies host tensors to the device through two pinned staging buffers: the
// host fills (and converts into) one while the DMA engine drains the other.
class Uploader {
 public:
  static constexpr size_t kStagingBytes = size_t(32) << 20;
  ~Uploader() {
    if (stream_) cudaStreamSynchronize(stream_);
    for (int i = 0; i < 2; ++i) {
      if (buf_[i]) cudaFreeHost(buf_[i]);
      if (ev_[i]) cudaEventDestroy(ev_[i]);
    }
    if (stream_) cudaStreamDestroy(stream_);
  }
  Status init() {
    YUN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    for (int i = 0; i < 2; ++i) {
      YUN_CUDA_CHECK(cudaMallocHost(&buf_[i], kStagingBytes));
      YUN_CUDA_CHECK(cudaEventCreateWithFlags(&ev_[i], cudaEventDisableTiming));
    }
    return Status::ok();
  }
  // dst[0:numel] = bf16(tv). F32 / F16 / BF16 sources.
  Status upload(const TensorView& tv, bf16* dst) {
    const int64_t n = tv.numel();
    const int64_t per_chunk = int64_t(kStagingBytes / sizeof(bf16));
    for (int64_t off = 0; off < n; off += per_chunk) {
      const int64_t cnt = std::min(per_chunk, n - off);
      YUN_CUDA_CHECK(cudaEventSynchronize(ev_[cur_]));  // buffer free again
      uint16_t* out = static_cast<uint16_t*>(buf_[cur_]);
      switch (tv.dtype) {
        case DType::kBF16:
          std::memcpy(out, static_cast<const uint16_t*>(tv.data) + off, size_t(cnt) * 2);
          break;
        case DType::kF16: {
          const uint16_t* src = static_cast<const uint16_t*>(tv.data) + off;
          for (int64_t i = 0; i < cnt; ++i) out[i] = f32_to_bf16(f16_to_f32(src[i]));
          break;
        }
        case DType::kF32: {
          const float* src = static_cast<const float*>(tv.data) + off;
          for (int64_t i = 0; i < cnt; ++i) out[i] = f32_to_bf16(src[i]);
          break;
        }
        default:
          return invalid_argument(std::string("cuda upload: unsupported dtype ") + dtype_name(tv.dtype));
      }
      YUN_CUDA_CHECK(cudaMemcpyAsync(dst + off, out, size_t(cnt) * 2, cudaMemcpyHostToDevice, stream_));
      YUN_CUDA_CHECK(cudaEventRecord(ev_[cur_], stream_));
      cur_ ^= 1;
    }
    return Status::ok();
  }
  Status finish() {
    YUN_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return Status::ok();
  }

 private:
  cudaStream_t stream_ = nullptr;
  void* buf_[2] = {nullptr, nullptr};
  cudaEvent_t ev_[2] = {nullptr, nullptr};
  int cur_ = 0;
};

Result<bf16*> alloc_bf16(DeviceWeights* dw, int64_t n) {
  void* p = nullptr;
  YUN_CUDA_CHECK(cudaMalloc(&p, size_t(std::max<int64_t>(n, 1)) * sizeof(bf16)));
  dw->allocs.push_back(p);
  dw->bytes += size_t(std::max<int64_t>(n, 1)) * sizeof(bf16);
  return static_cast<bf16*>(p);
}

Result<bf16*> upload(DeviceWeights* dw, Uploader& up, const TensorView& tv) {
  if (tv.empty()) return static_cast<bf16*>(nullptr);
  YUN_ASSIGN_OR_RETURN(bf16* d, alloc_bf16(dw, tv.numel()));
  YUN_RETURN_IF_ERROR(up.upload(tv, d));
  return d;
}

// Concatenates along rows (dim 0): fused QKV, gate|up, biases.
Result<bf16*> upload_concat(DeviceWeights* dw, Uploader& up, const std::vector<const TensorView*>& parts) {
  int64_t total = 0;
  for (auto* p : parts) total += p->numel();
  YUN_ASSIGN_OR_RETURN(bf16* d, alloc_bf16(dw, total));
  int64_t off = 0;
  for (auto* p : parts) {
    YUN_RETURN_IF_ERROR(up.upload(*p, d + off));
    off += p->numel();
  }
  return d;
}

}  // namespace

DeviceWeights::~DeviceWeights() {
  for (void* p : allocs) cudaFree(p);
}

Status upload_weights(const ModelConfig& cfg, const ModelWeights& w, DeviceWeights* dw) {
  const int64_t nl = cfg.num_hidden_layers;
  if (int64_t(w.layers.size()) != nl) return invalid_argument("cuda: layer count mismatch");
  Uploader up;
  YUN_RETURN_IF_ERROR(up.init());
  YUN_ASSIGN_OR_RETURN(dw->embed, upload(dw, up, w.embed_tokens));
  if (w.lm_head.data == w.embed_tokens.data) {
    dw->lm_head = dw->embed;
  } else {
    YUN_ASSIGN_OR_RETURN(dw->lm_head, upload(dw, up, w.lm_head));
  }
  YUN_ASSIGN_OR_RETURN(dw->final_norm, upload(dw, up, w.final_norm));
  dw->layers.resize(size_t(nl));
  for (int64_t i = 0; i < nl; ++i) {
    const LayerWeights& lw = w.layers[size_t(i)];
    DeviceLayer& L = dw->layers[size_t(i)];
    YUN_ASSIGN_OR_RETURN(L.input_norm, upload(dw, up, lw.input_norm));
    YUN_ASSIGN_OR_RETURN(L.post_norm, upload(dw, up, lw.post_attention_norm));
    YUN_ASSIGN_OR_RETURN(L.qkv_w, upload_concat(dw, up, {&lw.q_proj, &lw.k_proj, &lw.v_proj}));
    if (!lw.q_bias.empty()) {
      if (lw.k_bias.empty() || lw.v_bias.empty()) return invalid_argument("cuda: partial QKV bias");
      YUN_ASSIGN_OR_RETURN(L.qkv_b, upload_concat(dw, up, {&lw.q_bias, &lw.k_bias, &lw.v_bias}));
    }
    YUN_ASSIGN_OR_RETURN(L.o_w, upload(dw, up, lw.o_proj));
    YUN_ASSIGN_OR_RETURN(L.o_b, upload(dw, up, lw.o_bias));
    YUN_ASSIGN_OR_RETURN(L.q_norm, upload(dw, up, lw.q_norm));
    YUN_ASSIGN_OR_RETURN(L.k_norm, upload(dw, up, lw.k_norm));
    L.moe = !lw.router.empty();
    if (L.moe) {
      dw->any_moe = true;
      YUN_ASSIGN_OR_RETURN(L.router, upload(dw, up, lw.router));
      for (size_t e = 0; e < lw.expert_gate.size(); ++e) {
        YUN_ASSIGN_OR_RETURN(bf16 * gu, upload_concat(dw, up, {&lw.expert_gate[e], &lw.expert_up[e]}));
        YUN_ASSIGN_OR_RETURN(bf16 * dn, upload(dw, up, lw.expert_down[e]));
        L.expert_gate_up.push_back(gu);
        L.expert_down.push_back(dn);
      }
    } else {
      YUN_ASSIGN_OR_RETURN(L.gate_up_w, upload_concat(dw, up, {&lw.gate_proj, &lw.up_proj}));
      YUN_ASSIGN_OR_RETURN(L.down_w, upload(dw, up, lw.down_proj));
      if (!lw.gate_bias.empty() && !lw.up_bias.empty()) {
        YUN_ASSIGN_OR_RETURN(L.gate_up_b, upload_concat(dw, up, {&lw.gate_bias, &lw.up_bias}));
      }
      YUN_ASSIGN_OR_RETURN(L.down_b, upload(dw, up, lw.down_bias));
    }
  }
  YUN_RETURN_IF_ERROR(up.finish());
  return Status::ok();
}

}  // namespace yun::cuda
