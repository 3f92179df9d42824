#include "yun/serve/request_parse.h"

#include <cmath>
#include <limits>

#include "yun/base/json_limits.h"
#include "yun/base/utf8.h"

namespace yun::serve {
namespace {

using Json = nlohmann::ordered_json;

const char* type_name(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

ApiError type_error(const std::string& field, const char* want, const Json& v) {
  return json_type_error(field, want, v);
}

// Field readers: return nullopt-error on success; absent or null leaves `out`.
std::optional<ApiError> read_double(const Json& obj, const std::string& field,
                                    std::optional<double>& out, double lo, double hi) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) return type_error(field, "a number", *it);
  double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    return bad_request("'" + field + "' must be in [" + std::to_string(lo) + ", " +
                           std::to_string(hi) + "], got " + it->dump(),
                       field);
  }
  out = v;
  return std::nullopt;
}

std::optional<ApiError> read_int(const Json& obj, const std::string& field,
                                 std::optional<int64_t>& out, int64_t lo, int64_t hi) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  int64_t v = 0;
  if (it->is_number_integer()) {
    if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX)) {
      return bad_request("'" + field + "' is out of range", field);
    }
    v = it->get<int64_t>();
  } else if (it->is_number_float()) {
    double d = it->get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e15) {
      return type_error(field, "an integer", *it);
    }
    v = static_cast<int64_t>(d);
  } else {
    return type_error(field, "an integer", *it);
  }
  if (v < lo || v > hi) {
    return bad_request("'" + field + "' must be in [" + std::to_string(lo) + ", " +
                           std::to_string(hi) + "], got " + std::to_string(v),
                       field);
  }
  out = v;
  return std::nullopt;
}

std::optional<ApiError> read_bool(const Json& obj, const std::string& field, bool& out) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return type_error(field, "a boolean", *it);
  out = it->get<bool>();
  return std::nullopt;
}

std::optional<ApiError> read_string(const Json& obj, const std::string& field, std::string& out) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return type_error(field, "a string", *it);
  out = it->get<std::string>();
  return std::nullopt;
}

#define YUN_TRY(expr)          \
  do {                         \
    auto yun_e_ = (expr);      \
    if (yun_e_) return yun_e_; \
  } while (0)

// A JSON Schema given as an object (or a boolean), or as its text.
std::optional<ApiError> schema_text(const Json& v, const std::string& field, std::string& out) {
  if (v.is_object() || v.is_boolean()) {
    out = v.dump();
  } else if (v.is_string()) {
    out = v.get<std::string>();
  } else {
    return type_error(field, "a JSON Schema object", v);
  }
  return std::nullopt;
}

std::optional<ApiError> string_list(const Json& v, const std::string& field,
                                    std::vector<std::string>& out) {
  if (!v.is_array()) return type_error(field, "a list of strings", v);
  for (const auto& s : v) {
    if (!s.is_string()) return type_error(field, "a list of strings", v);
    out.push_back(s.get<std::string>());
  }
  return std::nullopt;
}

// One structured-output source: `field` (e.g. "guided_regex") holding `v`,
// of the kind named by `kind` (json, json_object, regex, choice, grammar).
std::optional<ApiError> set_structured(OpenAiRequest& r, const std::string& field,
                                       const std::string& kind, const Json& v) {
  using grammar::GrammarSpec;
  if (r.structured) {
    return bad_request("give one structured output ('" + r.structured_param + "' and '" + field +
                           "' both ask for one)",
                       field);
  }
  GrammarSpec spec;
  if (kind == "json") {
    spec.kind = GrammarSpec::kJsonSchema;
    YUN_TRY(schema_text(v, field, spec.text));
  } else if (kind == "json_object") {
    if (!v.is_boolean()) return type_error(field, "a boolean", v);
    if (!v.get<bool>()) return std::nullopt;
    spec.kind = GrammarSpec::kJsonObject;
  } else if (kind == "regex" || kind == "grammar") {
    if (!v.is_string()) return type_error(field, "a string", v);
    spec.kind = kind == "regex" ? GrammarSpec::kRegex : GrammarSpec::kEbnf;
    spec.text = v.get<std::string>();
  } else {  // choice
    spec.kind = GrammarSpec::kChoice;
    YUN_TRY(string_list(v, field, spec.choices));
    if (spec.choices.empty()) return bad_request("'" + field + "' must not be empty", field);
  }
  r.structured = std::move(spec);
  r.structured_param = field;
  return std::nullopt;
}

