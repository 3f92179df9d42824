#include "yun/cli/engine_flags.h"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "yun/compute/cpu/matmul.h"
#include "yun/model/model_store.h"
#include "yun/model/weight_format.h"

namespace yun::cli {

const std::set<std::string>& engine_value_flags() {
  static const std::set<std::string> f = {
      "--max-num-seqs",  "--max-num-batched-tokens", "--max-model-len", "--block-size",
      "--num-kv-blocks", "--kv-cache-memory",        "--threads",       "--dtype",
      "--device",        "--gpu-memory-utilization", "--quantize"};
  return f;
}

const std::set<std::string>& engine_bool_flags() {
  static const std::set<std::string> f = {"--no-prefix-cache", "--no-mmap", "--no-cuda-graphs"};
  return f;
}

const char* engine_flags_help() {
  return "Engine options:\n"
         "  --device cpu|cuda[:N]       where the model runs (default: cuda:0 when this yun\n"
         "                              has the CUDA backend and a GPU is present, else cpu)\n"
         "  --gpu-memory-utilization F  share of the GPU's total memory this process may use\n"
         "                              for weights, activations and the KV cache, which\n"
         "                              gets what is left (as vLLM; default 0.9)\n"
         "  --no-cuda-graphs            run GPU decode steps without CUDA graphs\n"
         "  --max-num-seqs N            most sequences in one batch (default 256)\n"
         "  --max-num-batched-tokens N  most tokens per step; longer prompts are split into\n"
         "                              chunks (default 2048)\n"
         "  --max-model-len N           context length (default: the model's\n"
         "                              max_position_embeddings)\n"
         "  --block-size N              tokens per KV cache block (default 16)\n"
         "  --num-kv-blocks N           KV cache size in blocks (overrides --kv-cache-memory)\n"
         "  --kv-cache-memory SIZE      KV cache size in bytes: 512M, 4G, ... (default: what\n"
         "                              max-model-len x max-num-seqs needs, at most 1G on\n"
         "                              the CPU, at most what --gpu-memory-utilization\n"
         "                              leaves on a GPU)\n"
         "  --no-prefix-cache           never reuse the KV cache of a shared prompt prefix\n"
         "  --threads N                 CPU threads for the model (default: all cores)\n"
         "  --no-mmap                   read the weights into memory backed by transparent\n"
         "                              huge pages instead of mapping the files: up to\n"
         "                              ~15% faster decode on a 0.5B model, but the start\n"
         "                              copies every weight (0.2-0.5 s per GB) and\n"
         "                              processes no longer share the page cache\n"
         "  --dtype float32|bfloat16    precision of activations in the CPU matrix products.\n"
         "                              float32 (default): logits agree with transformers in\n"
         "                              float32 to ~1e-4. bfloat16: activations rounded to\n"
         "                              bf16 and multiplied with AVX512_BF16 dot products,\n"
         "                              ~2x faster prefill and batched decode, logits off by\n"
         "                              ~1e-2 (as llama.cpp and vLLM's CPU backend compute);\n"
         "                              without AVX512_BF16 it runs float32, with a warning.\n"
         "  --quantize q8_0|q4_0        re-encode the weight matrices at load (CPU): 8-bit\n"
         "                              blocks of 32 with one scale, ~1.9x fewer bytes per\n"
         "                              token than bf16; int8 dot products (VNNI, AVX2)\n";
}

Result<int64_t> parse_byte_size(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return invalid_argument("bad size '" + s + "' (expected e.g. 512M or 4G)");
  double v = 0;
  try {
    v = std::stod(s.substr(0, i));
  } catch (...) {
    return invalid_argument("bad size '" + s + "'");
  }
  std::string unit = s.substr(i);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double mult = 1;
  if (unit.empty() || unit == "B")
    mult = 1;
  else if (unit == "K" || unit == "KB" || unit == "KIB")
    mult = 1024.0;
  else if (unit == "M" || unit == "MB" || unit == "MIB")
    mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "GB" || unit == "GIB")
    mult = 1024.0 * 1024 * 1024;
  else
    return invalid_argument("bad size unit in '" + s + "' (use K, M or G)");
  double bytes = v * mult;
  if (bytes > 9e18) return invalid_argument("size '" + s + "' is too large");
  return static_cast<int64_t>(bytes);
}

