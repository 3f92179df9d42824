#include "yun/serve/tool_parser.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "yun/serve/reasoning_parser.h"

namespace yun::serve {
namespace {

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

std::optional<ToolCall> parse_block(std::string_view body) {
  auto j = nlohmann::ordered_json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto name = j.find("name");
  if (name == j.end() || !name->is_string()) return std::nullopt;
  ToolCall call;
  call.id = make_tool_call_id();
  call.name = name->get<std::string>();
  auto args = j.find("arguments");
  if (args == j.end()) args = j.find("parameters");
  if (args == j.end() || args->is_null()) {
    call.arguments = "{}";
  } else if (args->is_string()) {
    call.arguments = args->get<std::string>();
  } else {
    call.arguments = args->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return call;
}

std::string_view trim(std::string_view s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string_view::npos) return {};
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

}  // namespace

std::string make_tool_call_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string id = "chatcmpl-tool-";
  for (int i = 0; i < 24; ++i) id += kHex[rng() & 15];
  return id;
}

ToolParseResult parse_tool_calls(std::string_view text) {
  ToolParseResult r;
  size_t first = text.find(kOpen);
  if (first == std::string_view::npos) {
    r.content = std::string(text);
    return r;
  }
  size_t pos = first;
  while (pos != std::string_view::npos) {
    size_t body = pos + kOpen.size();
    size_t end = text.find(kClose, body);
    std::string_view block =
        end == std::string_view::npos ? text.substr(body) : text.substr(body, end - body);
    auto call = parse_block(trim(block));
    if (!call) return ToolParseResult{std::string(text), {}};
    r.calls.push_back(std::move(*call));
    if (end == std::string_view::npos) break;
    pos = text.find(kOpen, end + kClose.size());
  }
  r.content = std::string(trim(text.substr(0, first)));
  return r;
}

void StreamingToolParser::close_block(ToolStreamDelta& out, bool closed) {
  auto call = parse_block(trim(held_));
  if (call) {
    ToolCallDelta head;
    head.index = num_calls_;
    head.id = call->id;
    head.name = call->name;
    out.calls.push_back(std::move(head));
    ToolCallDelta args;
    args.index = num_calls_;
    args.arguments = call->arguments;
    out.calls.push_back(std::move(args));
    ++num_calls_;
  } else {
    out.content += std::string(kOpen) + held_ + (closed ? std::string(kClose) : "");
  }
  held_.clear();
  in_block_ = false;
}

ToolStreamDelta StreamingToolParser::push(std::string_view text) {
  ToolStreamDelta out;
  held_.append(text);
  for (;;) {
    if (!in_block_) {
      size_t pos = held_.find(kOpen);
      if (pos == std::string::npos) {
        size_t keep = partial_tag_suffix(held_, kOpen);
        out.content += held_.substr(0, held_.size() - keep);
        held_.erase(0, held_.size() - keep);
        return out;
      }
      out.content += held_.substr(0, pos);
      held_.erase(0, pos + kOpen.size());
      in_block_ = true;
    } else {
      size_t pos = held_.find(kClose);
      if (pos == std::string::npos) return out;
      std::string rest = held_.substr(pos + kClose.size());
      held_.resize(pos);
      close_block(out, true);
      held_ = std::move(rest);
    }
  }
}

ToolStreamDelta StreamingToolParser::finish() {
  ToolStreamDelta out;
  if (in_block_) {
    close_block(out, false);
  } else {
    out.content = std::move(held_);
    held_.clear();
  }
  return out;
}

}  // namespace yun::serve
