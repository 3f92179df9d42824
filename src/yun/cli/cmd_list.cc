// `yun list`: the models in the Hugging Face cache (model/model_store.h), one
// row per cached snapshot: repo, revision, size, format, modified. --json
// prints one JSON object per snapshot instead. Exit 2 with one line for bad
// flags, 1 when the cache cannot be read.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "yun/base/exit_code.h"
#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/cli/human_size.h"
#include "yun/model/model_store.h"

namespace yun::cli {
namespace {

constexpr const char* kListHelp =
    "Usage: yun list [--json]\n"
    "\n"
    "Lists the models in the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub,\n"
    "else ~/.cache/huggingface/hub): what huggingface-cli, transformers or vLLM\n"
    "downloaded, one row per cached revision. Use a REPO from here wherever a model\n"
    "directory is accepted: yun run REPO, yun serve REPO, yun show REPO.\n"
    "\n"
    "  --json   one JSON object per line: repo, revision, commit, path, size_bytes,\n"
    "           format, modified (seconds since the epoch)\n";

std::string date(std::time_t t) {
  if (t == 0) return "-";
  char buf[32];
  std::tm tm{};
  localtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

int run_list(const std::vector<std::string>& argv) {
  auto parsed = Args::parse(argv, {}, {"--json", "--help", "-h"});
  if (!parsed) return fail(2, "list: " + parsed.status().message() + " (see yun list --help)");
  const Args& args = *parsed;
  if (args.has("--help") || args.has("-h")) {
    std::cout << kListHelp;
    return 0;
  }
  if (!args.positional().empty()) {
    return fail(2, "list: unexpected argument '" + args.positional()[0] + "'");
  }
  const ModelStore store = ModelStore::from_env();
  auto models = store.list();
  if (!models) return fail(exit_code_for(models.status()), "list: " + models.status().message());
  if (args.has("--json")) {
    for (const auto& m : *models) {
      nlohmann::ordered_json j = {{"repo", m.repo_id},         {"revision", m.revision},
                                  {"commit", m.commit},        {"path", m.snapshot_dir},
                                  {"size_bytes", m.size_bytes}, {"format", m.format},
                                  {"modified", static_cast<int64_t>(m.modified)}};
      std::cout << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                << '\n';
    }
    return 0;
  }
  if (models->empty()) {
    std::printf("no models in %s\n", store.cache_dir().c_str());
    return 0;
  }
  size_t w_repo = 4, w_rev = 8;
  for (const auto& m : *models) {
    w_repo = std::max(w_repo, m.repo_id.size());
    w_rev = std::max(w_rev, m.revision.size());
  }
  std::printf("%-*s  %-*s  %10s  %-12s  %s\n", static_cast<int>(w_repo), "REPO",
              static_cast<int>(w_rev), "REVISION", "SIZE", "FORMAT", "MODIFIED");
  for (const auto& m : *models) {
    std::printf("%-*s  %-*s  %10s  %-12s  %s\n", static_cast<int>(w_repo), m.repo_id.c_str(),
                static_cast<int>(w_rev), m.revision.c_str(), human_size(m.size_bytes).c_str(),
                m.format.c_str(), date(m.modified).c_str());
  }
  return 0;
}

}  // namespace

YUN_COMMAND("list", "list the models in the Hugging Face cache", run_list);

}  // namespace yun::cli
