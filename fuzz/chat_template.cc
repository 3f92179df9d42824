// libFuzzer target: parses and renders arbitrary template text with a fixed
// context. Must never crash, hang or exhaust memory: the renderer runs with
// tight RenderLimits (1 MB output, bounded loops and macro recursion) and the
// parser bounds nesting depth.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "yun/text/jinja_renderer.h"

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "You are helpful."},
      {"role": "user", "content": "Hi é 中文"},
      {"role": "assistant", "content": "<think>\nx\n</think>\n\nHello", "reasoning_content": null,
       "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": [1, 2.5, true]}}}]},
      {"role": "tool", "content": "{\"ok\": 1}"}
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "enable_thinking": false
  })");
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string source(reinterpret_cast<const char*>(data), size);
  auto body = yun::jinja::parse(source);
  if (!body.is_ok()) return 0;
  yun::jinja::RenderLimits limits;
  limits.max_output_bytes = 1 << 20;
  limits.max_iterations = 100'000;
  limits.max_call_depth = 32;
  auto out = yun::jinja::render(**body, context(), limits);
  (void)out;
  return 0;
}
