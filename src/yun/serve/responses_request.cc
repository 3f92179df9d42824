#include "yun/serve/responses_request.h"

#include <charconv>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace yun::serve {
namespace {

using Json = nlohmann::ordered_json;

ApiError type_error(const std::string& field, const char* want, const Json& v) {
  return json_type_error(field, want, v);  // request_parse.h: one wording for every parser
}

bool present(const Json& o, const char* field) {
  auto it = o.find(field);
  return it != o.end() && !it->is_null();
}

#define YUN_TRY(expr)          \
  do {                         \
    auto yun_e_ = (expr);      \
    if (yun_e_) return yun_e_; \
  } while (0)

// Builds the chat body's messages from instructions + input. `origin[k]`
// names the Responses field chat message k came from (for error params).
class MessageBuilder {
 public:
  Json messages = Json::array();
  std::vector<std::string> origin;

  void add(Json m, std::string from) {
    if (m["role"] == "assistant" && !pending_reasoning_.empty()) {
      m["reasoning_content"] = std::move(pending_reasoning_);
      pending_reasoning_.clear();
    } else if (m["role"] != "assistant") {
      pending_reasoning_.clear();  // reasoning is only kept for the turn it led to
    }
    messages.push_back(std::move(m));
    origin.push_back(std::move(from));
  }

  std::optional<ApiError> input(const Json& input) {
    if (input.is_string()) {
      add(Json{{"role", "user"}, {"content", input}}, "input");
      return std::nullopt;
    }
    if (!input.is_array()) return type_error("input", "a string or a list of items", input);
    for (size_t i = 0; i < input.size(); ++i) YUN_TRY(item(input[i], "input[" + std::to_string(i) + "]"));
    return std::nullopt;
  }

 private:
  std::string pending_reasoning_;

  std::optional<ApiError> item(const Json& it, const std::string& p) {
    if (!it.is_object()) return type_error(p, "an object", it);
    std::string type;
    if (auto t = it.find("type"); t != it.end() && !t->is_null()) {
      if (!t->is_string()) return type_error(p + ".type", "a string", *t);
      type = t->get<std::string>();
    } else if (it.contains("role")) {
      type = "message";
    } else {
      return bad_request(p + " needs a 'type' (or a 'role' for a message)", p + ".type");
    }
    if (type == "message") return message(it, p);
    if (type == "function_call") return function_call(it, p);
    if (type == "function_call_output") return function_call_output(it, p);
    if (type == "reasoning") return reasoning(it, p);
    if (type == "item_reference") {
      // The route replaces these with the stored items (responses_state.h) first.
      return bad_request(p + ": item_reference is resolved from stored responses only", p);
    }
    return bad_request(p + ": input items of type '" + type +
                           "' are not supported (message, function_call, function_call_output, "
                           "reasoning)",
                       p + ".type");
  }

  // Text parts (input_text, output_text, text, refusal) -> the chat parser's
  // text parts; anything else (images, files, audio) is a 400.
  static std::optional<ApiError> text_parts(const Json& content, const std::string& p, Json& out) {
    if (content.is_string()) {
      out = content;
      return std::nullopt;
    }
    if (!content.is_array()) return type_error(p, "a string or a list of content parts", content);
    out = Json::array();
    for (size_t j = 0; j < content.size(); ++j) {
      const Json& part = content[j];
      std::string pp = p + "[" + std::to_string(j) + "]";
      if (!part.is_object()) return type_error(pp, "an object", part);
      auto t = part.find("type");
      if (t == part.end() || !t->is_string()) return bad_request(pp + " needs a string 'type'", pp + ".type");
      std::string type = t->get<std::string>();
      const char* field = type == "refusal" ? "refusal" : "text";
      if (type != "input_text" && type != "output_text" && type != "text" && type != "refusal") {
        return bad_request(pp + ": content of type '" + type + "' is not supported (text only)",
                           pp + ".type");
      }
      auto text = part.find(field);
      if (text == part.end() || !text->is_string()) {
        return bad_request(pp + " needs a string '" + field + "'", pp + "." + field);
      }
      out.push_back(Json{{"type", "text"}, {"text", *text}});
    }
    return std::nullopt;
  }

  std::optional<ApiError> message(const Json& it, const std::string& p) {
    auto role = it.find("role");
    if (role == it.end() || !role->is_string()) return bad_request(p + " needs a string 'role'", p + ".role");
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";
    if (r != "user" && r != "system" && r != "assistant") {
      return bad_request(p + ".role must be user, system, developer or assistant, got '" + r + "'",
                         p + ".role");
    }
    Json content = "";
    if (auto c = it.find("content"); c != it.end() && !c->is_null()) {
      YUN_TRY(text_parts(*c, p + ".content", content));
    }
    add(Json{{"role", r}, {"content", std::move(content)}}, p);
    return std::nullopt;
  }

