// ModelStore: models found by Hugging Face repo id in the standard HF hub
// cache, so what huggingface-cli, transformers or vLLM downloaded is used as
// it is (and the other way round).
//
// Layout (as huggingface_hub writes it):
//   CACHE/models--ORG--NAME/refs/REV            a commit hash (refs/main, refs/pr/1)
//   CACHE/models--ORG--NAME/snapshots/COMMIT/F  a symlink to ../../blobs/HASH
//   CACHE/models--ORG--NAME/blobs/HASH          the file contents (sha256 or git oid)
// CACHE is $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
//
// A repo reference is "ORG/NAME" or "NAME" with an optional "@REV" (a branch,
// tag or ref name, or a 40-hex commit); REV defaults to "main". Names use
// [A-Za-z0-9._-], never start with '.' or '-' and never contain "--" or "..",
// so a reference can never name a path outside the cache. Reads only; remove()
// is the only writer. Nothing here throws.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "yun/base/status.h"

namespace yun {

struct RepoRef {
  std::string repo_id;            // "Qwen/Qwen3-0.6B"
  std::string revision = "main";  // as given after '@'
};

// Parses "ORG/NAME[@REV]". Errors: kInvalidArgument saying what is wrong.
Result<RepoRef> parse_repo_ref(std::string_view text);

// One cached snapshot of a repo.
struct CachedModel {
  std::string repo_id;
  std::string revision;      // the refs naming this commit, ", "-joined; else the commit
  std::string commit;        // the snapshot directory's name
  std::string snapshot_dir;  // absolute path, usable as a model directory
  int64_t size_bytes = 0;    // the distinct files (blobs) the snapshot holds
  std::string format;        // model_weight_format(snapshot_dir)
  std::time_t modified = 0;  // the newest file of the snapshot
};

class ModelStore {
 public:
  explicit ModelStore(std::string cache_dir) : cache_dir_(std::move(cache_dir)) {}
  // The cache named by the environment (see the top of this file).
  static ModelStore from_env();

  const std::string& cache_dir() const { return cache_dir_; }
  // CACHE/models--ORG--NAME for a valid repo id (not checked here).
  std::string repo_dir(const std::string& repo_id) const;

  // The snapshot directory of `ref`. Errors: kNotFound "REPO[@REV] is not in
  // the Hugging Face cache (CACHE); `yun pull REPO` downloads it" when
  // the repo, the ref or the snapshot is missing.
  Result<std::string> resolve(const RepoRef& ref) const;

  // Every snapshot in the cache, by repo id then commit. A missing cache
  // directory is an empty list. Errors: kInternal for unreadable directories.
  Result<std::vector<CachedModel>> list() const;

  // Removes the repo's whole cache entry (refs, snapshots, blobs). Refuses an
  // invalid repo id (kInvalidArgument) and anything that would not lie
  // directly under the cache directory; kNotFound when it is not cached.
  Status remove(const std::string& repo_id) const;

 private:
  std::string cache_dir_;
};

// The weights' format as config.json states it: "gptq 4-bit", "awq 4-bit",
// "fp8" ... from quantization_config, else torch_dtype / dtype ("bfloat16");
// "?" when config.json is missing or says neither.
std::string model_weight_format(const std::string& model_dir);

// What `yun run MODEL` / `yun serve MODEL` accept: an existing directory is
// used as it is; otherwise a repo reference resolved through `store`.
// Errors: kNotFound naming both readings when it is neither.
Result<std::string> resolve_model_path(const std::string& model, const ModelStore& store);

}  // namespace yun
