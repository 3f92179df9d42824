#include "yun/compute/cpu/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "yun/compute/cpu/argmax.h"
#include "yun/compute/cpu/masked_argmax.h"

namespace yun {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

int32_t argmax(const std::vector<float>& x) {
  return static_cast<int32_t>(argmax_f32(x.data(), static_cast<int64_t>(x.size())));
}

void log_softmax(const std::vector<float>& x, std::vector<float>& out) {
  float mx = *std::max_element(x.begin(), x.end());
  if (mx == kNegInf) {  // every token masked out
    out.assign(x.size(), kNegInf);
    return;
  }
  double sum = 0;
  for (float v : x) sum += std::exp(static_cast<double>(v) - mx);
  float lse = mx + static_cast<float>(std::log(sum));
  out.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[i] - lse;
}

}  // namespace

SampleResult CpuSampler::sample(std::span<const float> logits, const SamplingOptions& p,
                                std::span<const int32_t> tokens, int32_t num_prompt,
                                std::span<const int32_t> banned, std::mt19937_64& rng) {
  RowSampling row;
  row.options = p;
  row.tokens = tokens;
  row.num_prompt = num_prompt;
  row.banned = banned;
  row.rng = &rng;
  return sample(logits, row);
}

SampleResult CpuSampler::sample(std::span<const float> logits, const RowSampling& row) {
  static std::mt19937_64 unused;  // greedy rows never draw
  std::mt19937_64& rng = row.rng ? *row.rng : unused;
  const SamplingOptions& p = row.options;
  const int32_t V = static_cast<int32_t>(logits.size());
  SampleResult r;
  if (row.plain_greedy()) {
    // Plain greedy: argmax of the raw row, no copy.
    r.token = static_cast<int32_t>(argmax_f32(logits.data(), V));
    return r;
  }
  if (p.greedy() && p.logprobs < 0 && !row.allowed.empty() && row.logit_bias.empty() &&
      row.banned.empty() && p.repetition_penalty == 1.0 && p.frequency_penalty == 0.0 &&
      p.presence_penalty == 0.0) {
    // Greedy under a mask alone: the argmax over the allowed ids (lowest id
    // on ties, as below), one SIMD read of the row and the mask, no copy.
    const int64_t best = masked_argmax_f32(logits.data(), V, row.allowed.data(), row.allowed.size());
    if (best >= 0) {
      r.token = static_cast<int32_t>(best);
      return r;
    }
  }
  auto in_vocab = [V](int32_t t) { return t >= 0 && t < V; };
  if (!row.allowed.empty()) {
    // One pass: the row copied with the disallowed ids at -inf, a word of
    // the mask at a time (empty and full words without a bit test).
    x_.resize(size_t(V));
    const float* src = logits.data();
    float* dst = x_.data();
    const std::span<const uint32_t> m = row.allowed;
    const int32_t covered = static_cast<int32_t>(std::min<size_t>(size_t(V), m.size() * 32));
    for (int32_t t = 0; t < covered; t += 32) {
      const uint32_t bits = m[size_t(t) / 32];
      const int32_t end = std::min(covered, t + 32);
      if (bits == 0) {
        std::fill(dst + t, dst + end, kNegInf);
      } else if (bits == 0xffffffffu) {
        std::copy(src + t, src + end, dst + t);
      } else {
        for (int32_t i = t; i < end; ++i) dst[i] = (bits >> (i & 31)) & 1u ? src[i] : kNegInf;
      }
    }
    std::fill(dst + covered, dst + V, kNegInf);
  } else {
    x_.assign(logits.begin(), logits.end());
  }
  for (const auto& [t, bias] : row.logit_bias) {
    if (in_vocab(t)) x_[size_t(t)] += bias;
  }
  const std::span<const int32_t> tokens = row.tokens;
  const int32_t num_prompt = row.num_prompt;
  const std::span<const int32_t> banned = row.banned;

  if (p.repetition_penalty != 1.0) {
    seen_.resize(V, 0);
    const float rp = static_cast<float>(p.repetition_penalty);
    for (int32_t t : tokens) {
      if (!in_vocab(t) || seen_[t]) continue;
      seen_[t] = 1;
      x_[t] = x_[t] > 0 ? x_[t] / rp : x_[t] * rp;
    }
    for (int32_t t : tokens) {
      if (in_vocab(t)) seen_[t] = 0;
    }
  }
  if (p.frequency_penalty != 0.0 || p.presence_penalty != 0.0) {
    count_.resize(V, 0);
    auto output = tokens.subspan(num_prompt);
    for (int32_t t : output) {
      if (in_vocab(t)) ++count_[t];
    }
    for (int32_t t : output) {
      if (!in_vocab(t) || count_[t] == 0) continue;
      x_[t] -= static_cast<float>(count_[t] * p.frequency_penalty + p.presence_penalty);
      count_[t] = 0;
    }
  }
  for (int32_t t : banned) {
    if (in_vocab(t)) x_[t] = kNegInf;
  }

  const bool greedy = p.greedy();
  if (!greedy) {
    const float inv_t = static_cast<float>(1.0 / p.temperature);
    for (float& v : x_) v *= inv_t;
  }
  if (p.logprobs >= 0) log_softmax(x_, lp_);

  if (greedy) {
    r.token = argmax(x_);
  } else {
    // Candidates, best first as far as needed.
    idx_.clear();
    if (!row.allowed.empty()) {
      // Under a mask only allowed ids can be finite: walk its set bits.
      for (size_t w = 0; w < row.allowed.size(); ++w) {
        for (uint32_t bits = row.allowed[w]; bits; bits &= bits - 1) {
          const int32_t i = static_cast<int32_t>(w * 32 + size_t(__builtin_ctz(bits)));
          if (i < V && x_[size_t(i)] != kNegInf) idx_.push_back(i);
        }
      }
    } else {
      for (int32_t i = 0; i < V; ++i) {
        if (x_[i] != kNegInf) idx_.push_back(i);
      }
    }
    if (idx_.empty()) idx_.push_back(argmax(x_));
    auto by_logit = [this](int32_t a, int32_t b) {
      return x_[a] > x_[b] || (x_[a] == x_[b] && a < b);
    };
    if (p.top_k > 0 && p.top_k < static_cast<int32_t>(idx_.size())) {
      std::nth_element(idx_.begin(), idx_.begin() + p.top_k, idx_.end(), by_logit);
      idx_.resize(p.top_k);
    }
    const float mx = x_[*std::min_element(idx_.begin(), idx_.end(), by_logit)];
    if (p.top_p < 1.0) {
      // Sort a head first; fall back to a full sort only when it is too thin.
      double total = 0;
      for (int32_t i : idx_) total += std::exp(static_cast<double>(x_[i]) - mx);
      size_t head = std::min<size_t>(idx_.size(), 1024);
      std::partial_sort(idx_.begin(), idx_.begin() + head, idx_.end(), by_logit);
      double cum = 0;
      size_t keep = 0;
      for (; keep < head; ++keep) {
        cum += std::exp(static_cast<double>(x_[idx_[keep]]) - mx) / total;
        if (cum >= p.top_p) break;
      }
      if (keep == head && head < idx_.size()) {
        std::sort(idx_.begin(), idx_.end(), by_logit);
        for (; keep < idx_.size(); ++keep) {
          cum += std::exp(static_cast<double>(x_[idx_[keep]]) - mx) / total;
          if (cum >= p.top_p) break;
        }
      }
      idx_.resize(std::min(keep + 1, idx_.size()));
    }
    if (p.min_p > 0.0) {
      // Keep tokens with prob >= min_p * max prob (relative to the same total).
      const double thresh = std::log(p.min_p);
      idx_.erase(
          std::remove_if(idx_.begin(), idx_.end(), [&](int32_t i) { return x_[i] - mx < thresh; }),
          idx_.end());
    }
    // One exp per remaining candidate, reused for the sum and the draw.
    weights_.resize(idx_.size());
    double sum = 0;
    for (size_t k = 0; k < idx_.size(); ++k) {
      weights_[k] = std::exp(static_cast<double>(x_[idx_[k]]) - mx);
      sum += weights_[k];
    }
    // = std::uniform_real_distribution<double>(0, sum)(rng), spelled out so
    // that a device sampler can take the same u from the same RNG.
    const double u = std::generate_canonical<double, std::numeric_limits<double>::digits>(rng);
    double target = u * sum, acc = 0;
    r.token = idx_.back();
    for (size_t k = 0; k < idx_.size(); ++k) {
      acc += weights_[k];
      if (acc > target) {
        r.token = idx_[k];
        break;
      }
    }
  }

  if (p.logprobs >= 0) {
    r.logprob.token_id = r.token;
    r.logprob.logprob = lp_[r.token];
    if (p.logprobs > 0) {
      int32_t n = std::min(p.logprobs, V);
      idx_.resize(V);
      for (int32_t i = 0; i < V; ++i) idx_[i] = i;
      std::partial_sort(idx_.begin(), idx_.begin() + n, idx_.end(), [this](int32_t a, int32_t b) {
        return lp_[a] > lp_[b] || (lp_[a] == lp_[b] && a < b);
      });
      for (int32_t i = 0; i < n; ++i) r.logprob.top.emplace_back(idx_[i], lp_[idx_[i]]);
    }
  }
  return r;
}

Status CpuSampler::sample_rows(std::span<const float> logits, int64_t vocab,
                               std::span<const RowSampling> rows, std::vector<SampleResult>& out) {
  if (vocab <= 0 || logits.size() != rows.size() * size_t(vocab))
    return invalid_argument("sample: " + std::to_string(logits.size()) + " logits for " +
                            std::to_string(rows.size()) + " rows of vocab " +
                            std::to_string(vocab));
  for (const RowSampling& r : rows)
    if (!r.options.greedy() && r.rng == nullptr)
      return invalid_argument("sample: a non-greedy row has no RNG");
  out.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i)
    out[i] = sample(logits.subspan(i * size_t(vocab), size_t(vocab)), rows[i]);
  return Status::ok();
}

}  // namespace yun