std::optional<ApiError> parse_structured_output(const Json& o, OpenAiRequest& r) {
  if (auto it = o.find("response_format"); it != o.end() && !it->is_null()) {
    if (!it->is_object()) return type_error("response_format", "an object", *it);
    auto type = it->find("type");
    if (type == it->end() || !type->is_string()) {
      return bad_request("'response_format' needs a string 'type'", "response_format.type");
    }
    std::string t = type->get<std::string>();
    if (t == "json_object") {
      YUN_TRY(set_structured(r, "response_format", "json_object", true));
    } else if (t == "json_schema") {
      auto js = it->find("json_schema");
      if (js == it->end() || !js->is_object()) {
        return bad_request("'response_format' of type json_schema needs a 'json_schema' object",
                           "response_format.json_schema");
      }
      if (auto n = js->find("name"); n != js->end() && !n->is_null() && !n->is_string()) {
        return type_error("response_format.json_schema.name", "a string", *n);
      }
      if (auto st = js->find("strict"); st != js->end() && !st->is_null() && !st->is_boolean()) {
        return type_error("response_format.json_schema.strict", "a boolean", *st);
      }
      auto sc = js->find("schema");
      if (sc == js->end() || sc->is_null()) {
        YUN_TRY(set_structured(r, "response_format", "json_object", true));
      } else {
        if (!sc->is_object() && !sc->is_boolean()) {
          return type_error("response_format.json_schema.schema", "an object", *sc);
        }
        YUN_TRY(set_structured(r, "response_format", "json", *sc));
      }
    } else if (t != "text") {
      return bad_request("'response_format.type' must be text, json_object or json_schema, got '" +
                             t + "'",
                         "response_format.type");
    }
    r.response_format = t;
  }
  if (auto it = o.find("structured_outputs"); it != o.end() && !it->is_null()) {
    if (!it->is_object()) return type_error("structured_outputs", "an object", *it);
    for (const char* k : {"json", "json_object", "regex", "choice", "grammar"}) {
      auto f = it->find(k);
      if (f == it->end() || f->is_null()) continue;
      YUN_TRY(set_structured(r, std::string("structured_outputs.") + k, k, *f));
    }
    for (const char* k : {"structural_tag", "whitespace_pattern"}) {
      if (auto f = it->find(k); f != it->end() && !f->is_null()) {
        return bad_request(std::string("'structured_outputs.") + k + "' is not supported",
                           std::string("structured_outputs.") + k);
      }
    }
  }
  for (const char* k : {"json", "regex", "choice", "grammar"}) {
    const std::string field = std::string("guided_") + k;
    auto f = o.find(field);
    if (f == o.end() || f->is_null()) continue;
    YUN_TRY(set_structured(r, field, k, *f));
  }
  return std::nullopt;
}

