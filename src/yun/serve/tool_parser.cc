#include "yun/serve/tool_parser.h"

#include <nlohmann/json.hpp>
#include <random>

#include "yun/base/json_limits.h"
#include "yun/serve/json_prefix.h"

namespace yun::serve {
namespace {

using Match = ToolCallHead::Match;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string_view::npos) return {};
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

// Skips whitespace, then matches `lit` at s[i]; advances i past it on kYes.
Match expect(std::string_view s, size_t& i, std::string_view lit) {
  while (i < s.size() && is_ws(s[i])) ++i;
  size_t n = std::min(lit.size(), s.size() - i);
  if (s.substr(i, n) != lit.substr(0, n)) return Match::kNo;
  if (n < lit.size()) return Match::kNeedMore;
  i += n;
  return Match::kYes;
}

// The arguments object as written, when `body` has the usual layout.
std::optional<std::string> raw_arguments(std::string_view body, const std::string& name) {
  ToolCallHead head = match_tool_call_head(body);
  if (head.match != Match::kYes || head.name != name) return std::nullopt;
  std::string_view value = body.substr(head.value_pos);
  JsonPrefixScanner scanner;
  size_t n = scanner.feed(value);
  if (scanner.state() != JsonPrefixScanner::State::kComplete) return std::nullopt;
  return std::string(value.substr(0, n));
}

}  // namespace

std::string make_tool_call_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string id = "chatcmpl-tool-";
  for (int i = 0; i < 24; ++i) id += kHex[rng() & 15];
  return id;
}

ToolCallHead match_tool_call_head(std::string_view body) {
  ToolCallHead h;
  size_t i = 0;
  for (std::string_view lit : {"{", "\"name\"", ":"}) {
    h.match = expect(body, i, lit);
    if (h.match != Match::kYes) return h;
  }
  h.match = expect(body, i, "\"");
  if (h.match != Match::kYes) return h;
  size_t start = i - 1;
  bool escaped = false, closed = false;
  while (i < body.size() && !closed) {
    char c = body[i++];
    closed = !escaped && c == '"';
    escaped = !escaped && c == '\\';
  }
  if (!closed) return {Match::kNeedMore, "", 0};
  auto name = parse_json_bounded<nlohmann::json>(body.substr(start, i - start),
                                                 JsonLimits::request());
  if (!name.is_ok() || !name->is_string()) return {Match::kNo, "", 0};
  h.match = expect(body, i, ",");
  if (h.match != Match::kYes) return h;
  Match args = expect(body, i, "\"arguments\"");
  if (args != Match::kYes) {
    Match params = expect(body, i, "\"parameters\"");
    if (params == Match::kYes) {
      args = params;
    } else if (params == Match::kNeedMore) {
      args = Match::kNeedMore;
    }
  }
  h.match = args == Match::kYes ? expect(body, i, ":") : args;
  if (h.match != Match::kYes) return h;
  while (i < body.size() && is_ws(body[i])) ++i;
  if (i == body.size()) return {Match::kNeedMore, "", 0};
  h.name = name->get<std::string>();
  h.value_pos = i;
  return h;
}

std::optional<ToolCall> parse_tool_call_block(std::string_view body) {
  body = trim(body);
  auto parsed = parse_json_bounded(body, JsonLimits::request());  // JSON the model wrote
  if (!parsed.is_ok() || !parsed->is_object()) return std::nullopt;
  const nlohmann::ordered_json& j = *parsed;
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
  } else if (auto raw = raw_arguments(body, call.name)) {
    call.arguments = std::move(*raw);
  } else {
    call.arguments = args->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return call;
}

ToolParseResult parse_tool_calls(std::string_view text) {
  ToolParseResult r;
  size_t first = text.find(kToolCallOpen);
  if (first == std::string_view::npos) {
    r.content = std::string(text);
    return r;
  }
  size_t pos = first;
  while (pos != std::string_view::npos) {
    size_t body = pos + kToolCallOpen.size();
    size_t end = text.find(kToolCallClose, body);
    std::string_view block =
        end == std::string_view::npos ? text.substr(body) : text.substr(body, end - body);
    auto call = parse_tool_call_block(block);
    if (!call) return ToolParseResult{std::string(text), {}};
    r.calls.push_back(std::move(*call));
    if (end == std::string_view::npos) break;
    pos = text.find(kToolCallOpen, end + kToolCallClose.size());
  }
  r.content = std::string(trim(text.substr(0, first)));
  return r;
}

}  // namespace yun::serve
