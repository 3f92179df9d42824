// `yun rm REPO`: removes a repo's entry from the Hugging Face cache
// (model/model_store.h: only directly under the cache directory; a repo id
// that could name anything else is refused). Exit 2 with one line for a bad
// repo id or one that is not cached, 1 when the removal itself fails.
#include <cstdio>
#include <iostream>
#include <string>

#include "yun/base/exit_code.h"
#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/model/model_store.h"

namespace yun::cli {
namespace {

constexpr const char* kRmHelp =
    "Usage: yun rm REPO...\n"
    "\n"
    "Removes each REPO (ORG/NAME, as yun list shows it) from the Hugging Face cache:\n"
    "its refs, snapshots and blobs, every revision. Nothing outside the cache is\n"
    "ever touched; a model directory given by path is not a REPO.\n";

int run_rm(const std::vector<std::string>& argv) {
  auto parsed = Args::parse(argv, {}, {"--help", "-h"});
  if (!parsed) return fail(2, "rm: " + parsed.status().message() + " (see yun rm --help)");
  const Args& args = *parsed;
  if (args.has("--help") || args.has("-h")) {
    std::cout << kRmHelp;
    return 0;
  }
  if (args.positional().empty()) return fail(2, "rm: give the REPO to remove (see yun list)");
  const ModelStore store = ModelStore::from_env();
  for (const std::string& repo : args.positional()) {  // all checked before any is removed
    auto ref = parse_repo_ref(repo);
    if (!ref) return fail(2, "rm: " + ref.status().message());
  }
  for (const std::string& repo : args.positional()) {
    Status s = store.remove(repo);
    if (!s.is_ok()) return fail(exit_code_for(s), "rm: " + s.message());
    std::printf("removed %s\n", repo.c_str());
  }
  return 0;
}

}  // namespace

YUN_COMMAND("rm", "remove a model from the Hugging Face cache", run_rm);

}  // namespace yun::cli
