#include "yun/compute/rope_freqs.h"

#include <algorithm>
#include <cmath>

namespace yun {

namespace {

double yarn_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

// transformers _compute_yarn_parameters.
void apply_yarn(const RopeScaling& r, double base, int64_t dim, RopeFreqs& f) {
  const double factor = r.factor;
  double attn;
  if (r.attention_factor) {
    attn = *r.attention_factor;
  } else if (r.mscale && r.mscale_all_dim && *r.mscale != 0 && *r.mscale_all_dim != 0) {
    attn = yarn_mscale(factor, *r.mscale) / yarn_mscale(factor, *r.mscale_all_dim);
  } else {
    attn = yarn_mscale(factor, 1.0);
  }
  f.attention_scale = float(attn);
  const double omax = double(r.original_max_position_embeddings);
  auto correction_dim = [&](double rot) {
    return (double(dim) * std::log(omax / (rot * 2.0 * M_PI))) / (2.0 * std::log(base));
  };
  double low = correction_dim(r.beta_fast);
  double high = correction_dim(r.beta_slow);
  if (r.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, double(dim - 1));
  if (low == high) high += 0.001;
  const int64_t half = dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    double pos_freq = std::pow(base, double(2 * i) / double(dim));
    double extra = 1.0 / pos_freq;
    double inter = 1.0 / (factor * pos_freq);
    double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
    double extra_factor = 1.0 - ramp;
    f.inv_freq[size_t(i)] = float(inter * (1.0 - extra_factor) + extra * extra_factor);
  }
}

// transformers _compute_llama3_parameters.
void apply_llama3(const RopeScaling& r, RopeFreqs& f) {
  const double old_ctx = double(r.original_max_position_embeddings);
  const double low_wavelen = old_ctx / r.low_freq_factor;
  const double high_wavelen = old_ctx / r.high_freq_factor;
  for (auto& v : f.inv_freq) {
    double inv = v;
    double wavelen = 2.0 * M_PI / inv;
    double out = wavelen > low_wavelen ? inv / r.factor : inv;
    if (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) {
      double smooth =
          (old_ctx / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      out = (1.0 - smooth) * out / r.factor + smooth * out;
    }
    v = float(out);
  }
}

}  // namespace

RopeFreqs compute_rope_freqs(const ModelConfig& c, int64_t seq_len) {
  const int64_t dim = c.rotary_dim();  // head_dim unless partial rotary (Qwen3.5)
  const int64_t half = dim / 2;
  RopeFreqs f;
  f.inv_freq.resize(size_t(half));
  double base = c.rope_theta;
  const RopeScaling& r = c.rope_scaling;
  if (r.type == RopeScaling::Type::kDynamic) {
    double maxp = double(c.max_position_embeddings);
    double s = seq_len > c.max_position_embeddings ? double(seq_len) : maxp;
    base = base * std::pow(r.factor * s / maxp - (r.factor - 1.0), double(dim) / double(dim - 2));
  }
  if (r.type == RopeScaling::Type::kYarn) {
    apply_yarn(r, base, dim, f);
    return f;
  }
  for (int64_t i = 0; i < half; ++i)
    f.inv_freq[size_t(i)] = float(1.0 / std::pow(base, double(2 * i) / double(dim)));
  if (r.type == RopeScaling::Type::kLinear) {
    for (auto& v : f.inv_freq) v = float(double(v) / r.factor);
  } else if (r.type == RopeScaling::Type::kLlama3) {
    apply_llama3(r, f);
  }
  return f;
}

}  // namespace yun
