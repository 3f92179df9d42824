// StreamingToolParser: parse_tool_calls() (tool_parser.h) on streamed text,
// sending tool calls the way OpenAI and vLLM stream them.
//
// Content outside blocks passes through (a partial "<tool_call>" at the end
// of a piece is held back until the next piece decides it). Inside a block:
//  * When the body reaches `{"name": "NAME", "arguments": ` and the first
//    byte of an object or array value, the call is committed: a head delta
//    (index, a fresh id, name; no arguments) is sent, then the arguments text
//    as the model writes it, in fragments (consecutive fragments of one call
//    within one push() are merged). A fragment never holds a byte that cannot
//    continue valid JSON (json_prefix.h), and stops at the value's closing
//    bracket; the rest of the block (`}`, whitespace) is not sent. For a
//    well-formed block the fragments concatenate to the non-streamed
//    `arguments` string.
//  * A block in any other layout (arguments before name, a string value...)
//    is held until it closes, then sent whole (head, then one fragment) if
//    parse_tool_call_block() accepts it, else passed through as content
//    (tags included), as the non-streamed parser would. A block that cannot
//    be a JSON object (a byte that cannot continue one, or text after it) is
//    passed through as content at once, and the rest of it as it comes.
//  * A committed call cannot be taken back (as in vLLM): if its block turns
//    out to be malformed (invalid JSON in the arguments, junk after them, the
//    output ending inside them), the call stays with the valid JSON prefix
//    sent so far and the rest of the block is dropped. Only then may the
//    streamed result differ from the non-streamed one (which turns the whole
//    output into content). The block still ends at the first </tool_call>.
// Calls are numbered 0, 1, ... in order of commitment. Pieces must be whole
// UTF-8 characters (the detokenizer's deltas are).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "yun/serve/json_prefix.h"
#include "yun/serve/tool_parser.h"

namespace yun::serve {

struct ToolCallDelta {
  int index = 0;
  std::string id, name;   // set on a call's head delta only
  std::string arguments;  // a fragment of the arguments text (empty in a head)
};

struct ToolStreamDelta {
  std::string content;
  std::vector<ToolCallDelta> calls;
};

class StreamingToolParser {
 public:
  // `reply_prefix`: text the reply is known to start with (the tool_choice
  // prefix put at the end of the prompt, tool_choice.h), parsed as if the
  // model had written it. It must open a block (or be empty), so it yields
  // no output by itself.
  explicit StreamingToolParser(std::string_view reply_prefix = {});

  // Takes the next piece of output; returns what can be sent now.
  ToolStreamDelta push(std::string_view text);
  // Ends the output: flushes held text and closes an open block.
  ToolStreamDelta finish();
  // Calls committed so far.
  int num_calls() const { return num_calls_; }

 private:
  enum class Block {
    kOutside,
    kHead,       // matching `{"name": ..., "arguments": `
    kHeld,       // another layout: decided at the close
    kContent,    // malformed: passed through
    kArgs,       // committed, streaming the arguments
    kAfterArgs,  // committed, the rest is dropped
  };

  // Takes body text known not to contain the close tag.
  void advance(std::string_view text, ToolStreamDelta& out);
  // kHead/kHeld: false once body_ cannot be one JSON object.
  bool body_can_be_json();
  void close_block(ToolStreamDelta& out, bool closed);
  void add_fragment(std::string_view text, ToolStreamDelta& out);

  Block block_ = Block::kOutside;
  std::string held_;    // unprocessed text (a possible partial tag)
  std::string body_;    // the current block's body so far
  size_t scanned_ = 0;  // body_ bytes given to args_ (kArgs)
  JsonPrefixScanner args_;
  size_t checked_ = 0;  // body_ bytes given to body_json_ (kHead, kHeld)
  JsonPrefixScanner body_json_;
  int num_calls_ = 0;
};

}  // namespace yun::serve
