#include "yun/compute/cuda/rope_table.h"

#include <algorithm>
#include <cmath>

namespace yun::cuda {
namespace {

constexpr double kPi = 3.14159265358979323846;

double yarn_get_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

double yarn_correction_dim(double num_rotations, double dim, double base, double max_pos) {
  return (dim * std::log(max_pos / (num_rotations * 2 * kPi))) / (2 * std::log(base));
}

}  // namespace

RopeTable compute_rope_table(const ModelConfig& c) {
  RopeTable t;
  const int64_t dim = c.head_dim;
  const int64_t half = dim / 2;
  const double base = c.rope_theta;
  std::vector<double> inv(half);
  for (int64_t i = 0; i < half; ++i) {
    // HF: base ** (arange(0, dim, 2).float() / dim) in float32
    const float expo = float(2 * i) / float(dim);
    inv[i] = 1.0 / double(std::pow(float(base), expo));
  }
  const RopeScaling& rs = c.rope_scaling;
  switch (rs.type) {
    case RopeScaling::Type::kNone:
    case RopeScaling::Type::kDynamic:
      break;
    case RopeScaling::Type::kLinear:
      for (auto& f : inv) f /= rs.factor;
      break;
    case RopeScaling::Type::kLlama3: {
      const double old_ctx = double(rs.original_max_position_embeddings);
      const double low_wl = old_ctx / rs.low_freq_factor;
      const double high_wl = old_ctx / rs.high_freq_factor;
      for (auto& f : inv) {
        const double wavelen = 2 * kPi / f;
        if (wavelen > low_wl) {
          f = f / rs.factor;
        } else if (wavelen >= high_wl) {  // medium frequencies: smooth blend
          const double smooth = (old_ctx / wavelen - rs.low_freq_factor) /
                                (rs.high_freq_factor - rs.low_freq_factor);
          f = (1 - smooth) * f / rs.factor + smooth * f;
        }
      }
      break;
    }
    case RopeScaling::Type::kYarn: {
      double factor = rs.factor;
      double orig = double(rs.original_max_position_embeddings);
      if (orig > 0) {
        // HF: with original_max_position_embeddings given, the factor is
        // max_position_embeddings / original_max_position_embeddings.
        if (c.max_position_embeddings > 0) factor = double(c.max_position_embeddings) / orig;
      } else {
        orig = double(c.max_position_embeddings);
      }
      double attn;
      if (rs.attention_factor) {
        attn = *rs.attention_factor;
      } else if (rs.mscale && rs.mscale_all_dim && *rs.mscale != 0 && *rs.mscale_all_dim != 0) {
        attn = yarn_get_mscale(factor, *rs.mscale) / yarn_get_mscale(factor, *rs.mscale_all_dim);
      } else {
        attn = yarn_get_mscale(factor, 1.0);
      }
      double low = yarn_correction_dim(rs.beta_fast, double(dim), base, orig);
      double high = yarn_correction_dim(rs.beta_slow, double(dim), base, orig);
      if (rs.truncate) {
        low = std::floor(low);
        high = std::ceil(high);
      }
      low = std::max(low, 0.0);
      high = std::min(high, double(dim - 1));
      if (low == high) high += 0.001;
      for (int64_t i = 0; i < half; ++i) {
        const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
        const double extrap_factor = 1.0 - ramp;
        const double interp = inv[i] / factor;
        inv[i] = interp * (1 - extrap_factor) + inv[i] * extrap_factor;
      }
      t.attention_scaling = float(attn);
      break;
    }
  }
  t.inv_freq.assign(inv.begin(), inv.end());
  return t;
}

}  // namespace yun::cuda
