// CPU feature detection for run-time SIMD dispatch (no -march=native builds).
#pragma once

#include <string>

namespace yun {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512_bf16 = false;
  bool avx512_vnni = false;
  bool avx_vnni = false;
  // "avx2 fma f16c avx512f ..." for logs and --version.
  std::string to_string() const;
};

// Detected once (cpuid + xgetbv for OS support of the register state).
// The env var YUN_CPU_LIMIT=avx2|scalar caps what is reported, for tests.
const CpuFeatures& cpu_features();

}  // namespace yun
