#include "yun/compute/cpu/gated_delta.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "yun/compute/cpu/gated_delta_kernels.h"

namespace yun {

namespace internal {

namespace {

double dot(const float* a, const float* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += double(a[i]) * double(b[i]);
  return s;
}

void gated_delta_recurrent_scalar(const DeltaHeadArgs& a) {
  const int64_t Dk = a.Dk, Dv = a.Dv;
  float* S = a.state;
  std::vector<double> mem(static_cast<size_t>(Dv)), acc(static_cast<size_t>(Dv));
  for (int64_t t = 0; t < a.n; ++t) {
    const float* q = a.q + t * a.qk_stride;
    const float* k = a.k + t * a.qk_stride;
    const float* v = a.v + t * a.v_stride;
    float* o = a.o + t * a.o_stride;
    const float decay = std::exp(a.g[t * a.gb_stride]);
    const float beta = a.beta[t * a.gb_stride];
    std::fill(mem.begin(), mem.end(), 0.0);
    for (int64_t i = 0; i < Dk * Dv; ++i) S[i] *= decay;
    for (int64_t i = 0; i < Dk; ++i) {
      const float* Si = S + i * Dv;
      for (int64_t j = 0; j < Dv; ++j) mem[size_t(j)] += double(Si[j]) * double(k[i]);
    }
    for (int64_t j = 0; j < Dv; ++j)
      mem[size_t(j)] = double(beta) * (double(v[j]) - mem[size_t(j)]);
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t i = 0; i < Dk; ++i) {
      float* Si = S + i * Dv;
      for (int64_t j = 0; j < Dv; ++j) {
        Si[j] = float(double(Si[j]) + double(k[i]) * mem[size_t(j)]);
        acc[size_t(j)] += double(Si[j]) * double(q[i]);
      }
    }
    for (int64_t j = 0; j < Dv; ++j) o[j] = float(acc[size_t(j)]);
  }
}

void gated_delta_chunked_scalar(const DeltaHeadArgs& a, int64_t chunk) {
  const int64_t Dk = a.Dk, Dv = a.Dv;
  float* S = a.state;
  std::vector<double> G(static_cast<size_t>(chunk)), A(static_cast<size_t>(chunk * chunk));
  std::vector<double> U(static_cast<size_t>(chunk * Dv)), W(static_cast<size_t>(chunk * Dk));
  std::vector<double> Snew(static_cast<size_t>(Dk * Dv));
  for (int64_t t0 = 0; t0 < a.n; t0 += chunk) {
    const int64_t L = std::min(chunk, a.n - t0);
    auto q = [&](int64_t i) { return a.q + (t0 + i) * a.qk_stride; };
    auto k = [&](int64_t i) { return a.k + (t0 + i) * a.qk_stride; };
    auto v = [&](int64_t i) { return a.v + (t0 + i) * a.v_stride; };
    auto beta = [&](int64_t i) { return double(a.beta[(t0 + i) * a.gb_stride]); };
    double cum = 0.0;
    for (int64_t i = 0; i < L; ++i) G[size_t(i)] = cum += double(a.g[(t0 + i) * a.gb_stride]);
    // A_ij = beta_i (k_i . k_j) exp(G_i - G_j), j < i.
    for (int64_t i = 0; i < L; ++i)
      for (int64_t j = 0; j < i; ++j)
        A[size_t(i * chunk + j)] =
            beta(i) * dot(k(i), k(j), Dk) * std::exp(G[size_t(i)] - G[size_t(j)]);
    // (I + A) U = beta v, (I + A) W = beta exp(G) k: forward substitution.
    for (int64_t i = 0; i < L; ++i) {
      double* Ui = U.data() + i * Dv;
      double* Wi = W.data() + i * Dk;
      const double eg = std::exp(G[size_t(i)]);
      for (int64_t d = 0; d < Dv; ++d) Ui[d] = beta(i) * double(v(i)[d]);
      for (int64_t d = 0; d < Dk; ++d) Wi[d] = beta(i) * eg * double(k(i)[d]);
      for (int64_t j = 0; j < i; ++j) {
        const double aij = A[size_t(i * chunk + j)];
        const double* Uj = U.data() + j * Dv;
        const double* Wj = W.data() + j * Dk;
        for (int64_t d = 0; d < Dv; ++d) Ui[d] -= aij * Uj[d];
        for (int64_t d = 0; d < Dk; ++d) Wi[d] -= aij * Wj[d];
      }
    }
    // U' = U - W S (the part the old state already predicts).
    for (int64_t i = 0; i < L; ++i) {
      double* Ui = U.data() + i * Dv;
      const double* Wi = W.data() + i * Dk;
      for (int64_t r = 0; r < Dk; ++r) {
        const float* Sr = S + r * Dv;
        for (int64_t d = 0; d < Dv; ++d) Ui[d] -= Wi[r] * double(Sr[d]);
      }
    }
    // o_i = exp(G_i) q_i^T S + sum_{j<=i} exp(G_i - G_j) (q_i . k_j) U'_j.
    for (int64_t i = 0; i < L; ++i) {
      float* o = a.o + (t0 + i) * a.o_stride;
      const float* qi = q(i);
      const double eg = std::exp(G[size_t(i)]);
      std::vector<double>& acc = Snew;  // Dv of scratch (Snew is rebuilt below)
      for (int64_t d = 0; d < Dv; ++d) acc[size_t(d)] = 0.0;
      for (int64_t r = 0; r < Dk; ++r) {
        const float* Sr = S + r * Dv;
        for (int64_t d = 0; d < Dv; ++d) acc[size_t(d)] += double(qi[r]) * double(Sr[d]);
      }
      for (int64_t d = 0; d < Dv; ++d) acc[size_t(d)] *= eg;
      for (int64_t j = 0; j <= i; ++j) {
        const double c = std::exp(G[size_t(i)] - G[size_t(j)]) * dot(qi, k(j), Dk);
        const double* Uj = U.data() + j * Dv;
        for (int64_t d = 0; d < Dv; ++d) acc[size_t(d)] += c * Uj[d];
      }
      for (int64_t d = 0; d < Dv; ++d) o[d] = float(acc[size_t(d)]);
    }
    // S <- exp(G_last) S + sum_j exp(G_last - G_j) k_j U'_j^T.
    const double glast = G[size_t(L - 1)];
    const double el = std::exp(glast);
    for (int64_t r = 0; r < Dk * Dv; ++r) Snew[size_t(r)] = el * double(S[r]);
    for (int64_t j = 0; j < L; ++j) {
      const double c = std::exp(glast - G[size_t(j)]);
      const float* kj = k(j);
      const double* Uj = U.data() + j * Dv;
      for (int64_t r = 0; r < Dk; ++r) {
        const double ck = c * double(kj[r]);
        double* Sr = Snew.data() + r * Dv;
        for (int64_t d = 0; d < Dv; ++d) Sr[d] += ck * Uj[d];
      }
    }
    for (int64_t r = 0; r < Dk * Dv; ++r) S[r] = float(Snew[size_t(r)]);
  }
}

void l2_normalize_scalar(float* x, int64_t n, float eps, float scale) {
  const double ss = dot(x, x, n);
  const float inv = float(1.0 / std::sqrt(ss + double(eps))) * scale;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void gated_rms_norm_scalar(float* o, const float* z, const float* w, int64_t n, float eps) {
  const double ss = dot(o, o, n);
  const float inv = float(1.0 / std::sqrt(ss / double(n) + double(eps)));
  for (int64_t i = 0; i < n; ++i) {
    const float zi = z[i];
    o[i] = w[i] * (o[i] * inv) * (zi / (1.0f + std::exp(-zi)));
  }
}

}  // namespace

const DeltaKernels kDeltaKernelsScalar = {gated_delta_recurrent_scalar, gated_delta_chunked_scalar,
                                          causal_conv1d_silu_scalar, l2_normalize_scalar,
                                          gated_rms_norm_scalar};

int available_delta_paths(DeltaPath* out, int max_out) {
  return isa_paths<const DeltaKernels*>(out, max_out, &kDeltaKernelsAvx512, &kDeltaKernelsAvx2,
                                        &kDeltaKernelsScalar);
}

const DeltaKernels& best_delta_kernels() {
  static const DeltaKernels* k = best_isa_path(available_delta_paths);
  return *k;
}

}  // namespace internal

void gated_delta_recurrent(const DeltaHeadArgs& a) { internal::best_delta_kernels().recurrent(a); }
void gated_delta_chunked(const DeltaHeadArgs& a, int64_t chunk) {
  internal::best_delta_kernels().chunked(a, chunk);
}
void l2_normalize(float* x, int64_t n, float eps, float scale) {
  internal::best_delta_kernels().l2_norm(x, n, eps, scale);
}
void gated_rms_norm(float* o, const float* z, const float* w, int64_t n, float eps) {
  internal::best_delta_kernels().gated_norm(o, z, w, n, eps);
}

float delta_beta(float b) { return 1.0f / (1.0f + std::exp(-b)); }

float delta_log_decay(float a, float a_log, float dt_bias) {
  const float x = a + dt_bias;
  const float sp = x > 20.0f ? x : std::log1p(std::exp(x));
  return -std::exp(a_log) * sp;
}

}  // namespace yun
