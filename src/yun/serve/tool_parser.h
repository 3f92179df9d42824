// Tool-call parsing for Qwen/Hermes-style output:
//   <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>
//
// parse_tool_calls() handles a whole output: the text before the first
// <tool_call> is the content, every block becomes a ToolCall. A block ends at
// the first </tool_call> (or at the end of the output). If any block is
// malformed (bad JSON, no name) the whole output is plain content and there
// are no calls.
//
// `arguments` is the arguments object exactly as the model wrote it (the
// text from its '{' to its matching '}'), when the block has the usual
// layout {"name": ..., "arguments": {...}} ("parameters" is accepted for
// "arguments"); this is also what the streaming parser sends, fragment by
// fragment (tool_stream_parser.h). Other layouts give the compact dump of the
// object; a string value is used as is; a missing or null value gives "{}".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace yun::serve {

inline constexpr std::string_view kToolCallOpen = "<tool_call>";
inline constexpr std::string_view kToolCallClose = "</tool_call>";

struct ToolCall {
  std::string id;  // "chatcmpl-tool-<hex>"
  std::string name;
  std::string arguments;  // JSON text of the arguments
};

struct ToolParseResult {
  std::string content;
  std::vector<ToolCall> calls;
};

ToolParseResult parse_tool_calls(std::string_view text);

// Parses one block body (the text between the tags), with a fresh id;
// nullopt when it is not a valid call.
std::optional<ToolCall> parse_tool_call_block(std::string_view body);

// The start of a block body in the usual layout, up to where the arguments
// value begins: ws `{` ws `"name"` ws `:` ws STRING ws `,` ws `"arguments"`
// ws `:` ws. kYes needs the value's first byte to be there too.
struct ToolCallHead {
  enum class Match { kNeedMore, kNo, kYes } match = Match::kNeedMore;
  std::string name;      // decoded (kYes)
  size_t value_pos = 0;  // index of the arguments value's first byte (kYes)
};
ToolCallHead match_tool_call_head(std::string_view body);

// A random "chatcmpl-tool-..." id.
std::string make_tool_call_id();

}  // namespace yun::serve
