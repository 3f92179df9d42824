// libFuzzer target: POST /v1/embeddings bodies through parse_embeddings_request
// (serve/embeddings_api.h), then the vector encodings on bytes of the input.
// Must never crash, throw or hang, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "yun/serve/embeddings_api.h"
#include "yun/serve/request_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  yun::serve::EmbeddingsRequest req;
  if (auto err = yun::serve::parse_embeddings_request(body, req)) {
    (void)err->to_json();
  } else {
    for (const auto& ids : req.token_ids) (void)yun::serve::check_token_ids(ids, 1000, "input");
  }
  // The raw bytes as floats (NaN, Inf, denormals included).
  std::vector<float> v(size / 4);
  if (!v.empty()) std::memcpy(v.data(), data, v.size() * 4);
  (void)yun::serve::embedding_base64(yun::serve::normalize_embedding(v, int64_t(size % 7)));
  return 0;
}