std::optional<ApiError> parse_token_constraints(const Json& o, OpenAiRequest& r) {
  if (auto it = o.find("logit_bias"); it != o.end() && !it->is_null()) {
    if (!it->is_object()) return type_error("logit_bias", "an object of token id: bias", *it);
    for (const auto& [key, v] : it->items()) {
      int64_t id = -1;
      bool digits = !key.empty() && key.size() <= 10;
      for (char c : key) digits = digits && c >= '0' && c <= '9';
      if (digits) id = std::stoll(key);
      if (!digits || id > std::numeric_limits<int32_t>::max()) {
        return bad_request("'logit_bias' keys must be token ids, got '" + key + "'", "logit_bias");
      }
      if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < -100.0 ||
          v.get<double>() > 100.0) {
        return bad_request("'logit_bias' values must be numbers in [-100, 100], got " + v.dump() +
                               " for token " + key,
                           "logit_bias");
      }
      r.logit_bias.emplace_back(int32_t(id), float(v.get<double>()));
    }
  }
  if (auto it = o.find("allowed_token_ids"); it != o.end() && !it->is_null()) {
    if (!it->is_array() || it->empty()) {
      return bad_request("'allowed_token_ids' must be a non-empty list of token ids",
                         "allowed_token_ids");
    }
    for (const auto& t : *it) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 ||
          t.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
        return bad_request("'allowed_token_ids' must be a list of token ids", "allowed_token_ids");
      }
      r.allowed_token_ids.push_back(t.get<int32_t>());
    }
  }
  if (auto it = o.find("bad_words"); it != o.end() && !it->is_null()) {
    YUN_TRY(string_list(*it, "bad_words", r.bad_words));
    std::erase_if(r.bad_words, [](const std::string& w) { return w.empty(); });
  }
  return std::nullopt;
}

// Fields shared by both endpoints.
std::optional<ApiError> parse_common(const Json& o, OpenAiRequest& r) {
  YUN_TRY(read_string(o, "model", r.model));
  YUN_TRY(read_double(o, "temperature", r.temperature, 0.0, 2.0));
  YUN_TRY(read_double(o, "top_p", r.top_p, 0.0, 1.0));
  if (r.top_p && *r.top_p <= 0.0) return bad_request("'top_p' must be in (0, 1]", "top_p");
  YUN_TRY(read_double(o, "min_p", r.min_p, 0.0, 1.0));
  YUN_TRY(read_double(o, "repetition_penalty", r.repetition_penalty, 0.0, 2.0));
  if (r.repetition_penalty && *r.repetition_penalty <= 0.0) {
    return bad_request("'repetition_penalty' must be in (0, 2]", "repetition_penalty");
  }
  std::optional<double> d;
  YUN_TRY(read_double(o, "presence_penalty", d, -2.0, 2.0));
  if (d) r.presence_penalty = *d;
  d.reset();
  YUN_TRY(read_double(o, "frequency_penalty", d, -2.0, 2.0));
  if (d) r.frequency_penalty = *d;

  std::optional<int64_t> i;
  YUN_TRY(read_int(o, "top_k", i, -1, std::numeric_limits<int32_t>::max()));
  if (i) r.top_k = static_cast<int32_t>(*i);
  i.reset();
  YUN_TRY(read_int(o, "n", i, 1, kMaxN));
  if (i) r.n = static_cast<int32_t>(*i);
  i.reset();
  YUN_TRY(read_int(o, "min_tokens", i, 0, std::numeric_limits<int32_t>::max()));
  if (i) r.min_tokens = static_cast<int32_t>(*i);
  i.reset();
  YUN_TRY(read_int(o, "seed", i, std::numeric_limits<int64_t>::min(),
                   std::numeric_limits<int64_t>::max()));
  if (i) r.seed = static_cast<uint64_t>(*i);

  // max_completion_tokens wins over the deprecated max_tokens.
  std::optional<int64_t> mt, mct;
  YUN_TRY(read_int(o, "max_tokens", mt, 1, std::numeric_limits<int32_t>::max()));
  YUN_TRY(read_int(o, "max_completion_tokens", mct, 1, std::numeric_limits<int32_t>::max()));
  r.max_tokens = mct ? mct : mt;
  if (r.max_tokens && r.min_tokens > *r.max_tokens) {
    return bad_request("'min_tokens' must not exceed 'max_tokens'", "min_tokens");
  }

  if (auto it = o.find("stop"); it != o.end() && !it->is_null()) {
    if (it->is_string()) {
      r.stop.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const auto& s : *it) {
        if (!s.is_string()) return type_error("stop", "a string or a list of strings", *it);
        r.stop.push_back(s.get<std::string>());
      }
    } else {
      return type_error("stop", "a string or a list of strings", *it);
    }
    std::erase_if(r.stop, [](const std::string& s) { return s.empty(); });
  }
  if (auto it = o.find("stop_token_ids"); it != o.end() && !it->is_null()) {
    if (!it->is_array()) return type_error("stop_token_ids", "a list of integers", *it);
    for (const auto& t : *it) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 ||
          t.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
        return bad_request("'stop_token_ids' must be a list of token ids", "stop_token_ids");
      }
      r.stop_token_ids.push_back(t.get<int32_t>());
    }
  }
  YUN_TRY(read_bool(o, "ignore_eos", r.ignore_eos));
  YUN_TRY(read_bool(o, "skip_special_tokens", r.skip_special_tokens));
  YUN_TRY(read_bool(o, "stream", r.stream));
  if (auto it = o.find("stream_options"); it != o.end() && !it->is_null()) {
    if (!it->is_object()) return type_error("stream_options", "an object", *it);
    YUN_TRY(read_bool(*it, "include_usage", r.include_usage));
  }
  YUN_TRY(read_string(o, "user", r.user));
  YUN_TRY(parse_structured_output(o, r));
  YUN_TRY(parse_token_constraints(o, r));
  return std::nullopt;
}

