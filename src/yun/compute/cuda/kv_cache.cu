// KV write: one block per token, 16-byte copies when aligned.
#include "yun/compute/cuda/kv_cache.cuh"

namespace yun::cuda {
namespace {

__global__ void kv_write_kernel(const bf16* __restrict__ qkv, int64_t stride, int64_t k_off,
                                int64_t v_off, int64_t kv_size, const int32_t* __restrict__ slots,
                                bf16* __restrict__ kc, bf16* __restrict__ vc, int64_t num_slots,
                                bool vec) {
  const int64_t t = blockIdx.x;
  const int64_t slot = slots[t];
  if (slot < 0 || slot >= num_slots) return;
  const bf16* k = qkv + t * stride + k_off;
  const bf16* v = qkv + t * stride + v_off;
  bf16* kd = kc + slot * kv_size;
  bf16* vd = vc + slot * kv_size;
  if (vec) {  // 8 bf16 per access
    const int64_t n = kv_size / 8;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      reinterpret_cast<uint4*>(kd)[i] = reinterpret_cast<const uint4*>(k)[i];
      reinterpret_cast<uint4*>(vd)[i] = reinterpret_cast<const uint4*>(v)[i];
    }
  } else {
    for (int64_t i = threadIdx.x; i < kv_size; i += blockDim.x) {
      kd[i] = k[i];
      vd[i] = v[i];
    }
  }
}

}  // namespace

Status kv_cache_write(const bf16* qkv, int64_t T, int64_t stride, int64_t k_offset,
                      int64_t v_offset, int64_t kv_size, const int32_t* slots, bf16* k_cache,
                      bf16* v_cache, int64_t num_slots, cudaStream_t stream) {
  YUN_CUDA_REQUIRE(kv_size > 0 && T >= 0 && num_slots >= 0, "kv_cache_write");
  YUN_CUDA_REQUIRE(k_offset + kv_size <= stride && v_offset + kv_size <= stride, "kv_cache_write");
  if (T == 0) return Status::ok();
  auto aligned = [](const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; };
  const bool vec = kv_size % 8 == 0 && stride % 8 == 0 && k_offset % 8 == 0 && v_offset % 8 == 0 &&
                   aligned(qkv) && aligned(k_cache) && aligned(v_cache);
  kv_write_kernel<<<unsigned(T), 64, 0, stream>>>(qkv, stride, k_offset, v_offset, kv_size, slots,
                                                  k_cache, v_cache, num_slots, vec);
  YUN_CUDA_CHECK_LAUNCH();
  return Status::ok();
}

}  // namespace yun::cuda
