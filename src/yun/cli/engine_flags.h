// Engine flags shared by `yun run`, `yun bench` and `yun serve`: the device,
// KV cache and batching knobs plus CPU threads (the table engine_options()
// below; `yun serve --help` prints it), and creating an Engine for a model
// directory from them.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

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

// One engine option, written once: the command-line flags, their --help
// lines, parse_engine_flags() and the per-model "engine" object of
// `yun serve --models-config` (cli/models_config.h) all come from
// engine_options(). Its type says what a config file may give (a JSON
// integer, number, string, a size as "512M" or an integer of bytes, or a
// boolean); on the command line every option is its text (a bool: present).
enum class EngineOptionType { kInt, kNumber, kSize, kString, kBool };

struct EngineOption {
  const char* name;  // the flag without "--": "max-num-seqs"
  EngineOptionType type;
  const char* metavar;  // the value in --help ("N", "SIZE", "cpu|cuda[:N]"); "" for a bool
  const char* help;     // its --help text, lines joined by '\n'
  // Sets the option's text (as given on the command line; "true" or "false"
  // for a bool) on `flags`. Errors: kInvalidArgument without the name
  // (apply_engine_option() adds it).
  Status (*apply)(EngineFlags& flags, const std::string& value);
};

// Every engine option, in --help order.
const std::vector<EngineOption>& engine_options();
// The option named `name` (without "--"); nullptr when there is none.
const EngineOption* find_engine_option(std::string_view name);
// opt.apply, its error prefixed with "--NAME: ". Does not resolve the device
// (resolve_engine_device()).
Status apply_engine_option(EngineFlags& flags, const EngineOption& opt, const std::string& value);
// Resolves flags.runner.device (as given: "", "cpu", "cuda", "cuda:N") on
// this machine. Errors: kUnavailable for a device this binary or machine does
// not have.
Status resolve_engine_device(EngineFlags& flags);

// Flag names for Args::parse (merge them into a command's own sets).
const std::set<std::string>& engine_value_flags();
const std::set<std::string>& engine_bool_flags();
// The help lines for the flags above (for a command's --help).
std::string engine_flags_help();

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
