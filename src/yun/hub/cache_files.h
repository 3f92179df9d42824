// Writing into the Hugging Face cache the way huggingface_hub does, so both
// may work on one cache at once: whole files appear by rename only, and a
// blob is written under the lock huggingface_hub takes for it.
#pragma once

#include <memory>
#include <string>

#include "yun/base/status.h"

namespace yun::hub {

// Writes `text` to a temporary file beside `path`, then renames it to `path`. kInternal on failure.
Status write_atomically(const std::string& path, const std::string& text);
// Makes `link` a symlink to `target` (replacing one there) by rename. kInternal on failure.
Status symlink_atomically(const std::string& target, const std::string& link);

// An exclusive flock on a lock file, e.g. CACHE/.locks/models--ORG--NAME/ETAG.lock,
// the lock huggingface_hub (filelock) takes for the same blob, so neither a
// second yun nor huggingface-cli writes the blob at the same time. acquire()
// blocks until the lock is free and creates the file and its directory.
// Released on destruction.
class BlobLock {
 public:
  static Result<std::unique_ptr<BlobLock>> acquire(const std::string& path);
  ~BlobLock();
  BlobLock(const BlobLock&) = delete;
  BlobLock& operator=(const BlobLock&) = delete;

 private:
  explicit BlobLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace yun::hub