std::optional<ApiError> check_sequence_count(const OpenAiRequest& r, size_t prompts) {
  if (prompts > static_cast<size_t>(kMaxPrompts)) {
    return bad_request("at most " + std::to_string(kMaxPrompts) + " prompts per request, got " +
                           std::to_string(prompts),
                       "prompt");
  }
  if (prompts * r.n > static_cast<size_t>(kMaxSequencesPerRequest)) {
    return bad_request("prompts x n must be at most " + std::to_string(kMaxSequencesPerRequest) +
                           " per request, got " + std::to_string(prompts) + " x " +
                           std::to_string(r.n),
                       "n");
  }
  return std::nullopt;
}

// Content: a string or an array of {type:"text", text} parts (joined
// with "\n" as vLLM does).
std::optional<ApiError> normalize_content(Json& content, const std::string& param) {
  if (content.is_null() || content.is_string()) return std::nullopt;
  if (!content.is_array()) return type_error(param, "a string or a list of content parts", content);
  std::string text;
  bool first = true;
  for (const auto& part : content) {
    if (!part.is_object()) return type_error(param, "a list of content parts", content);
    auto type = part.find("type");
    if (type == part.end() || !type->is_string()) {
      return bad_request("content part needs a string 'type'", param);
    }
    if (*type != "text") {
      return bad_request("unsupported content part type '" + type->get<std::string>() +
                             "' (only text is supported)",
                         param);
    }
    auto t = part.find("text");
    if (t == part.end() || !t->is_string()) {
      return bad_request("text content part needs a string 'text'", param);
    }
    if (!first) text += "\n";
    text += t->get<std::string>();
    first = false;
  }
  content = text;
  return std::nullopt;
}

