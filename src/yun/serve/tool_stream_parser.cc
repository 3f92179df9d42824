#include "yun/serve/tool_stream_parser.h"

#include "yun/serve/reasoning_parser.h"

namespace yun::serve {

StreamingToolParser::StreamingToolParser(std::string_view reply_prefix) { push(reply_prefix); }

void StreamingToolParser::add_fragment(std::string_view text, ToolStreamDelta& out) {
  if (text.empty()) return;
  int index = num_calls_ - 1;
  if (!out.calls.empty() && out.calls.back().index == index && out.calls.back().id.empty()) {
    out.calls.back().arguments.append(text);
    return;
  }
  ToolCallDelta d;
  d.index = index;
  d.arguments = std::string(text);
  out.calls.push_back(std::move(d));
}

bool StreamingToolParser::body_can_be_json() {
  checked_ += body_json_.feed(std::string_view(body_).substr(checked_));
  switch (body_json_.state()) {
    case JsonPrefixScanner::State::kPartial:
      return true;
    case JsonPrefixScanner::State::kComplete:
      return body_.find_first_not_of(" \t\r\n", checked_) == std::string::npos;
    default:
      return false;
  }
}

void StreamingToolParser::advance(std::string_view text, ToolStreamDelta& out) {
  if (block_ == Block::kContent) {
    out.content += text;
    return;
  }
  body_.append(text);
  if (block_ == Block::kHead) {
    // First, as a byte-by-byte feed would: the body up to the value's first
    // byte is valid JSON, so the call commits whatever follows it.
    ToolCallHead head = match_tool_call_head(body_);
    char first = head.match == ToolCallHead::Match::kYes ? body_[head.value_pos] : 0;
    if (first == '{' || first == '[') {
      ToolCallDelta d;
      d.index = num_calls_++;
      d.id = make_tool_call_id();
      d.name = std::move(head.name);
      out.calls.push_back(std::move(d));
      args_ = JsonPrefixScanner();
      scanned_ = head.value_pos;
      block_ = Block::kArgs;
    } else if (head.match != ToolCallHead::Match::kNeedMore) {
      block_ = Block::kHeld;
    }
  }
  if ((block_ == Block::kHead || block_ == Block::kHeld) && !body_can_be_json()) {
    out.content += kToolCallOpen;
    out.content += body_;
    block_ = Block::kContent;
    return;
  }
  if (block_ == Block::kArgs) {
    std::string_view rest = std::string_view(body_).substr(scanned_);
    size_t n = args_.feed(rest);
    add_fragment(rest.substr(0, n), out);
    scanned_ += n;
    if (args_.state() != JsonPrefixScanner::State::kPartial) block_ = Block::kAfterArgs;
  }
}

void StreamingToolParser::close_block(ToolStreamDelta& out, bool closed) {
  if (block_ == Block::kHead || block_ == Block::kHeld) {
    if (auto call = parse_tool_call_block(body_)) {
      ToolCallDelta head;
      head.index = num_calls_++;
      head.id = std::move(call->id);
      head.name = std::move(call->name);
      out.calls.push_back(std::move(head));
      add_fragment(call->arguments, out);
    } else {
      out.content += kToolCallOpen;
      out.content += body_;
      if (closed) out.content += kToolCallClose;
    }
  }
  if (block_ == Block::kContent && closed) out.content += kToolCallClose;
  // kArgs / kAfterArgs: the call was committed; what was not sent is dropped.
  body_.clear();
  scanned_ = 0;
  checked_ = 0;
  body_json_ = JsonPrefixScanner();
  block_ = Block::kOutside;
}

ToolStreamDelta StreamingToolParser::push(std::string_view text) {
  ToolStreamDelta out;
  held_.append(text);
  for (;;) {
    if (block_ == Block::kOutside) {
      size_t pos = held_.find(kToolCallOpen);
      if (pos == std::string::npos) {
        size_t keep = partial_tag_suffix(held_, kToolCallOpen);
        out.content += held_.substr(0, held_.size() - keep);
        held_.erase(0, held_.size() - keep);
        return out;
      }
      out.content += held_.substr(0, pos);
      held_.erase(0, pos + kToolCallOpen.size());
      block_ = Block::kHead;
    } else {
      size_t pos = held_.find(kToolCallClose);
      if (pos == std::string::npos) {
        size_t keep = partial_tag_suffix(held_, kToolCallClose);
        advance(std::string_view(held_).substr(0, held_.size() - keep), out);
        held_.erase(0, held_.size() - keep);
        return out;
      }
      advance(std::string_view(held_).substr(0, pos), out);
      held_.erase(0, pos + kToolCallClose.size());
      close_block(out, true);
    }
  }
}

ToolStreamDelta StreamingToolParser::finish() {
  ToolStreamDelta out;
  if (block_ != Block::kOutside) {
    advance(held_, out);
    held_.clear();
    close_block(out, false);
  } else {
    out.content = std::move(held_);
    held_.clear();
  }
  return out;
}

}  // namespace yun::serve