  static std::optional<ApiError> string_field(const Json& it, const std::string& p, const char* f,
                                              std::string& out) {
    auto v = it.find(f);
    if (v == it.end() || !v->is_string()) {
      return bad_request(p + " needs a string '" + f + "'", p + "." + f);
    }
    out = v->get<std::string>();
    return std::nullopt;
  }

  std::optional<ApiError> function_call(const Json& it, const std::string& p) {
    std::string call_id, name, arguments = "{}";
    YUN_TRY(string_field(it, p, "call_id", call_id));
    YUN_TRY(string_field(it, p, "name", name));
    if (present(it, "arguments")) YUN_TRY(string_field(it, p, "arguments", arguments));
    names_[call_id] = name;
    Json call{{"id", call_id},
              {"type", "function"},
              {"function", {{"name", name}, {"arguments", arguments}}}};
    // Calls after an assistant message (or after other calls) are that turn's.
    if (!messages.empty() && messages.back()["role"] == "assistant") {
      Json& last = messages.back();
      if (!last.contains("tool_calls")) last["tool_calls"] = Json::array();
      last["tool_calls"].push_back(std::move(call));
      if (!pending_reasoning_.empty() && !last.contains("reasoning_content")) {
        last["reasoning_content"] = std::move(pending_reasoning_);
      }
      pending_reasoning_.clear();
      return std::nullopt;
    }
    add(Json{{"role", "assistant"}, {"content", ""}, {"tool_calls", Json::array({std::move(call)})}},
        p);
    return std::nullopt;
  }

  std::optional<ApiError> function_call_output(const Json& it, const std::string& p) {
    std::string call_id;
    YUN_TRY(string_field(it, p, "call_id", call_id));
    auto out = it.find("output");
    if (out == it.end() || out->is_null()) return bad_request(p + " needs an 'output'", p + ".output");
    Json content;
    YUN_TRY(text_parts(*out, p + ".output", content));
    Json m{{"role", "tool"}, {"tool_call_id", call_id}, {"content", std::move(content)}};
    if (auto n = names_.find(call_id); n != names_.end()) m["name"] = n->second;
    add(std::move(m), p);
    return std::nullopt;
  }

  // The summary (or, failing that, the content) text of a reasoning item.
  std::optional<ApiError> reasoning(const Json& it, const std::string& p) {
    std::string text;
    for (const char* f : {"summary", "content"}) {
      auto list = it.find(f);
      if (list == it.end() || list->is_null()) continue;
      if (!list->is_array()) return type_error(p + "." + f, "a list", *list);
      for (const auto& part : *list) {
        if (part.is_object() && part.contains("text") && part["text"].is_string()) {
          if (!text.empty()) text += "\n\n";
          text += part["text"].get<std::string>();
        }
      }
      if (!text.empty()) break;
    }
    pending_reasoning_ += text;
    return std::nullopt;
  }