std::optional<ApiError> parse_messages(const Json& o, OpenAiRequest& r) {
  auto it = o.find("messages");
  if (it == o.end() || it->is_null()) return bad_request("'messages' is required", "messages");
  if (!it->is_array()) return type_error("messages", "a list", *it);
  if (it->empty()) return bad_request("'messages' must not be empty", "messages");
  r.messages = Json::array();
  for (size_t k = 0; k < it->size(); ++k) {
    std::string p = "messages[" + std::to_string(k) + "]";
    Json m = (*it)[k];
    if (!m.is_object()) return type_error(p, "an object", m);
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) {
      return bad_request(p + " needs a string 'role'", p + ".role");
    }
    // Null or absent content becomes "" (as vLLM passes it to templates,
    // which often test `'x' in message.content`).
    if (auto c = m.find("content"); c != m.end() && !c->is_null()) {
      YUN_TRY(normalize_content(*c, p + ".content"));
    } else {
      m["content"] = "";
    }
    if (auto tc = m.find("tool_calls"); tc != m.end() && !tc->is_null()) {
      if (!tc->is_array()) return type_error(p + ".tool_calls", "a list", *tc);
      for (auto& call : *tc) {
        if (!call.is_object()) return type_error(p + ".tool_calls", "a list of objects", *tc);
        auto fn = call.find("function");
        if (fn == call.end() || !fn->is_object()) continue;
        auto args = fn->find("arguments");
        if (args != fn->end() && args->is_string()) {
          // Malformed arguments stay a string; arguments over the limits are an error.
          auto parsed = parse_json_bounded(args->get<std::string>(), JsonLimits::request());
          if (parsed.is_ok()) {
            *args = std::move(parsed).value();
          } else if (is_json_limit_error(parsed.status())) {
            return bad_request(p + ".tool_calls[].function.arguments: " + parsed.status().message(),
                               p + ".tool_calls");
          }
        }
      }
    }
    r.messages.push_back(std::move(m));
  }
  return std::nullopt;
}

std::optional<ApiError> parse_tools(const Json& o, OpenAiRequest& r) {
  if (auto it = o.find("tools"); it != o.end() && !it->is_null()) {
    if (!it->is_array()) return type_error("tools", "a list", *it);
    for (const auto& t : *it) {
      if (!t.is_object() || !t.contains("function") || !t["function"].is_object() ||
          !t["function"].contains("name") || !t["function"]["name"].is_string()) {
        return bad_request("each tool needs a 'function' with a string 'name'", "tools");
      }
    }
    if (!it->empty()) r.tools = *it;
  }
  if (auto it = o.find("tool_choice"); it != o.end() && !it->is_null()) {
    if (it->is_string()) {
      std::string c = it->get<std::string>();
      if (c != "auto" && c != "none" && c != "required") {
        return bad_request("'tool_choice' must be auto, none, required or a function",
                           "tool_choice");
      }
      r.tool_choice = c;
    } else if (it->is_object()) {
      auto fn = it->find("function");
      if (fn == it->end() || !fn->is_object() || !fn->contains("name") ||
          !(*fn)["name"].is_string()) {
        return bad_request("'tool_choice' function needs a 'name'", "tool_choice");
      }
      r.tool_choice = "function";
      r.tool_choice_name = (*fn)["name"].get<std::string>();
    } else {
      return type_error("tool_choice", "a string or an object", *it);
    }
  }
  if ((r.tool_choice == "required" || r.tool_choice == "function") && r.tools.is_null()) {
    return bad_request("'tool_choice' " + r.tool_choice + " needs 'tools'", "tool_choice");
  }
  if (r.tool_choice == "function") {
    Json named = Json::array();
    for (const auto& t : r.tools) {
      if (t["function"]["name"] == r.tool_choice_name) named.push_back(t);
    }
    if (named.empty()) {
      return bad_request("tool '" + r.tool_choice_name + "' is not in 'tools'", "tool_choice");
    }
    r.tools = named;
  }
  if (r.tool_choice == "none") r.tools = nullptr;
  return std::nullopt;
}

std::optional<ApiError> parse_id_list(const Json& list, std::vector<int32_t>& out) {
  for (const auto& t : list) {
    if (!t.is_number_integer()) return bad_request("token ids must be integers", "prompt");
    int64_t v = t.get<int64_t>();
    if (v < 0 || v > std::numeric_limits<int32_t>::max()) {
      return bad_request("token id " + std::to_string(v) + " is out of range", "prompt");
    }
    out.push_back(static_cast<int32_t>(v));
  }
  return std::nullopt;
}

