// libFuzzer target: POST /v1/responses bodies through the translator
// (responses_request.h), and the same bytes through ResponsesOutput
// (responses_format.h): as a chat body (any JSON) and cut into streamed
// content, reasoning and tool-call pieces. Must never crash, throw or hang,
// whatever the bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "yun/serve/responses_format.h"
#include "yun/serve/responses_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using yun::serve::OJson;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  yun::serve::ResponsesRequest req;
  if (auto e = yun::serve::parse_responses_request(bytes, req)) {
    (void)yun::serve::responses_error(*e).to_json();
  }
  yun::serve::ResponsesInfo info{"resp_x", 0, "m", req.echo};
  yun::serve::JobOutcome out;
  out.finish_reason = size % 3 == 0 ? "length" : "stop";
  out.completion_tokens = static_cast<int64_t>(size);
  OJson body = OJson::parse(bytes, nullptr, false);
  if (!body.is_discarded()) (void)yun::serve::ResponsesOutput(info, nullptr).body(body, out);

  yun::serve::ResponsesOutput s(info, nullptr);
  std::string sse = s.stream_begin();
  // Pieces of 1..7 bytes cut at character starts, as the job's deltas are,
  // each as content, reasoning, a call head or call arguments.
  size_t step = 1;
  for (size_t pos = 0; pos < size;) {
    size_t end = std::min(size, pos + step);
    while (end < size && (data[end] & 0xC0) == 0x80) ++end;
    std::string piece(bytes.substr(pos, end - pos));
    OJson delta;
    switch (data[pos] % 4) {
      case 0: delta["content"] = piece; break;
      case 1: delta["reasoning_content"] = piece; break;
      case 2:
        delta["tool_calls"] = OJson::array(
            {{{"index", 0}, {"id", piece}, {"function", {{"name", piece}, {"arguments", ""}}}}});
        break;
      default:
        delta["tool_calls"] = OJson::array({{{"index", 0}, {"function", {{"arguments", piece}}}}});
    }
    sse += s.stream_chunk(OJson{{"index", 0}, {"delta", std::move(delta)}});
    pos = end;
    step = step % 7 + 1;
  }
  sse += size % 5 == 0 ? s.stream_error(yun::serve::server_error("x")) : s.stream_end(out);
  return 0;
}
