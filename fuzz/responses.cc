// libFuzzer target: POST /v1/responses bodies through the translator
// (responses_request.h), and the same bytes as generated text through the
// Response formatter and its event stream (responses_format.h), reasoning
// and tool parsing on. Must never crash, throw or hang, whatever the bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "yun/serve/responses_format.h"
#include "yun/serve/responses_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  yun::serve::ResponsesRequest req;
  if (auto e = yun::serve::parse_responses_request(bytes, req)) {
    (void)yun::serve::responses_error(*e).to_json();
  }
  yun::serve::ReplyParsing how;
  how.reasoning = size % 2 == 0;
  how.starts_in_reasoning = size % 3 == 0;
  how.tools = true;
  yun::serve::ResponsesInfo info{"resp_x", 0, "m", req.echo};
  yun::serve::ResponsesUsage usage{1, 0, 1, 0};
  (void)yun::serve::dump_json(yun::serve::responses_body(
      info, yun::serve::split_reply(bytes, how), yun::FinishReason::kStop, usage));
  yun::serve::ResponsesStream stream(info, how);
  std::string out = stream.begin();
  // Pieces of 1..7 bytes, cut at character starts as the detokenizer cuts
  // them (the stream parsers require whole UTF-8 characters).
  size_t step = 1;
  for (size_t pos = 0; pos < size;) {
    size_t end = std::min(size, pos + step);
    while (end < size && (data[end] & 0xC0) == 0x80) ++end;
    out += stream.push(bytes.substr(pos, end - pos));
    pos = end;
    step = step % 7 + 1;
  }
  out += size % 5 == 0 ? stream.fail(yun::serve::server_error("x"))
                       : stream.end(size % 4 == 0 ? yun::FinishReason::kLength
                                                  : yun::FinishReason::kStop,
                                    usage);
  return 0;
}
