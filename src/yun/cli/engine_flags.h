// Engine flags shared by `yun run`, `yun bench` and `yun serve`: the device,
// KV cache and batching knobs plus CPU threads, and creating an Engine for a
// model directory from them.
//
//   --device cpu|cuda[:N]       where the model runs (default: cuda:0 when this
//                               binary has CUDA and a GPU is present, else cpu)
//   --gpu-memory-utilization F  share of the GPU's memory for weights +
//                               activations + KV cache (vLLM's meaning; 0.9)
//   --no-cuda-graphs            decode steps without CUDA graphs
//   --max-num-seqs N            sequences in one batch (default 256)
//   --max-num-batched-tokens N  tokens per step; longer prompts are chunked (2048)
//   --max-model-len N           context length (default: the model's)
//   --block-size N              tokens per KV block (16)
//   --num-kv-blocks N           KV blocks (default: from --kv-cache-memory)
//   --kv-cache-memory SIZE      KV cache bytes, e.g. 512M, 4G (default: see engine)
//   --no-prefix-cache           do not reuse KV blocks of shared prompt prefixes
//   --threads N                 CPU threads (default: all)
//   --dtype float32|bfloat16    activation precision of CPU matmuls (float32)
//   --quantize q8_0|q4_0        re-encode the weight matrices at load (CPU)
#pragma once

#include <memory>
#include <set>
#include <string>

#include "yun/base/status.h"
#include "yun/cli/args.h"
#include "yun/compute/runner_factory.h"
#include "yun/engine/engine.h"
#include "yun/text/tokenizer.h"

namespace yun::cli {

struct EngineFlags {
  EngineConfig engine;
  DeviceOptions runner;  // device already resolved (runner.device is "cpu" or "cuda:N")
};

// Flag names for Args::parse (merge them into a command's own sets).
const std::set<std::string>& engine_value_flags();
const std::set<std::string>& engine_bool_flags();
// The help lines for the flags above (for a command's --help).
const char* engine_flags_help();

// Reads the flags (defaults when absent) and resolves --device on this
// machine. Errors: kInvalidArgument naming the flag; kUnavailable for a
// --device this binary or machine does not have (one line: the CLI exits 2).
Result<EngineFlags> parse_engine_flags(const Args& args);

// "4096", "512K", "512M", "4G", "4GiB" -> bytes. Errors: kInvalidArgument.
Result<int64_t> parse_byte_size(const std::string& s);

// Loads DIR (or the cached snapshot of a repo id, model/model_store.h) with the runner for
// flags.runner (create_runner) and starts an engine (EOS ids from the model's generation
// config). Errors: kNotFound for a missing directory or an uncached repo,
// the loaders' errors for bad files, engine config errors.
// `kv_bytes_per_token`, when given, gets the runner's KV bytes per token.
Result<std::unique_ptr<Engine>> create_engine_for_model(const std::string& model_dir,
                                                        const EngineFlags& flags,
                                                        std::shared_ptr<const Tokenizer> tokenizer,
                                                        size_t* kv_bytes_per_token = nullptr);

}  // namespace yun::cli
