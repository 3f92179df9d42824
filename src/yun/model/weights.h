// ModelWeights: the tensors of a decoder, found by their Hugging Face names in
// a checkpoint and checked for shape and dtype. Views into the mmap'd files:
// nothing is copied here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/model/config.h"
#include "yun/model/tensor.h"

namespace yun {

class WeightSource;  // weight_source.h

struct LayerWeights {
  TensorView input_norm;                 // [hidden]
  TensorView q_proj, k_proj, v_proj;     // [q_size|kv_size, hidden]
  TensorView q_bias, k_bias, v_bias;     // optional [q_size|kv_size]
  TensorView o_proj;                     // [hidden, q_size]
  TensorView o_bias;                     // optional [hidden]
  TensorView q_norm, k_norm;             // optional [head_dim] (qwen3)
  TensorView post_attention_norm;        // [hidden]
  // Dense MLP (empty on MoE layers).
  TensorView gate_proj, up_proj;         // [intermediate, hidden]
  TensorView down_proj;                  // [hidden, intermediate]
  TensorView gate_bias, up_bias;         // optional [intermediate] (llama mlp_bias)
  TensorView down_bias;                  // optional [hidden] (llama mlp_bias)
  // MoE (empty on dense layers).
  TensorView router;                     // [num_experts, hidden]
  std::vector<TensorView> expert_gate, expert_up;  // each [moe_intermediate, hidden]
  std::vector<TensorView> expert_down;             // each [hidden, moe_intermediate]
  // Qwen3.5 shared expert (MoE layers with one; empty otherwise). Fused 3-D
  // expert tensors are cut into the per-expert views above (no copy).
  TensorView shared_gate, shared_up;  // [shared_intermediate, hidden]
  TensorView shared_down;             // [hidden, shared_intermediate]
  TensorView shared_expert_gate;      // [1, hidden]
  // Qwen3.5 Gated DeltaNet (linear-attention layers; the self_attn views
  // above are empty there). C = 2*Hk*Dk + Hv*Dv.
  TensorView in_proj_qkv;           // [C, hidden]
  TensorView in_proj_z;             // [Hv*Dv, hidden]
  TensorView in_proj_b, in_proj_a;  // [Hv, hidden]
  TensorView conv1d;                // [C, 1, kernel]
  TensorView a_log, dt_bias;        // [Hv]
  TensorView linear_norm;           // [Dv] (plain weight)
  TensorView out_proj;              // [hidden, Hv*Dv]
};

// Qwen3.5's multi-token-prediction head (`mtp.*`), for speculative decoding:
// fc [hidden, 2*hidden] over [norm_e(embedding), norm_h(hidden state)], one
// full-attention decoder layer with the model's MLP kind, a final norm; it
// shares the model's embedding and lm_head. Norms zero-centred as stored.
struct MtpWeights {
  TensorView fc;                                         // [hidden, 2*hidden]
  TensorView pre_fc_norm_embedding, pre_fc_norm_hidden;  // [hidden]
  TensorView norm;                                       // [hidden]
  LayerWeights layer;                                    // mtp.layers.0.*
};

struct ModelWeights {
  TensorView embed_tokens;  // [vocab, hidden]
  std::vector<LayerWeights> layers;
  TensorView final_norm;    // [hidden]
  TensorView lm_head;       // [vocab, hidden]; == embed_tokens when tied
  std::optional<MtpWeights> mtp;  // only after load_mtp_weights
  std::shared_ptr<WeightSource> store;  // keeps the mappings alive
  // Tensors made at load (quantize_model_weights) that views above point into.
  std::vector<std::vector<uint8_t>> owned;
};

// Finds and checks every tensor the config needs. Errors name the tensor:
// kNotFound (missing), kInvalidArgument (wrong shape or unsupported dtype).
// Vectors (norms, biases) must be F32, F16 or BF16; matrices may be any
// weight format (model/weight_format.h) whose blocks tile their rows. Text
// tensors are looked up under `model.` or, for the vision-language layout
// (Qwen3.5), under `model.language_model.`; the vision tower
// (`model.visual.*`) and the MTP head (`mtp.*`) are not read.
Result<ModelWeights> load_model_weights(const ModelConfig& config,
                                        std::shared_ptr<WeightSource> store);

// Reads the MTP head (`mtp.*`, MtpWeights) from w.store into w.mtp, checked
// like the rest. Errors: kNotFound when the checkpoint has none (or a tensor
// is missing), kInvalidArgument for a wrong shape or dtype.
Status load_mtp_weights(const ModelConfig& config, ModelWeights& w);

// Re-encodes every matrix (embedding, projections, experts, lm_head; not the
// router) in `format` (any format with an encoder: Q8_0, Q4_0, BF16, ...), into
// w.owned. Matrices whose rows are not whole blocks of `format` (as
// llama.cpp, which falls back for those too), or already in a block format
// when `format` is one too, stay as they are; to a plain format (F32, ...)
// block formats are decoded. Errors: kInvalidArgument when yun cannot write `format`.
Status quantize_model_weights(ModelWeights& w, DType format);

// Re-encodes the matrix `t` (a view in w) in `format` into w.owned, decoding
// it first; the rule quantize_model_weights applies to each matrix. Errors:
// kInvalidArgument when yun cannot write `format` or t's rows are not whole
// blocks of it.
Status quantize_tensor(ModelWeights& w, TensorView& t, DType format);

}  // namespace yun
