// Tool-call parsing for Qwen/Hermes-style output:
//   <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>
//
// parse_tool_calls() handles a whole output: the text before the first
// <tool_call> is the content, every block becomes a ToolCall whose
// `arguments` is a JSON string. If any block is malformed (bad JSON, no
// name) the whole output is plain content and there are no calls.
// StreamingToolParser does the same on streamed text: content passes through
// (a partial "<tool_call" at a piece's end is held back), each complete block
// yields a first delta with id + name and then the argument text, and a
// malformed block is passed through as content.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace yun::serve {

struct ToolCall {
  std::string id;  // "chatcmpl-tool-<hex>"
  std::string name;
  std::string arguments;  // JSON text of the arguments object
};

struct ToolParseResult {
  std::string content;
  std::vector<ToolCall> calls;
};

ToolParseResult parse_tool_calls(std::string_view text);

struct ToolCallDelta {
  int index = 0;
  std::string id, name;   // set on a call's first delta only
  std::string arguments;  // a fragment of the arguments JSON text
};

struct ToolStreamDelta {
  std::string content;
  std::vector<ToolCallDelta> calls;
};

class StreamingToolParser {
 public:
  ToolStreamDelta push(std::string_view text);
  ToolStreamDelta finish();
  int num_calls() const { return num_calls_; }

 private:
  void close_block(ToolStreamDelta& out, bool closed);
  bool in_block_ = false;
  std::string held_;
  int num_calls_ = 0;
};

// A random "chatcmpl-tool-..." id.
std::string make_tool_call_id();

}  // namespace yun::serve
