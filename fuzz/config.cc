// libFuzzer target: parse_model_config on arbitrary bytes. The input is split
// at the first NUL into config.json and generation_config.json text; any input
// must give a Status, never a crash or an exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "yun/model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  std::string gen;
  size_t nul = s.find('\0');
  if (nul != std::string::npos) {
    gen = s.substr(nul + 1);
    s.resize(nul);
  }
  auto r = yun::parse_model_config(s, gen);
  if (r.is_ok()) {
    // Touch the derived values.
    volatile int64_t q = r->q_size() + r->kv_size();
    for (int64_t i = 0; i < r->num_hidden_layers && i < 8; ++i) q = q + r->is_moe_layer(i);
    (void)q;
  }
  return 0;
}
