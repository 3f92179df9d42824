#include "yun/cli/engine_flags.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "yun/compute/cpu/matmul.h"
#include "yun/model/model_store.h"
#include "yun/model/quant_scheme.h"
#include "yun/model/weight_format.h"

namespace yun::cli {
namespace {

using T = EngineOptionType;

// An integer option's text, at least `lo` and at most INT32_MAX.
Status int_value(const std::string& value, int64_t lo, int32_t& out) {
  auto parsed = parse_int_flag("", value);
  if (!parsed.is_ok()) return invalid_argument("needs an integer, got '" + value + "'");
  const int64_t v = *parsed;
  if (v < lo || v > std::numeric_limits<int32_t>::max()) {
    return invalid_argument("must be >= " + std::to_string(lo));
  }
  out = static_cast<int32_t>(v);
  return Status::ok();
}

bool is_true(const std::string& v) { return v == "true"; }

const std::vector<EngineOption> kOptions = {
    {"device", T::kString, "cpu|cuda[:N]",
     "where the model runs (default: cuda:0 when this yun\n"
     "has the CUDA backend and a GPU is present, else cpu)",
     [](EngineFlags& f, const std::string& v) -> Status {
       f.runner.device = v;
       return Status::ok();
     }},
    {"gpu-memory-utilization", T::kNumber, "F",
     "share of the GPU's total memory this process may use\n"
     "for weights, activations and the KV cache, which\n"
     "gets what is left (as vLLM; default 0.9)",
     [](EngineFlags& f, const std::string& v) -> Status {
       auto parsed = parse_double_flag("", v);
       if (!parsed.is_ok()) return invalid_argument("needs a number, got '" + v + "'");
       const double x = *parsed;
       if (!(x > 0.0 && x <= 1.0)) return invalid_argument("must be in (0, 1]");
       f.runner.gpu_memory_utilization = x;
       return Status::ok();
     }},
    {"no-cuda-graphs", T::kBool, "", "run GPU decode steps without CUDA graphs",
     [](EngineFlags& f, const std::string& v) -> Status {
       f.runner.cuda_graphs = !is_true(v);
       return Status::ok();
     }},
    {"max-num-seqs", T::kInt, "N", "most sequences in one batch (default 256)",
     [](EngineFlags& f, const std::string& v) -> Status {
       return int_value(v, 1, f.engine.max_num_seqs);
     }},
    {"max-num-batched-tokens", T::kInt, "N",
     "most tokens per step; longer prompts are split into\n"
     "chunks (default 2048)",
     [](EngineFlags& f, const std::string& v) -> Status {
       return int_value(v, 1, f.engine.max_num_batched_tokens);
     }},
    {"max-model-len", T::kInt, "N",
     "context length (default: the model's\n"
     "max_position_embeddings)",
     [](EngineFlags& f, const std::string& v) -> Status {
       return int_value(v, 0, f.engine.max_model_len);
     }},
    {"block-size", T::kInt, "N", "tokens per KV cache block (default 16)",
     [](EngineFlags& f, const std::string& v) -> Status {
       return int_value(v, 1, f.engine.block_size);
     }},
    {"num-kv-blocks", T::kInt, "N", "KV cache size in blocks (overrides --kv-cache-memory)",
     [](EngineFlags& f, const std::string& v) -> Status {
       return int_value(v, 0, f.engine.num_kv_blocks);
     }},
    {"kv-cache-memory", T::kSize, "SIZE",
     "KV cache size in bytes: 512M, 4G, ... (default: what\n"
     "max-model-len x max-num-seqs needs, at most 1G on\n"
     "the CPU, at most what --gpu-memory-utilization\n"
     "leaves on a GPU)",
     [](EngineFlags& f, const std::string& v) -> Status {
       YUN_ASSIGN_OR_RETURN(f.engine.kv_cache_memory, parse_byte_size(v));
       return Status::ok();
     }},
    {"no-prefix-cache", T::kBool, "", "never reuse the KV cache of a shared prompt prefix",
     [](EngineFlags& f, const std::string& v) -> Status {
       f.engine.enable_prefix_cache = !is_true(v);
       return Status::ok();
     }},
    {"state-snapshot-interval", T::kInt, "N",
     "hybrid models (Qwen3.5): keep the recurrent state\n"
     "every N KV blocks for the prefix cache (default 4;\n"
     "paid from the KV cache memory, at most half of it)",
     [](EngineFlags& f, const std::string& v) -> Status {
       return int_value(v, 1, f.engine.state_snapshot_interval);
     }},
    {"threads", T::kInt, "N", "CPU threads for the model (default: all cores)",
     [](EngineFlags& f, const std::string& v) -> Status {
       return int_value(v, 0, f.runner.cpu.num_threads);
     }},
    {"no-mmap", T::kBool, "",
     "read the weights into memory backed by transparent\n"
     "huge pages instead of mapping the files: up to\n"
     "~15% faster decode on a 0.5B model, but the start\n"
     "copies every weight (0.2-0.5 s per GB) and\n"
     "processes no longer share the page cache",
     [](EngineFlags& f, const std::string& v) -> Status {
       f.runner.cpu.read_weights = is_true(v);
       return Status::ok();
     }},
    {"dtype", T::kString, "float32|bfloat16",
     "precision of activations in the CPU matrix products.\n"
     "float32 (default): logits agree with transformers in\n"
     "float32 to ~1e-4. bfloat16: activations rounded to\n"
     "bf16 and multiplied with AVX512_BF16 dot products,\n"
     "~2x faster prefill and batched decode, logits off by\n"
     "~1e-2 (as llama.cpp and vLLM's CPU backend compute);\n"
     "without AVX512_BF16 it runs float32, with a warning.",
     [](EngineFlags& f, const std::string& v) -> Status {
       if (v == "bfloat16" || v == "bf16") {
         f.runner.cpu.bf16_activations = true;
       } else if (v == "float32" || v == "fp32") {
         f.runner.cpu.bf16_activations = false;
       } else {
         return invalid_argument("must be float32 or bfloat16, not '" + v + "'");
       }
       return Status::ok();
     }},
    {"quantize", T::kString, "q8_0|q4_0|q4_k",
     "re-encode the weight matrices at load (CPU): 8-bit\n"
     "blocks of 32 with one scale, ~1.9x fewer bytes per\n"
     "token than bf16; int8 dot products (VNNI, AVX2);\n"
     "q4_k (= q4_k_m): llama.cpp's Q4_K_M mix of Q4_K and\n"
     "Q6_K (Q5_0/Q8_0 where rows are not 256-blocks)",
     [](EngineFlags& f, const std::string& v) -> Status {
       if (auto scheme = quant_scheme_by_name(v)) {
         f.runner.cpu.quantize_scheme = scheme;
         return Status::ok();
       }
       const WeightFormat* wf = weight_format_by_name(v);
       if (!wf || wf->block_elems == 1 || !wf->row_from_float)
         return invalid_argument("must be q8_0, q4_0 or q4_k, not '" + v + "'");
       f.runner.cpu.quantize = wf->dtype;
       return Status::ok();
     }},
    {"speculative-config", T::kString, "JSON",
     "speculative decoding with the model's own MTP head\n"
     "(Qwen3.5, CPU), as vLLM spells it:\n"
     "'{\"method\":\"mtp\",\"num_speculative_tokens\":1}';\n"
     "greedy requests only, in steps of fewer than\n"
     "disable_by_batch_size (default 3) sequences",
     [](EngineFlags& f, const std::string& v) -> Status {
       YUN_ASSIGN_OR_RETURN(f.engine.speculative, parse_speculative_config(v));
       f.runner.cpu.load_mtp = true;
       return Status::ok();
     }},
};

std::set<std::string> flag_names(bool bools) {
  std::set<std::string> out;
  for (const auto& o : kOptions) {
    if ((o.type == T::kBool) == bools) out.insert(std::string("--") + o.name);
  }
  return out;
}

}  // namespace

const std::vector<EngineOption>& engine_options() { return kOptions; }

const EngineOption* find_engine_option(std::string_view name) {
  for (const auto& o : kOptions) {
    if (name == o.name) return &o;
  }
  return nullptr;
}

Status apply_engine_option(EngineFlags& flags, const EngineOption& opt, const std::string& value) {
  Status st = opt.apply(flags, value);
  if (st.is_ok()) return st;
  return Status(st.code(), std::string("--") + opt.name + ": " + st.message());
}

Status resolve_engine_device(EngineFlags& flags) {
  YUN_ASSIGN_OR_RETURN(Device device, resolve_device(flags.runner.device));
  flags.runner.device = device.name();
  return Status::ok();
}

const std::set<std::string>& engine_value_flags() {
  static const std::set<std::string> f = flag_names(false);
  return f;
}

const std::set<std::string>& engine_bool_flags() {
  static const std::set<std::string> f = flag_names(true);
  return f;
}

std::string engine_flags_help() {
  constexpr size_t kColumn = 30;  // where the help text starts
  std::string out = "Engine options:\n";
  for (const auto& o : kOptions) {
    std::string head = std::string("  --") + o.name;
    if (*o.metavar) head += std::string(" ") + o.metavar;
    head.resize(std::max(head.size() + 1, kColumn), ' ');
    std::string_view help = o.help;
    bool first = true;
    while (!help.empty() || first) {
      size_t nl = help.find('\n');
      out += first ? head : std::string(kColumn, ' ');
      out += help.substr(0, nl);
      out += '\n';
      help = nl == std::string_view::npos ? std::string_view() : help.substr(nl + 1);
      first = false;
    }
  }
  return out;
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
  for (const auto& o : kOptions) {
    const std::string flag = std::string("--") + o.name;
    if (!args.has(flag)) continue;
    const std::string value = o.type == T::kBool ? "true" : args.get(flag).value_or("");
    YUN_RETURN_IF_ERROR(apply_engine_option(f, o, value));
  }
  YUN_RETURN_IF_ERROR(resolve_engine_device(f));
  return f;
}

Result<std::unique_ptr<Engine>> create_engine_for_model(const std::string& model_dir,
                                                        const EngineFlags& flags,
                                                        std::shared_ptr<const Tokenizer> tokenizer,
                                                        size_t* kv_bytes_per_token) {
  // A directory, or a repo id resolved through the Hugging Face cache.
  YUN_ASSIGN_OR_RETURN(const std::string dir,
                       resolve_model_path(model_dir, ModelStore::from_env()));
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
