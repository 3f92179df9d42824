// `yun pull REPO[@REV]`: downloads a model from the Hugging Face hub (or the
// mirror HF_ENDPOINT names) into the Hugging Face cache (hub/pull.h), then
// `yun run REPO` / `yun serve REPO` use it. Progress on stderr: a bar with
// speed and ETA on a terminal, one line per file otherwise. Exit 2 with one
// line for bad input (repo id, unknown repo, access denied, checksum
// mismatch), 1 for network or disk failures and a build without libcurl.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "yun/base/exit_code.h"
#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/cli/model_arg.h"
#include "yun/hub/http.h"
#include "yun/hub/pull.h"
#include "yun/model/model_store.h"

namespace yun::cli {
namespace {

constexpr const char* kPullHelp =
    "Usage: yun pull REPO[@REVISION] [--parallel N]\n"
    "\n"
    "Downloads what serving REPO (ORG/NAME) needs into the Hugging Face cache:\n"
    "config.json, generation_config.json, the tokenizer files, chat_template.jinja,\n"
    "the *.safetensors weights and their index, LICENSE and README.md. The cache is\n"
    "the one huggingface-cli, transformers and vLLM use ($HF_HUB_CACHE, else\n"
    "$HF_HOME/hub, else ~/.cache/huggingface/hub). An interrupted pull resumes;\n"
    "every git-lfs file is checked against the hub's sha256.\n"
    "\n"
    "  --parallel N   files downloaded at once (default 4)\n"
    "\n"
    "Environment: HF_ENDPOINT (default https://huggingface.co; a mirror works),\n"
    "HF_TOKEN for gated or private repos (else the token huggingface-cli login saved),\n"
    "HF_HUB_OFFLINE=1 forbids the download.\n";

std::string human_bytes(double b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

std::string clock_text(double secs) {
  if (!(secs >= 0) || secs > 359999) return "--:--";
  long s = static_cast<long>(secs + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

// Draws the progress of a pull: in place on a terminal, else a line per file.
class PullDisplay {
 public:
  PullDisplay() : tty_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

  void update(const hub::PullProgress& p) {
    if (!p.finished_file.empty()) {
      if (tty_) std::fprintf(stderr, "\r\033[K");
      std::fprintf(stderr, "%s %s (%s)\n", p.reused ? "cached" : "pulled", p.finished_file.c_str(),
                   human_bytes(static_cast<double>(std::max<int64_t>(p.finished_size, 0))).c_str());
      drawn_ = false;
    }
    if (!tty_) return;
    auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100) && p.files_done < p.files_total)
      return;
    last_ = now;
    draw(p, now);
  }

  void finish() {
    if (tty_ && drawn_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  void draw(const hub::PullProgress& p, std::chrono::steady_clock::time_point now) {
    constexpr int kWidth = 28;
    double frac = p.bytes_total > 0 ? static_cast<double>(p.bytes_done) / p.bytes_total : 1.0;
    frac = std::min(1.0, std::max(0.0, frac));
    int filled = static_cast<int>(kWidth * frac);
    std::string bar(kWidth, ' ');
    for (int i = 0; i < filled; ++i) bar[i] = '=';
    if (filled < kWidth) bar[filled] = '>';
    double secs = std::chrono::duration<double>(now - start_).count();
    double speed = secs > 0.2 ? p.bytes_done / secs : 0;
    double eta = speed > 0 ? (p.bytes_total - p.bytes_done) / speed : -1;
    std::fprintf(stderr, "\r\033[K[%s] %s/%s  %s/s  ETA %s  %d/%d files", bar.c_str(),
                 human_bytes(static_cast<double>(p.bytes_done)).c_str(),
                 human_bytes(static_cast<double>(p.bytes_total)).c_str(),
                 human_bytes(speed).c_str(), clock_text(eta).c_str(), p.files_done, p.files_total);
    std::fflush(stderr);
    drawn_ = true;
  }

  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

bool offline() {
  const char* off = std::getenv("HF_HUB_OFFLINE");
  return off && std::string(off) != "" && std::string(off) != "0";
}

int run_pull(const std::vector<std::string>& argv) {
  auto parsed = Args::parse(argv, {"--parallel"}, {"--help", "-h"});
  if (!parsed) return fail(2, "pull: " + parsed.status().message() + " (see yun pull --help)");
  const Args& args = *parsed;
  if (args.has("--help") || args.has("-h")) {
    std::cout << kPullHelp;
    return 0;
  }
  if (args.positional().size() != 1)
    return fail(2, "pull: give one REPO[@REVISION] (see yun pull --help)");
  auto ref = parse_repo_ref(args.positional()[0]);
  if (!ref) return fail(2, "pull: " + ref.status().message());
  auto parallel = args.get_int("--parallel", 4);
  if (!parallel) return fail(2, "pull: " + parallel.status().message());
  if (*parallel < 1 || *parallel > 32) return fail(2, "pull: --parallel must be in 1..32");
  if (!hub::HttpClient::available()) {
    return fail(1,
                "pull: this yun was built without libcurl; download with huggingface-cli instead");
  }
  if (offline()) return fail(2, "pull: HF_HUB_OFFLINE is set: no downloads");
  hub::PullOptions opts = hub::pull_options_from_env();
  opts.parallel = static_cast<int>(*parallel);
  const ModelStore store = ModelStore::from_env();
  PullDisplay display;
  auto pulled =
      hub::pull_repo(store, *ref, opts, [&](const hub::PullProgress& p) { display.update(p); });
  display.finish();
  if (!pulled) return fail(exit_code_for(pulled.status()), "pull: " + pulled.status().message());
  std::printf("pulled %s@%s into %s (%zu files, %s downloaded)\n", ref->repo_id.c_str(),
              pulled->commit.c_str(), pulled->snapshot_dir.c_str(), pulled->files.size(),
              human_bytes(static_cast<double>(pulled->bytes_downloaded)).c_str());
  return 0;
}

}  // namespace

void set_offline() { setenv("HF_HUB_OFFLINE", "1", 1); }

Result<std::string> resolve_or_pull(const std::string& model) {
  const ModelStore store = ModelStore::from_env();
  auto path = resolve_model_path(model, store);
  if (path.is_ok() || path.status().code() != StatusCode::kNotFound) return path;
  std::error_code ec;
  if (std::filesystem::exists(model, ec)) return path;  // a path, not a repo id
  auto ref = parse_repo_ref(model);
  if (!ref.is_ok() || offline() || !hub::HttpClient::available()) return path;
  std::fprintf(stderr,
               "yun: %s is not in the Hugging Face cache; pulling it (--offline or "
               "HF_HUB_OFFLINE=1 forbids this)\n",
               model.c_str());
  PullDisplay display;
  auto pulled = hub::pull_repo(store, *ref, hub::pull_options_from_env(),
                               [&](const hub::PullProgress& p) { display.update(p); });
  display.finish();
  if (!pulled.is_ok()) return pulled.status().with_context("pull " + model);
  return resolve_model_path(model, store);
}

YUN_COMMAND("pull", "download a model from the Hugging Face hub into its cache", run_pull);

}  // namespace yun::cli
