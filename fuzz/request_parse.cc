// libFuzzer target: request bodies through the OpenAI request parsers and
// sampling resolution. Must never crash, throw or hang, whatever the bytes.
#include "yun/serve/request_parse.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  yun::serve::OpenAiRequest req;
  yun::ModelConfig::GenerationDefaults gen;
  gen.temperature = 0.7;
  gen.top_k = 20;
  for (bool chat : {true, false}) {
    auto err = chat ? yun::serve::parse_chat_request(body, req)
                    : yun::serve::parse_completion_request(body, req);
    if (err) {
      (void)err->to_json();
      continue;
    }
    yun::SamplingParams p;
    (void)yun::serve::resolve_sampling_params(req, gen, static_cast<int64_t>(size % 64) + 1, 64, p);
    for (const auto& ids : req.prompt_ids) (void)yun::serve::check_token_ids(ids, 1000, "prompt");
  }
  // The same bytes as a `yun run --prompts-file` line and as run's flags.
  nlohmann::ordered_json obj;
  if (!yun::serve::parse_json_object(body, obj)) {
    yun::serve::OpenAiRequest line;
    if (!yun::serve::parse_jsonl_request(obj, line)) {
      yun::SamplingParams p;
      (void)yun::serve::resolve_sampling_params(line, gen, 8, 64, p);
    }
    yun::serve::OpenAiRequest flags;
    (void)yun::serve::parse_sampling_fields(obj, flags);
  }
  return 0;
}