  std::map<std::string, std::string> names_;  // call_id -> function name
};

// Responses' flat function tools -> chat tools.
std::optional<ApiError> translate_tools(const Json& tools, Json& out) {
  if (!tools.is_array()) return type_error("tools", "a list", tools);
  out = Json::array();
  for (size_t i = 0; i < tools.size(); ++i) {
    const Json& t = tools[i];
    std::string p = "tools[" + std::to_string(i) + "]";
    if (!t.is_object()) return type_error(p, "an object", t);
    auto type = t.find("type");
    if (type == t.end() || !type->is_string()) return bad_request(p + " needs a string 'type'", p + ".type");
    if (*type != "function") {
      return bad_request(p + ": tools of type '" + type->get<std::string>() +
                             "' are not supported (only function tools)",
                         p + ".type");
    }
    auto name = t.find("name");
    if (name == t.end() || !name->is_string()) return bad_request(p + " needs a string 'name'", p + ".name");
    Json fn{{"name", *name}};
    for (const char* f : {"description", "parameters", "strict"}) {
      if (present(t, f)) fn[f] = t[f];
    }
    out.push_back(Json{{"type", "function"}, {"function", std::move(fn)}});
  }
  return std::nullopt;
}

std::optional<ApiError> translate_tool_choice(const Json& tc, Json& out) {
  if (tc.is_string()) {
    out = tc;  // auto | none | required, checked by the chat parser
    return std::nullopt;
  }
  if (!tc.is_object()) return type_error("tool_choice", "a string or an object", tc);
  auto type = tc.find("type");
  auto name = tc.find("name");
  if (type == tc.end() || *type != "function") {
    return bad_request("'tool_choice' must be auto, none, required or {\"type\": \"function\", "
                       "\"name\": ...}",
                       "tool_choice");
  }
  if (name == tc.end() || !name->is_string()) {
    return bad_request("'tool_choice' function needs a string 'name'", "tool_choice.name");
  }
  out = Json{{"type", "function"}, {"function", {{"name", *name}}}};
  return std::nullopt;
}

// text.format -> the chat response_format object.
std::optional<ApiError> translate_format(const Json& text, Json& echo_text, Json& out) {
  if (!text.is_object()) return type_error("text", "an object", text);
  echo_text = text;
  auto f = text.find("format");
  if (f == text.end() || f->is_null()) {
    echo_text["format"] = Json{{"type", "text"}};
    return std::nullopt;
  }
  if (!f->is_object()) return type_error("text.format", "an object", *f);
  auto type = f->find("type");
  if (type == f->end() || !type->is_string()) {
    return bad_request("'text.format' needs a string 'type'", "text.format.type");
  }
  if (*type != "json_schema") {
    out = Json{{"type", *type}};  // text | json_object; others rejected by the chat parser
    return std::nullopt;
  }
  Json js = Json::object();
  for (const char* k : {"name", "description", "schema", "strict"}) {
    if (present(*f, k)) js[k] = (*f)[k];
  }
  if (!js.contains("schema")) {
    return bad_request("'text.format' of type json_schema needs a 'schema'", "text.format.schema");
  }
  out = Json{{"type", "json_schema"}, {"json_schema", std::move(js)}};
  return std::nullopt;
}

std::optional<ApiError> translate(const Json& o, Json& chat, Json& echo,
                                  std::vector<std::string>& origin) {
  if (present(o, "conversation")) {
    return bad_request("conversation is not supported (use previous_response_id)", "conversation");
  }
  if (auto b = o.find("background"); b != o.end() && b->is_boolean() && b->get<bool>()) {
    return bad_request("background is not supported (responses are not stored)", "background");
  }
  if (present(o, "prompt")) {
    return bad_request("prompt templates are not supported (responses are not stored)", "prompt");
  }
  for (const char* f : {"model", "temperature", "top_p", "stream", "user"}) {
    if (o.contains(f)) chat[f] = o[f];
  }
  if (o.contains("max_output_tokens")) chat["max_completion_tokens"] = o["max_output_tokens"];

  MessageBuilder mb;
  if (present(o, "instructions")) {
    if (!o["instructions"].is_string()) return type_error("instructions", "a string", o["instructions"]);
    mb.add(Json{{"role", "system"}, {"content", o["instructions"]}}, "instructions");
  }
  auto input = o.find("input");
  if (input == o.end() || input->is_null()) return bad_request("'input' is required", "input");
  YUN_TRY(mb.input(*input));
  chat["messages"] = std::move(mb.messages);
  origin = std::move(mb.origin);

  if (present(o, "tools")) {
    Json tools;
    YUN_TRY(translate_tools(o["tools"], tools));
    chat["tools"] = std::move(tools);
  }
  if (present(o, "tool_choice")) {
    Json tc;
    YUN_TRY(translate_tool_choice(o["tool_choice"], tc));
    chat["tool_choice"] = std::move(tc);
  }
  Json echo_text{{"format", {{"type", "text"}}}};
  if (present(o, "text")) {
    Json rf;
    YUN_TRY(translate_format(o["text"], echo_text, rf));
    if (!rf.is_null()) chat["response_format"] = std::move(rf);
  }
  Json kwargs = Json::object();
  if (present(o, "chat_template_kwargs")) {  // vLLM's extension, as in chat
    if (!o["chat_template_kwargs"].is_object()) {
      return type_error("chat_template_kwargs", "an object", o["chat_template_kwargs"]);
    }
    kwargs = o["chat_template_kwargs"];
  }
  Json echo_reasoning{{"effort", nullptr}, {"summary", nullptr}};
  if (present(o, "reasoning")) {
    const Json& r = o["reasoning"];
    if (!r.is_object()) return type_error("reasoning", "an object", r);
    if (present(r, "effort")) {
      if (!r["effort"].is_string()) return type_error("reasoning.effort", "a string", r["effort"]);
      std::string e = r["effort"].get<std::string>();
      if (e != "none" && e != "minimal" && e != "low" && e != "medium" && e != "high" && e != "xhigh") {
        return bad_request("'reasoning.effort' must be none, minimal, low, medium, high or xhigh, got '" +
                               e + "'",
                           "reasoning.effort");
      }
      kwargs["enable_thinking"] = e != "none" && e != "minimal";
      echo_reasoning["effort"] = e;
    }
    if (present(r, "summary")) {
      if (!r["summary"].is_string()) return type_error("reasoning.summary", "a string", r["summary"]);
      echo_reasoning["summary"] = r["summary"];
    }
  }
  if (!kwargs.empty()) chat["chat_template_kwargs"] = std::move(kwargs);

  // Accepted and echoed.
  for (const char* f : {"store", "parallel_tool_calls"}) {
    if (present(o, f) && !o[f].is_boolean()) return type_error(f, "a boolean", o[f]);
  }
  if (present(o, "metadata") && !o["metadata"].is_object()) {
    return type_error("metadata", "an object", o["metadata"]);
  }
  if (present(o, "truncation") && o["truncation"] != "auto" && o["truncation"] != "disabled") {
    return bad_request("'truncation' must be auto or disabled", "truncation");
  }
  if (present(o, "include") && !o["include"].is_array()) {
    return type_error("include", "a list", o["include"]);
  }
  auto or_null = [&](const char* f) { return present(o, f) ? o[f] : Json(nullptr); };
  echo["instructions"] = or_null("instructions");
  echo["max_output_tokens"] = or_null("max_output_tokens");
  echo["metadata"] = present(o, "metadata") ? o["metadata"] : Json::object();
  echo["parallel_tool_calls"] = present(o, "parallel_tool_calls") ? o["parallel_tool_calls"] : Json(true);
  echo["previous_response_id"] = nullptr;
  echo["reasoning"] = std::move(echo_reasoning);
  echo["store"] = present(o, "store") ? o["store"] : Json(true);
  echo["temperature"] = or_null("temperature");
  echo["text"] = std::move(echo_text);
  echo["tool_choice"] = present(o, "tool_choice") ? o["tool_choice"] : Json("auto");
  echo["tools"] = present(o, "tools") ? o["tools"] : Json::array();
  echo["top_p"] = or_null("top_p");
  echo["truncation"] = present(o, "truncation") ? o["truncation"] : Json("disabled");
  echo["user"] = or_null("user");
  return std::nullopt;
}

// "messages[3].content" -> origin[3] + ".content"; other chat names -> ours.
std::string rename_param(const std::string& param, const std::vector<std::string>& origin) {
  const std::string m = "messages";
  if (param.rfind(m, 0) == 0) {
    if (param.size() > m.size() && param[m.size()] == '[') {
      size_t close = param.find(']', m.size());
      if (close != std::string::npos) {
        size_t k = SIZE_MAX;
        std::from_chars(param.data() + m.size() + 1, param.data() + close, k);
        // The chat message's fields are not the item's own: name the item.
        if (k < origin.size()) return origin[k];
      }
    }
    return "input";
  }
  if (param == "max_tokens" || param == "max_completion_tokens") return "max_output_tokens";
  if (param.rfind("response_format", 0) == 0) return "text.format" + param.substr(15);
  return param;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// The chat names in an error (param and message) -> the Responses ones.
ApiError rename(ApiError e, const std::vector<std::string>& origin) {
  e.param = rename_param(e.param, origin);
  if (e.param == "max_output_tokens") {
    replace_all(e.message, "max_completion_tokens", "max_output_tokens");
    if (e.message.find("max_output_tokens") == std::string::npos) {
      replace_all(e.message, "max_tokens", "max_output_tokens");
    }
  }
  replace_all(e.message, "'messages'", "'input'");
  replace_all(e.message, "'response_format", "'text.format");
  return e;
}

}  // namespace

ApiError responses_error(ApiError e) { return rename(std::move(e), {}); }

std::optional<ApiError> parse_responses_request(std::string_view body, ResponsesRequest& out) {
  try {
    Json o;
    YUN_TRY(parse_json_object(body, o));
    out = ResponsesRequest{};
    Json chat = Json::object();
    std::vector<std::string> origin;
    YUN_TRY(translate(o, chat, out.echo, origin));
    if (auto e = parse_chat_request(chat.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                                    out.chat)) {
      return rename(std::move(*e), origin);
    }
    return std::nullopt;
  } catch (const std::exception& e) {
    return bad_request(std::string("malformed request: ") + e.what());
  }
}

}  // namespace yun::serve