Result<EngineFlags> parse_engine_flags(const Args& args) {
  EngineFlags f;
  auto int_flag = [&](const char* name, int64_t def, int64_t lo, int32_t& out) -> Status {
    YUN_ASSIGN_OR_RETURN(int64_t v, args.get_int(name, def));
    if (v < lo || v > std::numeric_limits<int32_t>::max()) {
      return invalid_argument(std::string(name) + " must be >= " + std::to_string(lo));
    }
    out = static_cast<int32_t>(v);
    return Status::ok();
  };
  EngineConfig& e = f.engine;
  YUN_RETURN_IF_ERROR(int_flag("--max-num-seqs", e.max_num_seqs, 1, e.max_num_seqs));
  YUN_RETURN_IF_ERROR(
      int_flag("--max-num-batched-tokens", e.max_num_batched_tokens, 1, e.max_num_batched_tokens));
  YUN_RETURN_IF_ERROR(int_flag("--max-model-len", 0, 0, e.max_model_len));
  YUN_RETURN_IF_ERROR(int_flag("--block-size", e.block_size, 1, e.block_size));
  YUN_RETURN_IF_ERROR(int_flag("--num-kv-blocks", 0, 0, e.num_kv_blocks));
  if (auto m = args.get("--kv-cache-memory")) {
    auto bytes = parse_byte_size(*m);
    if (!bytes) return bytes.status().with_context("--kv-cache-memory");
    e.kv_cache_memory = *bytes;
  }
  e.enable_prefix_cache = !args.has("--no-prefix-cache");
  int32_t threads = 0;
  YUN_RETURN_IF_ERROR(int_flag("--threads", 0, 0, threads));
  f.runner.cpu.num_threads = threads;
  f.runner.cpu.read_weights = args.has("--no-mmap");
  const std::string dtype = args.get("--dtype").value_or("float32");
  if (dtype == "bfloat16" || dtype == "bf16") {
    f.runner.cpu.bf16_activations = true;
  } else if (dtype != "float32" && dtype != "fp32") {
    return invalid_argument("--dtype must be float32 or bfloat16, not '" + dtype + "'");
  }
  if (auto q = args.get("--quantize")) {
    const WeightFormat* wf = weight_format_by_name(*q);
    if (!wf || wf->block_elems == 1 || !wf->row_from_float)
      return invalid_argument("--quantize must be q8_0 or q4_0, not '" + *q + "'");
    f.runner.cpu.quantize = wf->dtype;
  }
  YUN_ASSIGN_OR_RETURN(
      f.runner.gpu_memory_utilization,
      args.get_double("--gpu-memory-utilization", f.runner.gpu_memory_utilization));
  if (!(f.runner.gpu_memory_utilization > 0.0 && f.runner.gpu_memory_utilization <= 1.0)) {
    return invalid_argument("--gpu-memory-utilization must be in (0, 1]");
  }
  f.runner.cuda_graphs = !args.has("--no-cuda-graphs");
  YUN_ASSIGN_OR_RETURN(Device device, resolve_device(args.get("--device").value_or("")));
  f.runner.device = device.name();
  return f;
}

Result<std::unique_ptr<Engine>> create_engine_for_model(
    const std::string& model_dir, const EngineFlags& flags,
    std::shared_ptr<const Tokenizer> tokenizer, size_t* kv_bytes_per_token) {
  // A directory, or a repo id resolved through the Hugging Face cache.
  YUN_ASSIGN_OR_RETURN(const std::string dir, resolve_model_path(model_dir, ModelStore::from_env()));
  const bool on_cpu = flags.runner.device.empty() || flags.runner.device == "cpu";
  if (on_cpu && flags.runner.cpu.bf16_activations && !matmul_bf16_supported()) {
    std::fprintf(stderr,
                 "yun: warning: --dtype bfloat16 needs AVX512_BF16, which this CPU "
                 "lacks; computing in float32\n");
  }
  YUN_ASSIGN_OR_RETURN(std::unique_ptr<ModelRunner> runner, create_runner(dir, flags.runner));
  if (kv_bytes_per_token) *kv_bytes_per_token = runner->kv_bytes_per_token();
  EngineConfig cfg = flags.engine;
  if (cfg.eos_token_ids.empty()) {
    for (int64_t id : runner->config().eos_token_ids)
      cfg.eos_token_ids.push_back(static_cast<int32_t>(id));
  }
  return Engine::create(cfg, std::move(runner), std::move(tokenizer));
}

}  // namespace yun::cli
