// pull_repo: downloads what serving a model needs from a Hugging Face hub
// (https://huggingface.co or a mirror) into the Hugging Face cache, in the
// layout huggingface_hub writes (model/model_store.h), so yun, transformers
// and vLLM share it as it is.
//
// Steps: GET ENDPOINT/api/models/REPO/revision/REV (the commit `sha` and the
// `siblings`); HEAD ENDPOINT/REPO/resolve/COMMIT/FILE for each wanted file
// (ETag or, for git-lfs files, X-Linked-Etag = the sha256; X-Linked-Size or
// Content-Length), redirects not followed; then GET the same URL following
// redirects (to a CDN) into blobs/ETAG.incomplete, resumed with
// `Range: bytes=N-` after an interruption (also across runs), retried on
// transport errors and 5xx. A git-lfs blob's sha256 is checked before it is
// renamed to blobs/ETAG; a mismatch deletes the partial file. Snapshot
// symlinks (snapshots/COMMIT/FILE -> ../../blobs/ETAG) and refs/REV are
// written last, each atomically (rename), so an interrupted pull never
// leaves a snapshot that looks complete.
//
// Errors (exit codes by base/exit_code.h): kInvalidArgument / kNotFound for a
// repo or revision the hub does not have, access denied (gated or private:
// HF_TOKEN), a checksum mismatch, a repo without config.json or safetensors;
// kUnavailable for the network (after retries) and unexpected HTTP replies;
// kInternal for the disk; kUnimplemented when built without libcurl.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/model/model_store.h"

namespace yun::hub {

struct PullOptions {
  std::string endpoint = "https://huggingface.co";  // no trailing '/'
  std::string token;                                // sent as Authorization: Bearer
  int parallel = 4;                                 // files downloaded at once
  int retries = 5;                                  // per file, after the first try
};

// HF_ENDPOINT (default https://huggingface.co) and HF_TOKEN, else the token
// file huggingface-cli login writes ($HF_TOKEN_PATH, $HF_HOME/token,
// ~/.cache/huggingface/token).
PullOptions pull_options_from_env();

// Whether serving needs (or may like) a repo file: config.json,
// generation_config.json, tokenizer.json, tokenizer_config.json,
// chat_template.jinja, *.safetensors, model.safetensors.index.json,
// LICENSE*, README.md (top level only).
bool wanted_for_serving(const std::string& rfilename);

struct PullProgress {
  int64_t bytes_done = 0, bytes_total = 0;  // of the files that need downloading
  int files_done = 0, files_total = 0;
  std::string finished_file;  // set when a file has just completed
  int64_t finished_size = 0;
  bool reused = false;  // the blob was already in the cache
};

struct PullResult {
  std::string commit;
  std::string snapshot_dir;
  std::vector<std::string> files;
  int64_t bytes_downloaded = 0;
};

// `on_progress` is called (never concurrently) as bytes arrive and files finish.
Result<PullResult> pull_repo(const ModelStore& store, const RepoRef& ref, const PullOptions& opts,
                             const std::function<void(const PullProgress&)>& on_progress);

}  // namespace yun::hub
