// The per-ISA paths of a compute kernel that has an AVX-512, an AVX2+FMA and
// a scalar version (attention, silu_mul): which ones this CPU runs, best
// first. Dispatchers take the first; tests check each against the scalar
// reference. (matmul lists its own: each path has a multi-product entry and
// AVX2 needs F16C there.)
#pragma once

#include "yun/base/cpu_features.h"

namespace yun::internal {

template <typename Fn>
struct IsaPath {
  const char* name;
  Fn fn;
};

// Writes up to max_out of {avx512, avx2, scalar} that cpu_features() allows
// (so YUN_CPU_LIMIT caps them) to out; returns how many.
template <typename Fn>
int isa_paths(IsaPath<Fn>* out, int max_out, Fn avx512, Fn avx2, Fn scalar) {
  const CpuFeatures& f = cpu_features();
  int n = 0;
  auto add = [&](const char* name, Fn fn) {
    if (n < max_out) out[n++] = {name, fn};
  };
  if (f.avx512f) add("avx512", avx512);
  if (f.avx2 && f.fma) add("avx2", avx2);
  add("scalar", scalar);
  return n;
}

// The best path of a kernel's list (its available_*_paths function).
template <typename Fn>
Fn best_isa_path(int (*available)(IsaPath<Fn>*, int)) {
  IsaPath<Fn> p[3];
  available(p, 3);
  return p[0].fn;
}

}  // namespace yun::internal
