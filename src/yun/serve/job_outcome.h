// JobOutcome: how one generation request ended, with the engine's own token
// counts. GenerationJob hands it once to its completion callback (where usage
// is recorded) whatever ended the request: finished, failed, client gone, or
// the engine drained.
#pragma once

#include <cstdint>
#include <string>

#include "yun/base/status.h"

namespace yun::serve {

// How a job ended, with the engine's own counts: given once per job to
// JobSetup::on_complete (where usage is recorded), whatever ended it.
struct JobOutcome {
  enum Kind { kFinished, kFailed, kAborted } kind = kFinished;  // kAborted: client gone or drained
  Status error;  // kFailed
  std::string request_id, model;
  int64_t prompt_tokens = 0, cached_prompt_tokens = 0, completion_tokens = 0;
  // The first sample's reason ("stop", "length", "abort", "error"), and the
  // response's status (499 when the client went away first, as nginx logs it).
  std::string finish_reason;
  int http_status = 200;
};

}  // namespace yun::serve