std::optional<ApiError> parse_prompt(const Json& o, OpenAiRequest& r) {
  auto it = o.find("prompt");
  if (it == o.end() || it->is_null()) return bad_request("'prompt' is required", "prompt");
  const Json& p = *it;
  if (p.is_string()) {
    r.prompt_texts.push_back(p.get<std::string>());
  } else if (p.is_array()) {
    if (p.empty()) return bad_request("'prompt' must not be empty", "prompt");
    if (p[0].is_string()) {
      for (const auto& s : p) {
        if (!s.is_string()) return type_error("prompt", "a list of strings", p);
        r.prompt_texts.push_back(s.get<std::string>());
      }
    } else if (p[0].is_number()) {
      r.prompt_is_ids = true;
      r.prompt_ids.emplace_back();
      YUN_TRY(parse_id_list(p, r.prompt_ids.back()));
    } else if (p[0].is_array()) {
      r.prompt_is_ids = true;
      for (const auto& l : p) {
        if (!l.is_array() || l.empty()) {
          return bad_request("'prompt' token-id lists must be non-empty lists", "prompt");
        }
        r.prompt_ids.emplace_back();
        YUN_TRY(parse_id_list(l, r.prompt_ids.back()));
      }
    } else {
      return type_error("prompt", "a string, a list of strings or token ids", p);
    }
  } else {
    return type_error("prompt", "a string, a list of strings or token ids", p);
  }
  for (const auto& s : r.prompt_texts) {
    if (s.empty()) return bad_request("'prompt' must not be empty", "prompt");
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> parse_json_object(std::string_view body, Json& out) {
  if (!is_valid_utf8(body)) return bad_request("request body is not valid UTF-8");
  auto parsed = parse_json_bounded(body, JsonLimits::request());
  if (!parsed.is_ok()) {
    return bad_request("request body is not valid JSON: " + parsed.status().message());
  }
  out = std::move(parsed).value();
  if (!out.is_object()) return bad_request("request body must be a JSON object");
  return std::nullopt;
}

std::optional<ApiError> parse_chat_request(std::string_view body, OpenAiRequest& r) {
  try {
    Json o;
    YUN_TRY(parse_json_object(body, o));
    r = OpenAiRequest{};
    r.kind = OpenAiRequest::Kind::kChat;
    YUN_TRY(parse_common(o, r));
    YUN_TRY(parse_messages(o, r));
    YUN_TRY(parse_tools(o, r));
    bool logprobs = false;
    YUN_TRY(read_bool(o, "logprobs", logprobs));
    std::optional<int64_t> top;
    YUN_TRY(read_int(o, "top_logprobs", top, 0, kMaxLogprobs));
    if (top && !logprobs) {
      return bad_request("'top_logprobs' needs 'logprobs' set to true", "top_logprobs");
    }
    r.logprobs = logprobs ? static_cast<int32_t>(top.value_or(0)) : -1;
    YUN_TRY(read_bool(o, "add_generation_prompt", r.add_generation_prompt));
    if (auto it = o.find("chat_template_kwargs"); it != o.end() && !it->is_null()) {
      if (!it->is_object()) return type_error("chat_template_kwargs", "an object", *it);
      r.chat_template_kwargs = *it;
    }
    return std::nullopt;
  } catch (const std::exception& e) {
    return bad_request(std::string("malformed request: ") + e.what());
  }
}

std::optional<ApiError> parse_completion_request(std::string_view body, OpenAiRequest& r) {
  try {
    Json o;
    YUN_TRY(parse_json_object(body, o));
    r = OpenAiRequest{};
    r.kind = OpenAiRequest::Kind::kCompletion;
    YUN_TRY(parse_common(o, r));
    YUN_TRY(parse_prompt(o, r));
    YUN_TRY(check_sequence_count(
        r, r.prompt_is_ids ? r.prompt_ids.size() : r.prompt_texts.size()));
    std::optional<int64_t> lp;
    YUN_TRY(read_int(o, "logprobs", lp, 0, kMaxLogprobs));
    if (lp) r.logprobs = static_cast<int32_t>(*lp);
    YUN_TRY(read_bool(o, "echo", r.echo));
    return std::nullopt;
  } catch (const std::exception& e) {
    return bad_request(std::string("malformed request: ") + e.what());
  }
}

SamplingRequest sampling_request(const OpenAiRequest& r) {
  SamplingRequest q;
  q.temperature = r.temperature;
  q.top_p = r.top_p;
  q.min_p = r.min_p;
  q.repetition_penalty = r.repetition_penalty;
  q.top_k = r.top_k;
  q.max_tokens = r.max_tokens;
  q.presence_penalty = r.presence_penalty;
  q.frequency_penalty = r.frequency_penalty;
  q.n = r.n;
  q.min_tokens = r.min_tokens;
  q.stop = r.stop;
  q.stop_token_ids = r.stop_token_ids;
  q.seed = r.seed;
  q.logprobs = r.logprobs;
  q.ignore_eos = r.ignore_eos;
  q.skip_special_tokens = r.skip_special_tokens;
  return q;
}

std::optional<ApiError> resolve_sampling_params(const OpenAiRequest& req,
                                                const ModelConfig::GenerationDefaults& gen,
                                                int64_t prompt_len, int64_t max_model_len,
                                                SamplingParams& p) {
  SamplingContext ctx;
  ctx.prompt_len = prompt_len;
  ctx.max_model_len = max_model_len;
  auto e = yun::resolve_sampling_params(gen, sampling_request(req), ctx, p);
  if (!e) return std::nullopt;
  std::string param = e->field;
  if (param == "prompt" && req.kind == OpenAiRequest::Kind::kChat) param = "messages";
  return bad_request(e->status.message(), param);
}

std::optional<ApiError> parse_sampling_fields(const Json& o, OpenAiRequest& r) {
  try {
    return parse_common(o, r);
  } catch (const std::exception& e) {
    return bad_request(std::string("malformed request: ") + e.what());
  }
}

std::optional<ApiError> parse_jsonl_request(const Json& line, OpenAiRequest& r) {
  try {
    if (!line.is_object()) return bad_request("expected a JSON object");
    if (line.contains("messages")) return parse_chat_request(line.dump(), r);
    Json o = line;
    if (auto ids = o.find("prompt_ids"); ids != o.end()) {
      if (o.contains("prompt")) {
        return bad_request("give 'prompt' or 'prompt_ids', not both", "prompt_ids");
      }
      if (!ids->is_array() || ids->empty() || !(*ids)[0].is_number()) {
        return bad_request("'prompt_ids' must be a non-empty list of token ids", "prompt_ids");
      }
      o["prompt"] = *ids;
      o.erase("prompt_ids");
    } else if (!o.contains("prompt")) {
      return bad_request("needs \"prompt\", \"prompt_ids\" or \"messages\"", "prompt");
    }
    return parse_completion_request(o.dump(), r);
  } catch (const std::exception& e) {
    return bad_request(std::string("malformed request: ") + e.what());
  }
}

std::optional<ApiError> check_token_ids(const std::vector<int32_t>& ids, int64_t vocab_size,
                                        const std::string& param) {
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size) {
      return bad_request("token id " + std::to_string(id) + " is out of vocabulary (size " +
                             std::to_string(vocab_size) + ")",
                         param);
    }
  }
  return std::nullopt;
}

ApiError json_type_error(const std::string& field, const char* want, const Json& v) {
  return bad_request("'" + field + "' must be " + want + ", got " + type_name(v), field);
}

}  // namespace yun::serve
