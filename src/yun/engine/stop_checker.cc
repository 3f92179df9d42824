#include "yun/engine/stop_checker.h"

#include <algorithm>

#include "yun/base/utf8.h"

namespace yun {

StopChecker::StopChecker(std::shared_ptr<const SamplingParams> params, std::vector<int32_t> eos_ids,
                         std::shared_ptr<const Tokenizer> tokenizer, int32_t max_model_len)
    : params_(std::move(params)), eos_ids_(std::move(eos_ids)), max_model_len_(max_model_len) {
  if (tokenizer) {
    detok_ = std::make_unique<IncrementalDetokenizer>(tokenizer, params_->skip_special_tokens);
  }
  for (const auto& s : params_->stop) max_stop_len_ = std::max(max_stop_len_, s.size());
  if (params_->min_tokens > 0) {
    if (!params_->ignore_eos) banned_ = eos_ids_;
    banned_.insert(banned_.end(), params_->stop_token_ids.begin(), params_->stop_token_ids.end());
  }
}

StopDecision StopChecker::append(int32_t token, int32_t num_output, int32_t total_len) {
  StopDecision d;
  if (done_) return d;
  const SamplingParams& p = *params_;
  const bool may_stop = num_output >= p.min_tokens;
  auto finish = [&](FinishReason r, std::string reason) {
    d.finish = r;
    d.stop_reason = std::move(reason);
    done_ = true;
  };

  if (may_stop && !p.ignore_eos &&
      std::find(eos_ids_.begin(), eos_ids_.end(), token) != eos_ids_.end()) {
    finish(FinishReason::kStop, "");
  } else if (may_stop && std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), token) !=
                             p.stop_token_ids.end()) {
    finish(FinishReason::kStop, std::to_string(token));
  }

  if (detok_) {
    const size_t old_len = held_.size();
    held_ += detok_->push(token);
    if (!d.finish && may_stop && max_stop_len_ > 0) {
      // Search only where a match can involve the new text.
      size_t from = old_len >= max_stop_len_ ? old_len - max_stop_len_ + 1 : 0;
      size_t best = std::string::npos;
      std::string which;
      for (const auto& s : p.stop) {
        if (s.empty()) continue;
        size_t pos = held_.find(s, from);
        if (pos != std::string::npos && pos < best) {
          best = pos;
          which = s;
        }
      }
      if (best != std::string::npos) {
        held_.resize(best);
        d.text = std::move(held_);
        held_.clear();
        finish(FinishReason::kStop, which);
        return d;
      }
    }
  }

  if (!d.finish && (num_output >= p.max_tokens || total_len >= max_model_len_)) {
    finish(FinishReason::kLength, "");
  }
  if (d.finish) {
    d.text = flush();
    return d;
  }
  // Release everything except a tail that could start a stop string.
  size_t keep = 0;
  for (const auto& s : p.stop) {
    for (size_t k = std::min(s.size() - (s.empty() ? 0 : 1), held_.size()); k > keep; --k) {
      if (held_.compare(held_.size() - k, k, s, 0, k) == 0) {
        keep = k;
        break;
      }
    }
  }
  size_t release = utf8_complete_prefix(std::string_view(held_).substr(0, held_.size() - keep));
  d.text = held_.substr(0, release);
  held_.erase(0, release);
  return d;
}

std::string StopChecker::flush() {
  std::string out = std::move(held_);
  held_.clear();
  if (detok_) out += detok_->finish();
  return out;
}

}  // namespace yun
