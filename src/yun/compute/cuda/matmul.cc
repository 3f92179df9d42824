// cuBLASLt wrapper. Row-major y[M,N] = x[M,K]·W[N,K]ᵀ is, in cuBLAS's
// column-major terms, yᶜ[N,M] = (Wᶜ[K,N])ᵀ · xᶜ[K,M]: A = W (op T, lda K),
// B = x (op N, ldb K), D = y (ldd N). The bias epilogue adds bias[N] per row
// of D, i.e. per output feature.
#include "yun/compute/cuda/matmul.h"

#include <algorithm>
#include <string>

namespace yun::cuda {
namespace {

Status lt_error(cublasStatus_t st, const char* what) {
  return internal_error(std::string("cublasLt: ") + what + " failed with status " +
                        std::to_string(int(st)));
}

#define YUN_LT_CHECK(expr)                              \
  do {                                                  \
    cublasStatus_t st_ = (expr);                        \
    if (st_ != CUBLAS_STATUS_SUCCESS) return lt_error(st_, #expr); \
  } while (0)

}  // namespace

Matmul::~Matmul() {
  for (auto& [k, p] : plans_) {
    if (p.desc) cublasLtMatmulDescDestroy(p.desc);
    if (p.a) cublasLtMatrixLayoutDestroy(p.a);
    if (p.b) cublasLtMatrixLayoutDestroy(p.b);
    if (p.c) cublasLtMatrixLayoutDestroy(p.c);
  }
  if (workspace_) cudaFree(workspace_);
  if (handle_) cublasLtDestroy(handle_);
}

Status Matmul::init(size_t workspace_bytes) {
  YUN_LT_CHECK(cublasLtCreate(&handle_));
  workspace_bytes_ = workspace_bytes;
  if (workspace_bytes_ > 0) YUN_CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
  return Status::ok();
}

// Largest power of two (<= 256) dividing the address: the heuristic must only
// pick kernels that accept it (cuBLASLt assumes 256-byte alignment by default).
static uint32_t pointer_alignment(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  const uintptr_t low = a & (~a + 1);
  return low == 0 || low > 256 ? 256u : uint32_t(low);
}

Result<const Matmul::Plan*> Matmul::plan(int64_t M, int64_t K, int64_t N, OutType out, bool bias,
                                         uint32_t align) {
  Key key{M, K, N, int(out), bias, align};
  auto it = plans_.find(key);
  if (it != plans_.end()) return &it->second;
  Plan p;
  const cudaDataType_t dt = out == OutType::kBF16 ? CUDA_R_16BF : CUDA_R_32F;
  YUN_LT_CHECK(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t opT = CUBLAS_OP_T, opN = CUBLAS_OP_N;
  YUN_LT_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opT, sizeof opT));
  YUN_LT_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof opN));
  if (bias) {
    const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    YUN_LT_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    const cudaDataType_t bt = CUDA_R_16BF;
    YUN_LT_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt));
  }
  YUN_LT_CHECK(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_16BF, uint64_t(K), uint64_t(N), K));
  YUN_LT_CHECK(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_16BF, uint64_t(K), uint64_t(M), K));
  YUN_LT_CHECK(cublasLtMatrixLayoutCreate(&p.c, dt, uint64_t(N), uint64_t(M), N));

  cublasLtMatmulPreference_t pref = nullptr;
  YUN_LT_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                       &workspace_bytes_, sizeof workspace_bytes_);
  for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
    cublasLtMatmulPreferenceSetAttribute(pref, attr, &align, sizeof align);
  cublasLtMatmulHeuristicResult_t res{};
  int found = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(handle_, p.desc, p.a, p.b, p.c, p.c, pref, 1,
                                                     &res, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st != CUBLAS_STATUS_SUCCESS || found == 0) {
    cublasLtMatmulDescDestroy(p.desc);
    cublasLtMatrixLayoutDestroy(p.a);
    cublasLtMatrixLayoutDestroy(p.b);
    cublasLtMatrixLayoutDestroy(p.c);
    return internal_error("cublasLt: no algorithm for M=" + std::to_string(M) + " K=" +
                          std::to_string(K) + " N=" + std::to_string(N));
  }
  p.algo = res.algo;
  auto [pos, inserted] = plans_.emplace(key, p);
  return &pos->second;
}

Status Matmul::linear(const bf16* x, int64_t M, int64_t K, const bf16* W, int64_t N,
                      const bf16* bias, void* y, OutType out_type, cudaStream_t stream) {
  YUN_CUDA_REQUIRE(handle_ != nullptr, "matmul (init not called)");
  YUN_CUDA_REQUIRE(M >= 0 && K > 0 && N > 0 && x && W && y, "matmul");
  YUN_CUDA_REQUIRE(bias == nullptr || out_type == OutType::kBF16, "matmul");
  if (M == 0) return Status::ok();
  const uint32_t align = std::min({pointer_alignment(x), pointer_alignment(W), pointer_alignment(y)});
  YUN_ASSIGN_OR_RETURN(const Plan* p, plan(M, K, N, out_type, bias != nullptr, align));
  if (bias) {
    YUN_LT_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                sizeof bias));
  }
  const float alpha = 1.f, beta = 0.f;
  YUN_LT_CHECK(cublasLtMatmul(handle_, p->desc, &alpha, W, p->a, x, p->b, &beta, y, p->c, y, p->c,
                              &p->algo, workspace_, workspace_bytes_, stream));
  return Status::ok();
}

}  // namespace yun::cuda
