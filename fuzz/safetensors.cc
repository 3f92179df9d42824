// libFuzzer target: SafetensorsFile::parse on arbitrary bytes. A parsed file's
// tensor views must lie inside the input buffer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "yun/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = yun::SafetensorsFile::parse(data, size, "fuzz.safetensors");
  if (!r.is_ok()) return 0;
  for (auto& [name, t] : (*r)->tensors()) {
    const auto* p = static_cast<const uint8_t*>(t.data);
    if (p < data || p + t.nbytes > data + size) std::abort();
    if (t.nbytes != size_t(t.numel()) * yun::dtype_size(t.dtype)) std::abort();
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < t.nbytes; ++i) sum = sum + p[i];
    (void)sum;
  }
  return 0;
}
