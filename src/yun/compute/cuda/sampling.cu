#include <cuda_runtime.h>

#include <cmath>

#include "yun/compute/cuda/sampling.cuh"

namespace yun::cuda {
namespace {

constexpr int kThreads = 512;

// (value, index) ordered best first: larger value, then lower index. NaN is
// never better than anything.
struct Cand {
  float v;
  int32_t i;
};

__device__ __forceinline__ bool better(Cand a, Cand b) {
  return a.v > b.v || (a.v == b.v && a.i < b.i);
}

__device__ __forceinline__ Cand warp_best(Cand c) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    Cand other{__shfl_xor_sync(0xffffffffu, c.v, o), __shfl_xor_sync(0xffffffffu, c.i, o)};
    if (better(other, c)) c = other;
  }
  return c;
}

// Best over the block; every thread gets it. REQUIRES blockDim.x == kThreads.
__device__ Cand block_best(Cand c) {
  __shared__ Cand partial[kThreads / 32];
  __shared__ Cand result;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  c = warp_best(c);
  if (lane == 0) partial[warp] = c;
  __syncthreads();
  if (warp == 0) {
    Cand p = lane < kThreads / 32 ? partial[lane] : Cand{-INFINITY, 0x7fffffff};
    p = warp_best(p);
    if (lane == 0) result = p;
  }
  __syncthreads();
  const Cand r = result;
  __syncthreads();  // result and partial are reused by the next call
  return r;
}

// The best x = row[i] * scale strictly after `last` in the order (all of the
// row when last.i < 0).
__device__ Cand best_after(const float* row, int64_t vocab, float scale, Cand last) {
  Cand c{-INFINITY, 0x7fffffff};
  for (int64_t i = threadIdx.x; i < vocab; i += kThreads) {
    Cand x{row[i] * scale, int32_t(i)};
    if (last.i >= 0 && !better(last, x)) continue;  // already taken (or equal to it)
    if (better(x, c)) c = x;
  }
  return block_best(c);
}

__global__ void argmax_kernel(const float* logits, int64_t vocab, int32_t* out) {
  const float* row = logits + int64_t(blockIdx.x) * vocab;
  const Cand b = best_after(row, vocab, 1.f, Cand{0.f, -1});
  if (threadIdx.x == 0) out[blockIdx.x] = b.i == 0x7fffffff ? 0 : b.i;
}

__global__ void sample_kernel(const float* logits, int64_t num_logit_rows, int64_t vocab,
                              const DeviceSampleRow* rows, int32_t* out) {
  const DeviceSampleRow p = rows[blockIdx.x];
  if (p.logit_row < 0 || p.logit_row >= num_logit_rows ||
      (!p.greedy && (p.top_k < 1 || p.top_k > kMaxDeviceTopK))) {
    if (threadIdx.x == 0) out[blockIdx.x] = -1;
    return;
  }
  const float* row = logits + int64_t(p.logit_row) * vocab;
  if (p.greedy) {
    const Cand b = best_after(row, vocab, 1.f, Cand{0.f, -1});
    if (threadIdx.x == 0) out[blockIdx.x] = b.i == 0x7fffffff ? 0 : b.i;
    return;
  }
  __shared__ Cand cand[kMaxDeviceTopK];
  int n = 0;
  Cand last{0.f, -1}, first{0.f, 0};
  for (int k = 0; k < p.top_k; ++k) {
    const Cand b = best_after(row, vocab, p.inv_temperature, last);
    if (k == 0) first = b;
    if (b.i == 0x7fffffff || b.v == -INFINITY) break;  // only -inf (or NaN) left
    if (threadIdx.x == 0) cand[k] = b;
    last = b;
    ++n;
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  if (n == 0) {  // every logit -inf: CpuSampler keeps the argmax
    out[blockIdx.x] = first.i == 0x7fffffff ? 0 : first.i;
    return;
  }
  // From here as CpuSampler, in the same float/double mix.
  const float mx = cand[0].v;
  int keep_n = n;
  if (p.top_p < 1.0) {
    double total = 0;
    for (int j = 0; j < n; ++j) total += exp(double(cand[j].v) - mx);
    double cum = 0;
    int keep = 0;
    for (; keep < n; ++keep) {
      cum += exp(double(cand[keep].v) - mx) / total;
      if (cum >= p.top_p) break;
    }
    keep_n = keep + 1 < n ? keep + 1 : n;
  }
  if (p.min_p > 0.0) {
    const double thresh = log(p.min_p);
    int w = 0;
    for (int j = 0; j < keep_n; ++j) {
      const float d = cand[j].v - mx;
      if (!(double(d) < thresh)) cand[w++] = cand[j];
    }
    keep_n = w;  // >= 1: the best has d = 0 >= log(min_p)
  }
  double sum = 0;
  for (int j = 0; j < keep_n; ++j) sum += exp(double(cand[j].v) - mx);
  const double target = p.u * sum;
  double acc = 0;
  int32_t token = cand[keep_n - 1].i;
  for (int j = 0; j < keep_n; ++j) {
    acc += exp(double(cand[j].v) - mx);
    if (acc > target) {
      token = cand[j].i;
      break;
    }
  }
  out[blockIdx.x] = token;
}

}  // namespace

Status sample_rows(const float* logits, int64_t num_logit_rows, int64_t vocab,
                   const DeviceSampleRow* rows, int64_t n, int32_t* out, cudaStream_t stream) {
  if (vocab <= 0 || n < 0 || vocab > 0x7ffffffe) return invalid_argument("sample_rows: bad shape");
  if (n == 0) return Status::ok();
  sample_kernel<<<unsigned(n), kThreads, 0, stream>>>(logits, num_logit_rows, vocab, rows, out);
  YUN_CUDA_CHECK_LAUNCH();
  return Status::ok();
}

Status argmax_rows(const float* logits, int64_t rows, int64_t vocab, int32_t* out,
                   cudaStream_t stream) {
  if (vocab <= 0 || rows < 0 || vocab > 0x7ffffffe)
    return invalid_argument("argmax_rows: bad shape");
  if (rows == 0) return Status::ok();
  argmax_kernel<<<unsigned(rows), kThreads, 0, stream>>>(logits, vocab, out);
  YUN_CUDA_CHECK_LAUNCH();
  return Status::ok();
}

}  // namespace yun::cuda
