// `yun show MODEL`: what a model is, from its files alone (no weights are
// read, only the safetensors headers): architecture, parameter count,
// context length, shape, weight format, chat template, license, sampling
// defaults (the rule of engine/sampling_defaults.h). MODEL is a directory or
// a repo id in the Hugging Face cache. --json prints one object. Exit 2 with
// one line when MODEL is neither, or its config.json is missing or bad.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/engine/sampling_defaults.h"
#include "yun/model/config.h"
#include "yun/model/model_store.h"
#include "yun/model/safetensors.h"
#include "yun/text/model_text.h"

namespace yun::cli {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

constexpr const char* kShowHelp =
    "Usage: yun show MODEL [--json]\n"
    "\n"
    "Describes MODEL (a model directory, or a REPO from yun list): architecture,\n"
    "parameters (counted from the safetensors headers), context length, layers,\n"
    "hidden size, vocabulary, weight format, chat template, license file and the\n"
    "sampling defaults yun run and yun serve apply.\n"
    "\n"
    "  --json   print one JSON object\n";

std::string human_count(int64_t n) {
  char buf[32];
  if (n >= 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  } else if (n >= 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.1fM", n / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  }
  return buf;
}

// LICENSE* / LICENCE* in the directory, else README.md's "license:" line.
std::string find_license(const std::string& dir) {
  std::error_code ec;
  for (const char* name : {"LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "LICENCE.txt",
                           "license.txt", "LICENSE-MODEL"}) {
    if (fs::exists(dir + "/" + name, ec)) return name;
  }
  std::ifstream in(dir + "/README.md");
  std::string line;
  for (int i = 0; i < 40 && std::getline(in, line); ++i) {
    if (line.rfind("license:", 0) == 0) {
      std::string v = line.substr(8);
      while (!v.empty() && v.front() == ' ') v.erase(v.begin());
      return "README.md: " + v;
    }
  }
  return "";
}

int run_show(const std::vector<std::string>& argv) {
  auto parsed = Args::parse(argv, {}, {"--json", "--help", "-h"});
  if (!parsed) return fail(2, "show: " + parsed.status().message() + " (see yun show --help)");
  const Args& args = *parsed;
  if (args.has("--help") || args.has("-h")) {
    std::cout << kShowHelp;
    return 0;
  }
  if (args.positional().size() != 1) return fail(2, "show: give one MODEL (see yun show --help)");
  const std::string& model = args.positional()[0];
  auto dir = resolve_model_path(model, ModelStore::from_env());
  if (!dir) return fail(2, "show: " + dir.status().message());

  json cfg;
  {
    std::ifstream in(*dir + "/config.json");
    if (!in) return fail(2, "show: no config.json in " + *dir);
    cfg = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!cfg.is_object()) return fail(2, "show: " + *dir + "/config.json is not a JSON object");
  }
  const json& tc = cfg.contains("text_config") && cfg["text_config"].is_object()
                       ? cfg["text_config"]
                       : cfg;
  auto num = [&](const char* key) -> json {
    if (tc.contains(key) && tc[key].is_number_integer()) return tc[key];
    if (cfg.contains(key) && cfg[key].is_number_integer()) return cfg[key];
    return nullptr;
  };
  json out;
  out["model"] = model;
  out["path"] = *dir;
  out["architecture"] = cfg.contains("architectures") && cfg["architectures"].is_array() &&
                                !cfg["architectures"].empty() &&
                                cfg["architectures"][0].is_string()
                            ? cfg["architectures"][0]
                            : json(nullptr);
  auto weights = WeightStore::open_dir(*dir);
  if (weights) {
    int64_t n = 0;
    for (const auto& [name, t] : (*weights)->index) n += t->numel();
    out["parameters"] = n;
  } else {
    out["parameters"] = nullptr;
  }
  out["context_length"] = num("max_position_embeddings");
  out["layers"] = num("num_hidden_layers");
  out["hidden_size"] = num("hidden_size");
  out["vocab_size"] = num("vocab_size");
  out["format"] = model_weight_format(*dir);
  auto text = load_model_text(*dir);
  out["chat_template"] = text && text->chat_template ? json(text->template_origin) : json(nullptr);
  std::string license = find_license(*dir);
  out["license"] = license.empty() ? json(nullptr) : json(license);
  if (auto mc = load_model_config(*dir)) {
    SamplingParams d = model_sampling_defaults(mc->generation);
    out["sampling_defaults"] = {{"temperature", d.temperature}, {"top_p", d.top_p},
                                {"top_k", d.top_k},             {"min_p", d.min_p},
                                {"repetition_penalty", d.repetition_penalty}};
  } else {
    out["sampling_defaults"] = nullptr;
  }

  if (args.has("--json")) {
    std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    return 0;
  }
  auto str = [](const json& v, const std::string& none = "-") {
    if (v.is_null()) return none;
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  std::printf("  %-18s %s\n", "model", model.c_str());
  std::printf("  %-18s %s\n", "path", dir->c_str());
  std::printf("  %-18s %s\n", "architecture", str(out["architecture"]).c_str());
  std::printf("  %-18s %s\n", "parameters",
              out["parameters"].is_null()
                  ? ("? (" + weights.status().message() + ")").c_str()
                  : human_count(out["parameters"].get<int64_t>()).c_str());
  std::printf("  %-18s %s\n", "context length", str(out["context_length"]).c_str());
  std::printf("  %-18s %s\n", "layers", str(out["layers"]).c_str());
  std::printf("  %-18s %s\n", "hidden size", str(out["hidden_size"]).c_str());
  std::printf("  %-18s %s\n", "vocabulary", str(out["vocab_size"]).c_str());
  std::printf("  %-18s %s\n", "format", str(out["format"]).c_str());
  std::printf("  %-18s %s\n", "chat template",
              str(out["chat_template"], text ? "none" : "? (" + text.status().message() + ")")
                  .c_str());
  std::printf("  %-18s %s\n", "license", str(out["license"], "none found").c_str());
  if (!out["sampling_defaults"].is_null()) {
    const json& s = out["sampling_defaults"];
    std::printf("  %-18s temperature %g, top_p %g, top_k %d, min_p %g, repetition_penalty %g\n",
                "sampling defaults", s["temperature"].get<double>(), s["top_p"].get<double>(),
                s["top_k"].get<int>(), s["min_p"].get<double>(),
                s["repetition_penalty"].get<double>());
  }
  return 0;
}

}  // namespace

YUN_COMMAND("show", "describe a model (directory or cached repo)", run_show);

}  // namespace yun::cli
