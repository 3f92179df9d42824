#include "yun/serve/ollama_request.h"

#include <algorithm>
#include <cctype>

#include "yun/serve/request_parse.h"

namespace yun::serve {
namespace {

using Json = nlohmann::ordered_json;

ApiError must_be(const std::string& field, const char* what) {
  return bad_request("'" + field + "' must be " + what, field);
}

bool present(const Json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && !it->is_null();
}

// A whole-number JSON value (Ollama's clients send 40 or 40.0 alike).
bool as_integer(const Json& v, int64_t& out) {
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d != static_cast<double>(static_cast<int64_t>(d))) return false;
    out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

// options{} -> the OpenAI sampling fields of `body`.
std::optional<ApiError> translate_options(const Json& o, Json& body) {
  auto it = o.find("options");
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return must_be("options", "an object");
  const Json& opt = *it;
  struct Same {
    const char* ollama;
    const char* openai;
  };
  for (Same f :
       {Same{"temperature", "temperature"}, Same{"top_p", "top_p"}, Same{"min_p", "min_p"},
        Same{"repeat_penalty", "repetition_penalty"}, Same{"presence_penalty", "presence_penalty"},
        Same{"frequency_penalty", "frequency_penalty"}}) {
    if (!present(opt, f.ollama)) continue;
    const Json& v = opt[f.ollama];
    if (!v.is_number()) return must_be(std::string("options.") + f.ollama, "a number");
    body[f.openai] = v;
  }
  int64_t n = 0;
  if (present(opt, "top_k")) {
    if (!as_integer(opt["top_k"], n)) return must_be("options.top_k", "an integer");
    body["top_k"] = n;
  }
  if (present(opt, "num_predict")) {
    if (!as_integer(opt["num_predict"], n)) return must_be("options.num_predict", "an integer");
    if (n >= 0) body["max_tokens"] = n;  // -1 (no limit), -2 (fill the context): unset
  }
  if (present(opt, "seed")) {
    if (!as_integer(opt["seed"], n)) return must_be("options.seed", "an integer");
    if (n >= 0) body["seed"] = n;  // Ollama's -1: a random seed
  }
  if (present(opt, "stop")) {
    const Json& v = opt["stop"];
    if (v.is_string()) {
      body["stop"] = Json::array({v});
    } else if (v.is_array() &&
               std::all_of(v.begin(), v.end(), [](const Json& s) { return s.is_string(); })) {
      body["stop"] = v;
    } else {
      return must_be("options.stop", "a list of strings");
    }
  }
  if (present(opt, "num_ctx") && !as_integer(opt["num_ctx"], n)) {
    return must_be("options.num_ctx", "an integer");  // accepted; the server's context applies
  }
  return std::nullopt;
}

// The fields /api/chat and /api/generate share: model, stream, keep_alive,
// format, options, think (chat template only).
std::optional<ApiError> translate_common(const Json& o, OllamaRequest& out, bool chat_template) {
  Json& body = out.openai_body;
  if (present(o, "model")) {
    if (!o["model"].is_string()) return must_be("model", "a string");
    out.model = o["model"].get<std::string>();
    std::string name = ollama_model_name(out.model);
    if (!name.empty()) body["model"] = name;
  }
  if (present(o, "stream")) {
    if (!o["stream"].is_boolean()) return must_be("stream", "true or false");
    out.stream = o["stream"].get<bool>();
  }
  body["stream"] = out.stream;
  if (present(o, "keep_alive")) {
    if (auto e = check_keep_alive(o["keep_alive"], &out.unload)) return e;
    body["keep_alive"] = o["keep_alive"];
  }
  if (present(o, "format")) {
    const Json& f = o["format"];
    if (f.is_string() && f.get<std::string>() == "json") {
      body["response_format"] = {{"type", "json_object"}};
    } else if (f.is_object()) {
      body["response_format"] = {{"type", "json_schema"},
                                 {"json_schema", {{"name", "ollama_format"}, {"schema", f}}}};
    } else if (!(f.is_string() && f.get<std::string>().empty())) {
      return must_be("format", "\"json\" or a JSON schema object");
    }
  }
  if (auto e = translate_options(o, body)) return e;
  if (present(o, "think")) {
    const Json& t = o["think"];
    bool on = false;
    if (t.is_boolean()) {
      on = t.get<bool>();
    } else if (t.is_string() && (t == "high" || t == "medium" || t == "low")) {
      on = true;
    } else {
      return must_be("think", "true, false, \"high\", \"medium\" or \"low\"");
    }
    if (chat_template) body["chat_template_kwargs"] = {{"enable_thinking", on}};
  }
  return std::nullopt;
}

std::optional<ApiError> no_images(const Json& o, const std::string& field) {
  auto it = o.find("images");
  if (it == o.end() || it->is_null() || (it->is_array() && it->empty())) return std::nullopt;
  return bad_request("'" + field + "': this server has no vision support (images are not accepted)",
                     field);
}

// One Ollama message -> one OpenAI message (the normalized form
// parse_chat_request accepts: tool-call arguments may be objects).
std::optional<ApiError> translate_message(const Json& m, size_t k, Json& out) {
  std::string p = "messages[" + std::to_string(k) + "]";
  if (!m.is_object()) return must_be(p, "an object");
  if (auto e = no_images(m, p + ".images")) return e;
  out = Json::object();
  if (!present(m, "role") || !m["role"].is_string()) return must_be(p + ".role", "a string");
  out["role"] = m["role"];
  if (present(m, "content")) {
    if (!m["content"].is_string()) return must_be(p + ".content", "a string");
    out["content"] = m["content"];
  } else {
    out["content"] = "";
  }
  if (present(m, "tool_name")) {
    if (!m["tool_name"].is_string()) return must_be(p + ".tool_name", "a string");
    out["name"] = m["tool_name"];
  }
  if (present(m, "tool_calls")) {
    const Json& calls = m["tool_calls"];
    if (!calls.is_array()) return must_be(p + ".tool_calls", "a list");
    Json oc = Json::array();
    for (size_t i = 0; i < calls.size(); ++i) {
      const Json& c = calls[i];
      if (!c.is_object() || !present(c, "function") || !c["function"].is_object() ||
          !present(c["function"], "name") || !c["function"]["name"].is_string()) {
        return bad_request(p + ".tool_calls: each call needs a 'function' with a string 'name'",
                           p + ".tool_calls");
      }
      const Json& fn = c["function"];
      Json args = present(fn, "arguments") ? fn["arguments"] : Json::object();
      if (!args.is_object() && !args.is_string()) {
        return must_be(p + ".tool_calls[].function.arguments", "an object");
      }
      std::string id = present(c, "id") && c["id"].is_string() ? c["id"].get<std::string>()
                                                               : "call_" + std::to_string(i);
      Json call = {{"id", id},
                   {"type", "function"},
                   {"function", {{"name", fn["name"]}, {"arguments", args}}}};
      oc.push_back(std::move(call));
    }
    if (!oc.empty()) out["tool_calls"] = std::move(oc);
  }
  return std::nullopt;
}

std::optional<ApiError> parse_body(std::string_view body, Json& o) {
  if (auto e = parse_json_object(body, o)) return e;
  return std::nullopt;
}

}  // namespace

std::string ollama_model_name(const std::string& name) {
  constexpr std::string_view kLatest = ":latest";
  if (name.size() > kLatest.size() &&
      name.compare(name.size() - kLatest.size(), kLatest.size(), kLatest) == 0) {
    return name.substr(0, name.size() - kLatest.size());
  }
  return name;
}

std::optional<ApiError> check_keep_alive(const Json& v, bool* zero) {
  if (zero) *zero = false;
  if (v.is_number()) {
    if (zero) *zero = v.get<double>() == 0;
    return std::nullopt;
  }
  const char* what = "a number of seconds or a duration such as \"5m\", \"1h30m\" or \"-1\"";
  if (!v.is_string()) return must_be("keep_alive", what);
  std::string s = v.get<std::string>();
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i == s.size()) return must_be("keep_alive", what);
  bool all_zero = true, any_unit = false;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start) return must_be("keep_alive", what);
    for (size_t k = start; k < i; ++k) all_zero &= s[k] == '0' || s[k] == '.';
    size_t unit = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string u = s.substr(unit, i - unit);
    if (!(u.empty() || u == "ns" || u == "us" || u == "ms" || u == "s" || u == "m" || u == "h")) {
      return must_be("keep_alive", what);
    }
    if (u.empty() && (i < s.size() || any_unit)) return must_be("keep_alive", what);
    any_unit |= !u.empty();
  }
  if (zero) *zero = all_zero;
  return std::nullopt;
}

