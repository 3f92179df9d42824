// libFuzzer target: parse_models_config (`yun serve --models-config`) on
// arbitrary bytes, and each parsed entry's engine options applied over the
// default flags. Any input must give a Status, never a crash or an exception.
#include "yun/cli/models_config.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = yun::cli::parse_models_config(text);
  if (r.is_ok()) {
    yun::cli::EngineFlags base;
    base.runner.device = "cpu";
    for (const auto& e : *r) {
      auto f = yun::cli::engine_flags_for(e, base);
      volatile bool own = e.own_kv_size();
      (void)own;
      (void)f;
    }
  }
  return 0;
}
