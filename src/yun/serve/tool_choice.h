// tool_choice: a forced choice writes the start of the tool call at the end
// of the rendered prompt (after the generation prompt), so the model's reply
// continues it; when the forced tools are strict, a grammar makes the rest of
// the call well-formed.
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
// prefix included, since that is what the assistant's turn holds.
//
// Strict: when a forced tool has "strict": true (the named one, or any of
// `tools` for "required"), only "<tool_call>\n" is appended and the reply
// follows tool_call_grammar(tools): the whole call text
//   {"name": "NAME", "arguments": ARGS}\n</tool_call>
// for one of the tools, ARGS following that tool's `parameters` schema
// (strict tools) or any JSON object (the others), so the call always parses.
// Without strict, sampling is not constrained and a model can still write
// arguments that do not parse.
#pragma once

#include <string>
#include <string_view>

#include "yun/base/status.h"
#include "yun/grammar/grammar.h"
#include "yun/grammar/compile.h"
#include "yun/serve/request_parse.h"

namespace yun::serve {

struct ForcedToolCall {
  std::string prompt_suffix;  // appended to the rendered prompt
  std::string reply_prefix;   // the part of it that starts the reply
  bool strict = false;        // the reply follows tool_call_grammar(req.tools)
};

// The grammar of a strict forced call after "<tool_call>\n" (above).
// Errors: kInvalidArgument naming the tool and the schema keyword it cannot
// enforce; the compile limits of `options`.
Result<grammar::Grammar> tool_call_grammar(const nlohmann::ordered_json& tools,
                                           const grammar::CompileOptions& options);

// The text to append for req.tool_choice; both empty for "auto" and "none".
ForcedToolCall forced_tool_call(const OpenAiRequest& req, std::string_view rendered_prompt);

}  // namespace yun::serve
