#include "yun/compute/cpu/rope.h"

#include <cmath>

namespace yun {

void rope_cos_sin(const RopeFreqs& f, int64_t pos, float* cos_out, float* sin_out) {
  const float p = float(pos);
  const size_t half = f.inv_freq.size();
  for (size_t i = 0; i < half; ++i) {
    float angle = f.inv_freq[i] * p;
    cos_out[i] = float(std::cos(double(angle)) * f.attention_scale);
    sin_out[i] = float(std::sin(double(angle)) * f.attention_scale);
  }
}

void apply_rope(float* x, int64_t num_heads, int64_t head_dim, const float* cos_v,
                const float* sin_v) {
  apply_rope_partial(x, num_heads, head_dim, head_dim, cos_v, sin_v);
}

void apply_rope_partial(float* x, int64_t num_heads, int64_t head_dim, int64_t rotary_dim,
                        const float* cos_v, const float* sin_v) {
  const int64_t half = rotary_dim / 2;
  for (int64_t h = 0; h < num_heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      float a = v[i], b = v[i + half];
      v[i] = a * cos_v[i] - b * sin_v[i];
      v[i + half] = b * cos_v[i] + a * sin_v[i];
    }
  }
}

}  // namespace yun
