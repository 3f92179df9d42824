// tool_choice without a grammar engine: a forced choice is enforced by
// writing the start of the tool call at the end of the rendered prompt (after
// the generation prompt), so the model's reply continues it.
//
//   "auto"       nothing appended: the model may or may not call a tool.
//   "none"       nothing appended (request_parse drops `tools`, so the
//                template renders none and no output is parsed for calls).
//   "required"   "<tool_call>\n" is appended: the reply is inside a call and
//                the model picks the function.
//   function X   "<tool_call>\n{\"name\": \"X\", \"arguments\": " is appended
//                (request_parse keeps only X in `tools`): the model writes X's
//                arguments, then `}` and `</tool_call>` (or stops).
//
// When the rendered prompt leaves a <think> block open, "</think>\n\n" goes
// first: a forced call skips the reasoning. The appended call text (without
// that) is the reply prefix: GenerationJob parses prefix + generated text as
// the reply. When that parses as tool calls the response is those calls with
// finish_reason "tool_calls" (for a named function, one call to X whose
// arguments are the object the model wrote); otherwise it is plain content,
// prefix included, since that is what the assistant's turn holds. Sampling is
// not constrained, so a model can still write arguments that do not parse.
#pragma once

#include <string>
#include <string_view>

#include "yun/serve/request_parse.h"

namespace yun::serve {

struct ForcedToolCall {
  std::string prompt_suffix;  // appended to the rendered prompt
  std::string reply_prefix;   // the part of it that starts the reply
};

// The text to append for req.tool_choice; both empty for "auto" and "none".
ForcedToolCall forced_tool_call(const OpenAiRequest& req, std::string_view rendered_prompt);

}  // namespace yun::serve
