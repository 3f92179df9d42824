// libFuzzer target: GgufFile::parse on arbitrary bytes, then the model
// config and tokenizer built from what parsed. A parsed file's tensor views
// must lie inside the input buffer and hold exactly their format's bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "yun/model/gguf.h"
#include "yun/model/gguf_model.h"
#include "yun/model/weight_format.h"
#include "yun/text/gguf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = yun::GgufFile::parse(data, size, "fuzz.gguf");
  if (!r.is_ok()) return 0;
  for (const auto& t : (*r)->tensors()) {
    const auto* p = static_cast<const uint8_t*>(t.view.data);
    if (p < data || p + t.view.nbytes > data + size) std::abort();
    auto want = yun::format_bytes(t.view.dtype, t.view.numel());
    if (!want.is_ok() || *want != t.view.nbytes) std::abort();
  }
  if (auto c = yun::gguf_model_config(**r); c.is_ok()) {
    std::shared_ptr<yun::GgufFile> f = std::move(*r);
    (void)yun::GgufWeights::create(f, *c);
    (void)yun::tokenizer_from_gguf(*f);
  } else {
    (void)yun::tokenizer_from_gguf(**r);
  }
  return 0;
}
