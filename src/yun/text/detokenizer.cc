#include "yun/text/detokenizer.h"

#include "yun/base/utf8.h"

namespace yun {

IncrementalDetokenizer::IncrementalDetokenizer(std::shared_ptr<const Tokenizer> tok,
                                               bool skip_special_tokens)
    : tok_(std::move(tok)), skip_special_(skip_special_tokens) {}

std::string IncrementalDetokenizer::push(int32_t id) {
  if (skip_special_ && tok_->is_special(id)) return std::string();
  pending_ += tok_->token_bytes(id);
  // Emit everything up to the last complete character; a valid but unfinished
  // sequence at the end waits for more bytes. Bytes that can never complete
  // are emitted as U+FFFD (one per maximal invalid subpart, like decode()).
  size_t n = utf8_complete_prefix(pending_);
  if (n == 0) return std::string();
  std::string delta = utf8_sanitize(std::string_view(pending_).substr(0, n));
  pending_.erase(0, n);
  text_ += delta;
  return delta;
}

std::string IncrementalDetokenizer::finish() {
  if (pending_.empty()) return std::string();
  std::string delta = utf8_sanitize(pending_);
  pending_.clear();
  text_ += delta;
  return delta;
}

}  // namespace yun
