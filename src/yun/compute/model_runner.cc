#include "yun/compute/model_runner.h"

#include <string>

namespace yun {

Status ModelRunner::forward(const ForwardBatch& batch, std::span<const RowSampling> sampling,
                            std::vector<SampleResult>& results) {
  return forward_then_sample_on_host(batch, sampling, results);
}

Status ModelRunner::forward_then_sample_on_host(const ForwardBatch& batch,
                                                std::span<const RowSampling> sampling,
                                                std::vector<SampleResult>& results) {
  if (sampling.size() != batch.logit_rows.size()) {
    return invalid_argument("forward: " + std::to_string(sampling.size()) + " sampling rows for " +
                            std::to_string(batch.logit_rows.size()) + " logit rows");
  }
  for (const RowSampling& r : sampling)
    if (!r.options.greedy() && r.rng == nullptr)
      return invalid_argument("forward: a non-greedy row has no RNG");
  YUN_RETURN_IF_ERROR(forward(batch, host_logits_));
  results.clear();
  if (sampling.empty()) return Status::ok();
  const size_t vocab = host_logits_.size() / sampling.size();
  if (vocab == 0 || host_logits_.size() != vocab * sampling.size())
    return internal_error("runner returned logits of the wrong size");
  return host_sampler_.sample_rows(host_logits_, int64_t(vocab), sampling, results);
}

}  // namespace yun
