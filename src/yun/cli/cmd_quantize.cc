// `yun quantize IN OUT.gguf --type q8_0|q4_k_m|q4_0|bf16|f16|f32`: a Hugging Face model
// directory (bf16 safetensors) to a GGUF file that llama.cpp and yun read,
// with the tokenizer and chat template in its metadata.
//
// Matrices whose rows are not whole blocks of the type keep their stored
// format; q4_k_m (model/quant_scheme.h) mixes Q4_K and Q6_K and falls back
// to Q5_0 / Q8_0 for such rows, as llama.cpp does. Exit 2 with a one-line error on
// bad flags or a bad model; 1 when the file cannot be written.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "yun/base/exit_code.h"
#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/model/gguf_export.h"
#include "yun/model/model_store.h"
#include "yun/model/quant_scheme.h"
#include "yun/model/safetensors.h"
#include "yun/model/weight_format.h"
#include "yun/model/weights.h"
#include "yun/text/gguf_tokenizer.h"

namespace yun::cli {
namespace {

constexpr const char* kQuantizeHelp =
    "Usage: yun quantize MODEL OUT.gguf [--type q8_0] [--tokenizer DIR] [--name NAME]\n"
    "\n"
    "Writes MODEL (a model directory or cached Hugging Face repo id, safetensors)\n"
    "as one GGUF file: weights, config, tokenizer and chat template, readable by\n"
    "`yun run OUT.gguf`, `yun serve OUT.gguf` and llama.cpp.\n"
    "\n"
    "  --type T         matrix format: q8_0 (default), q4_k_m (= q4_k: llama.cpp's\n"
    "                   Q4_K_M mix of Q4_K and Q6_K), q4_0, bf16, f16 or f32;\n"
    "                   norms and biases are stored as f32\n"
    "  --tokenizer DIR  take tokenizer.json / tokenizer_config.json from DIR\n"
    "                   (default: MODEL); without one the file has no tokenizer\n"
    "  --name NAME      general.name (default: the architecture)\n"
    "  --help           show this help\n";

int run_quantize(const std::vector<std::string>& argv) {
  auto parsed = Args::parse(argv, {"--type", "--tokenizer", "--name"}, {"--help", "-h"});
  if (!parsed) return fail(2, "quantize: " + parsed.status().message());
  const Args& args = parsed.value();
  if (args.has("--help") || args.has("-h")) {
    std::cout << kQuantizeHelp;
    return 0;
  }
  if (args.positional().size() != 2) return fail(2, "quantize: give MODEL and OUT.gguf");
  const std::string type = args.get_string("--type", "q8_0");
  const std::optional<QuantScheme> scheme = quant_scheme_by_name(type);
  const WeightFormat* wf = scheme ? nullptr : weight_format_by_name(type);
  if (!scheme &&
      (!wf || !wf->row_from_float || wf->dtype == DType::kQ5_0 || wf->dtype == DType::kQ6_K))
    return fail(
        2, "quantize: --type must be q8_0, q4_k_m, q4_0, bf16, f16 or f32, not '" + type + "'");
  auto dir = resolve_model_path(args.positional()[0], ModelStore::from_env());
  if (!dir) return fail(2, "quantize: " + dir.status().message());
  const auto t0 = std::chrono::steady_clock::now();
  auto config = load_model_config(*dir);
  if (!config) return fail(2, "quantize: " + config.status().to_string());
  auto store = WeightStore::open_dir(*dir);
  if (!store) return fail(2, "quantize: " + store.status().to_string());
  auto weights = load_model_weights(*config, *store);
  if (!weights) return fail(2, "quantize: " + weights.status().to_string());
  if (Status s = scheme ? quantize_model_weights(*weights, *scheme)
                        : quantize_model_weights(*weights, wf->dtype);
      !s.is_ok())
    return fail(2, "quantize: " + s.to_string());
  const std::string tok_dir = args.get_string("--tokenizer", *dir);
  GgufVocab vocab;
  GgufExportOptions opts;
  opts.name = args.get_string("--name", "");
  if (scheme) opts.file_type = quant_scheme_file_type(*scheme);
  auto v = gguf_vocab_from_tokenizer_dir(tok_dir, config->vocab_size, config->bos_token_id,
                                         config->eos_token_ids.empty()
                                             ? std::nullopt
                                             : std::optional<int64_t>(config->eos_token_ids[0]));
  if (v.is_ok()) {
    vocab = std::move(*v);
    opts.vocab = &vocab;
  } else if (v.status().code() != StatusCode::kNotFound || args.has("--tokenizer")) {
    return fail(2, "quantize: " + v.status().to_string());
  } else {
    std::fprintf(stderr, "yun: quantize: no tokenizer.json in %s; the file has no tokenizer\n",
                 tok_dir.c_str());
  }
  const std::string out = args.positional()[1];
  if (Status s = write_model_gguf(*config, *weights, opts, out); !s.is_ok())
    return fail(exit_code_for(s), "quantize: " + s.to_string());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "yun: wrote %s (%s) in %.1f s\n", out.c_str(),
               scheme ? quant_scheme_name(*scheme) : wf->name, secs);
  return 0;
}

}  // namespace

YUN_COMMAND("quantize", "write a model as a GGUF file (q8_0, q4_k_m, q4_0, bf16, f16, f32)",
            run_quantize);

}  // namespace yun::cli
