// The tokenizer as GGUF metadata, both ways:
//   * tokenizer_from_gguf: tokenizer.ggml.* (+ tokenizer.chat_template) ->
//     a Tokenizer, so a .gguf file needs no tokenizer.json beside it;
//   * gguf_vocab_from_tokenizer_dir: a Hugging Face tokenizer.json (+
//     tokenizer_config.json) -> the GgufVocab `yun quantize` writes.
//
// Both go through the tokenizer.json form: a GGUF vocabulary is rebuilt as
// the equivalent tokenizer.json text and loaded by Tokenizer::from_json, so
// encoding follows the same code (and the same HF-exact rules) either way.
// Supported: tokenizer.ggml.model "gpt2" (byte-level BPE) with
// tokenizer.ggml.pre "qwen2" (Qwen2/2.5/3: NFC, the Qwen2 split regex) or
// "llama-bpe" (Llama 3: its regex, ignore_merges). Token types 3 (control)
// become special added tokens, 4 (user-defined) non-special added tokens.
#pragma once

#include <memory>
#include <string>

#include "yun/base/status.h"
#include "yun/model/gguf.h"
#include "yun/model/gguf_export.h"
#include "yun/text/tokenizer.h"

namespace yun {

// Errors: kNotFound when the file has no tokenizer.ggml.tokens;
// kUnimplemented for another tokenizer model or pre-tokenizer (naming it);
// kInvalidArgument for inconsistent arrays (naming the key).
Result<std::shared_ptr<Tokenizer>> tokenizer_from_gguf(const GgufFile& file);

// `vocab_size`: the model's embedding rows; ids the tokenizer does not use
// are written as "[PAD<id>]", type 5 (unused), as llama.cpp's converter does.
// `fallback_bos` / `fallback_eos`: the config's ids, used when
// tokenizer_config.json names no such token.
// Errors: kNotFound (no tokenizer.json), kUnimplemented for a tokenizer that
// is not byte-level BPE with a known pre-tokenizer, kInvalidArgument otherwise.
Result<GgufVocab> gguf_vocab_from_tokenizer_dir(const std::string& dir, int64_t vocab_size,
                                                std::optional<int64_t> fallback_bos,
                                                std::optional<int64_t> fallback_eos);

}  // namespace yun
