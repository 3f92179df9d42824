// Writes a loaded model (ModelConfig + ModelWeights, e.g. after
// quantize_model_weights) as a GGUF file llama.cpp and yun read: the
// `{arch}.*` metadata gguf_model.h reads back, the tokenizer metadata
// (tokenizer.ggml.*, tokenizer.chat_template) when given, and every tensor
// under its GGUF name (vectors as F32; experts stacked per layer; llama Q/K
// rows in llama.cpp's order).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/model/config.h"
#include "yun/model/weights.h"

namespace yun {

// The tokenizer as GGUF stores it (tokenizer.ggml.*). Token types are
// llama.cpp's: 1 normal, 3 control, 4 user-defined, 5 unused.
struct GgufVocab {
  std::string model = "gpt2";  // byte-level BPE
  std::string pre;             // pre-tokenizer name: "qwen2", "llama-bpe"
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<std::string> merges;  // "left right"
  std::optional<int64_t> bos, eos, pad;
  bool add_bos = false;
  std::string chat_template;  // empty: none
};

struct GgufExportOptions {
  std::string name;            // general.name
  const GgufVocab* vocab = nullptr;
  // general.file_type; default: llama.cpp's type for the most common matrix
  // format (a mixed scheme sets its own: quant_scheme_file_type).
  std::optional<uint32_t> file_type;
};

// The tokenizer.ggml.* and tokenizer.chat_template keys of `vocab`.
class GgufWriter;
void add_vocab_metadata(GgufWriter& w, const GgufVocab& vocab);

// Errors: kInvalidArgument when the file cannot be written or a tensor has
// no GGUF form (naming it); kUnimplemented for an architecture without a
// GGUF mapping (gguf_arch_name "": Qwen3.5), before anything is written.
Status write_model_gguf(const ModelConfig& config, const ModelWeights& weights,
                        const GgufExportOptions& options, const std::string& path);

}  // namespace yun