std::optional<ApiError> translate_ollama_chat(std::string_view body, OllamaRequest& out) {
  out = OllamaRequest{};
  out.kind = OllamaRequest::Kind::kChat;
  Json o;
  if (auto e = parse_body(body, o)) return e;
  if (auto e = translate_common(o, out, true)) return e;
  Json msgs = Json::array();
  if (present(o, "messages")) {
    const Json& m = o["messages"];
    if (!m.is_array()) return must_be("messages", "a list");
    for (size_t k = 0; k < m.size(); ++k) {
      Json one;
      if (auto e = translate_message(m[k], k, one)) return e;
      msgs.push_back(std::move(one));
    }
  }
  out.load_only = msgs.empty();
  out.openai_body["messages"] = std::move(msgs);
  if (present(o, "tools")) out.openai_body["tools"] = o["tools"];  // checked by the chat parser
  return std::nullopt;
}

std::optional<ApiError> translate_ollama_generate(std::string_view body, OllamaRequest& out) {
  out = OllamaRequest{};
  out.kind = OllamaRequest::Kind::kGenerate;
  Json o;
  if (auto e = parse_body(body, o)) return e;
  if (auto e = no_images(o, "images")) return e;
  for (const char* unsupported : {"suffix", "template"}) {
    if (present(o, unsupported) &&
        !(o[unsupported].is_string() && o[unsupported].get<std::string>().empty())) {
      return bad_request(std::string("'") + unsupported + "' is not supported by this server",
                         unsupported);
    }
  }
  if (present(o, "context") && !(o["context"].is_array() && o["context"].empty())) {
    return bad_request(
        "'context' is not supported by this server; send the conversation to /api/chat", "context");
  }
  bool raw = false;
  if (present(o, "raw")) {
    if (!o["raw"].is_boolean()) return must_be("raw", "true or false");
    raw = o["raw"].get<bool>();
  }
  std::string prompt, system;
  if (present(o, "prompt")) {
    if (!o["prompt"].is_string()) return must_be("prompt", "a string");
    prompt = o["prompt"].get<std::string>();
  }
  if (present(o, "system")) {
    if (!o["system"].is_string()) return must_be("system", "a string");
    system = o["system"].get<std::string>();
  }
  if (auto e = translate_common(o, out, !raw)) return e;
  out.load_only = prompt.empty();
  out.openai_chat = !raw;
  if (raw) {
    out.openai_body["prompt"] = prompt;
  } else {
    Json msgs = Json::array();
    if (!system.empty()) msgs.push_back({{"role", "system"}, {"content", system}});
    msgs.push_back({{"role", "user"}, {"content", prompt}});
    out.openai_body["messages"] = std::move(msgs);
  }
  return std::nullopt;
}

}  // namespace yun::serve
