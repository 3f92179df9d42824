// Embedding gather: memory-bound, one block per row; ~T*H*6 bytes.
#include "yun/compute/cuda/embedding.cuh"

namespace yun::cuda {
namespace {

__global__ void embedding_kernel(const bf16* __restrict__ table, int64_t vocab, int64_t hidden,
                                 const int32_t* __restrict__ ids, float* __restrict__ out) {
  const int64_t t = blockIdx.x;
  const int32_t id = ids[t];
  float* o = out + t * hidden;
  if (id < 0 || id >= vocab) {
    for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) o[i] = 0.f;
    return;
  }
  const bf16* row = table + int64_t(id) * hidden;
  for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) o[i] = __bfloat162float(row[i]);
}

template <typename T>
__global__ void gather_kernel(const T* __restrict__ src, int64_t src_rows, int64_t width,
                              const int32_t* __restrict__ rows, T* __restrict__ dst) {
  const int64_t i = blockIdx.x;
  const int32_t r = rows[i];
  T* d = dst + i * width;
  if (r < 0 || r >= src_rows) {
    for (int64_t c = threadIdx.x; c < width; c += blockDim.x) d[c] = T(0.f);
    return;
  }
  const T* s = src + int64_t(r) * width;
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) d[c] = s[c];
}

int threads_for(int64_t width) { return width >= 1024 ? 256 : (width >= 256 ? 128 : 32); }

}  // namespace

Status embedding_lookup(const bf16* table, int64_t vocab, int64_t hidden, const int32_t* ids,
                        int64_t T, float* out, cudaStream_t stream) {
  YUN_CUDA_REQUIRE(hidden > 0 && vocab > 0 && T >= 0, "embedding_lookup");
  if (T == 0) return Status::ok();
  embedding_kernel<<<unsigned(T), threads_for(hidden), 0, stream>>>(table, vocab, hidden, ids, out);
  YUN_CUDA_CHECK_LAUNCH();
  return Status::ok();
}

Status gather_rows_f32(const float* src, int64_t src_rows, int64_t width, const int32_t* rows,
                       int64_t n, float* dst, cudaStream_t stream) {
  YUN_CUDA_REQUIRE(width > 0 && n >= 0, "gather_rows_f32");
  if (n == 0) return Status::ok();
  gather_kernel<float><<<unsigned(n), threads_for(width), 0, stream>>>(src, src_rows, width, rows, dst);
  YUN_CUDA_CHECK_LAUNCH();
  return Status::ok();
}

Status gather_rows_bf16(const bf16* src, int64_t src_rows, int64_t width, const int32_t* rows,
                        int64_t n, bf16* dst, cudaStream_t stream) {
  YUN_CUDA_REQUIRE(width > 0 && n >= 0, "gather_rows_bf16");
  if (n == 0) return Status::ok();
  gather_kernel<bf16><<<unsigned(n), threads_for(width), 0, stream>>>(src, src_rows, width, rows, dst);
  YUN_CUDA_CHECK_LAUNCH();
  return Status::ok();
}

}  // namespace yun::cuda
