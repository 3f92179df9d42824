// A decoder model in a GGUF file: its ModelConfig from the `{arch}.*`
// metadata, and its tensors under their Hugging Face names (a WeightSource).
//
// Architectures (general.architecture): qwen2, qwen3, qwen3moe, llama.
// Metadata read: {arch}.block_count, .context_length, .embedding_length,
// .feed_forward_length, .attention.head_count, .attention.head_count_kv,
// .attention.key_length, .attention.layer_norm_rms_epsilon, .rope.freq_base,
// .rope.scaling.{type,factor,original_context_length}, .expert_count,
// .expert_used_count, .expert_feed_forward_length, .vocab_size, and
// tokenizer.ggml.{bos,eos,padding}_token_id. The config goes through
// parse_model_config, so it is checked by the same rules as a config.json.
//
// Tensor names (GGUF -> Hugging Face, N the layer):
//   token_embd.weight        model.embed_tokens.weight
//   output_norm.weight       model.norm.weight
//   output.weight            lm_head.weight (absent: tied embeddings)
//   blk.N.attn_norm          model.layers.N.input_layernorm
//   blk.N.attn_{q,k,v}       .self_attn.{q,k,v}_proj (.weight, .bias)
//   blk.N.attn_output        .self_attn.o_proj
//   blk.N.attn_{q,k}_norm    .self_attn.{q,k}_norm
//   blk.N.ffn_norm           .post_attention_layernorm
//   blk.N.ffn_{gate,up,down} .mlp.{gate,up,down}_proj
//   blk.N.ffn_gate_inp       .mlp.gate (the MoE router)
//   blk.N.ffn_{gate,up,down}_exps [E, rows, cols]: .mlp.experts.E.*_proj
// llama.cpp's converter reorders the rows of each head of attn_q / attn_k for
// the llama architecture (RoPE on adjacent pairs instead of halves); yun
// undoes that at load (a copy of those two matrices per layer) and redoes it
// when writing a llama GGUF.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/model/config.h"
#include "yun/model/gguf.h"
#include "yun/model/weight_source.h"

namespace yun {

// Errors: kUnimplemented for another architecture or a feature yun does not
// run (naming it); kInvalidArgument for missing or bad metadata (naming the key).
Result<ModelConfig> gguf_model_config(const GgufFile& file);

// The GGUF architecture name of `c` ("qwen2", ...), or "" for an architecture
// yun has no GGUF mapping for (Qwen3.5: its linear-attention tensors).
const char* gguf_arch_name(const ModelConfig& c);

// The GGUF name of a Hugging Face tensor name, or "" when it has none (the
// experts, which GGUF stores stacked: see gguf_experts_name).
std::string gguf_tensor_name(const std::string& hf_name);
// "blk.N.ffn_gate_exps.weight" for layer N's stacked gate/up/down experts
// (`which` is "gate", "up" or "down").
std::string gguf_experts_name(int64_t layer, const std::string& which);

// Row order of a llama-architecture Q or K matrix with `heads` heads of
// `rows / heads` rows: to_gguf true maps Hugging Face order to GGUF order.
// Returns, for each destination row, its source row.
std::vector<int64_t> llama_qk_row_order(int64_t rows, int64_t heads, bool to_gguf);

class GgufWeights final : public WeightSource {
 public:
  // Errors: kInvalidArgument when a tensor the mapping needs has an
  // unexpected rank or size (naming it).
  static Result<std::shared_ptr<GgufWeights>> create(std::shared_ptr<GgufFile> file,
                                                     const ModelConfig& config);

  const TensorView* find(const std::string& name) const override;
  std::vector<std::string> names() const override;
  size_t total_bytes() const override;
  void prefetch() const override { file_->file().prefetch(); }
  const GgufFile& file() const { return *file_; }

 private:
  std::shared_ptr<GgufFile> file_;
  std::map<std::string, TensorView> views_;
  std::vector<std::vector<uint8_t>> owned_;  // un-permuted llama Q/K rows
};

// Opens PATH as a model: config, weights. Errors: as GgufFile::open,
// gguf_model_config, GgufWeights::create.
struct GgufModel {
  ModelConfig config;
  std::shared_ptr<GgufWeights> weights;
};
Result<GgufModel> open_gguf_model(const std::string& path, FileLoad load = FileLoad::kMap);

}  // namespace yun
