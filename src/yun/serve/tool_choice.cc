#include "yun/serve/tool_choice.h"

#include "yun/grammar/json_schema.h"
#include "yun/serve/reasoning_parser.h"
#include "yun/serve/tool_parser.h"

namespace yun::serve {
namespace {

bool is_strict(const nlohmann::ordered_json& tool) {
  auto fn = tool.find("function");
  if (fn == tool.end() || !fn->is_object()) return false;
  auto s = fn->find("strict");
  return s != fn->end() && s->is_boolean() && s->get<bool>();
}

std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Result<grammar::Grammar> tool_call_grammar(const nlohmann::ordered_json& tools,
                                           const grammar::CompileOptions& options) {
  grammar::BuildLimits limits;
  limits.max_symbols = options.max_symbols;
  limits.deadline = std::chrono::steady_clock::now() + options.timeout;
  grammar::GrammarBuilder b(limits);
  const int32_t root = b.new_rule("tool_call");
  for (const auto& tool : tools) {
    const auto& fn = tool["function"];
    const std::string name = fn["name"].get<std::string>();
    std::string schema = R"({"type": "object", "additionalProperties": true})";
    if (is_strict(tool)) {
      auto p = fn.find("parameters");
      schema = p == fn.end() || p->is_null() ? R"({"type": "object", "properties": {}})" : p->dump();
    }
    auto args = grammar::add_json_schema(b, schema, options.json);
    if (!args.is_ok()) {
      return invalid_argument("tool '" + name + "' parameters: " + args.status().message());
    }
    grammar::GrammarBuilder::Seq seq =
        b.literal("{\"name\": " + json_string(name) + ", \"arguments\": ");
    seq.push_back(grammar::GrammarBuilder::ref(*args));
    for (const auto& sym : b.literal("}\n" + std::string(kToolCallClose))) seq.push_back(sym);
    b.add_alt(root, std::move(seq));
  }
  return b.finish(root);
}

ForcedToolCall forced_tool_call(const OpenAiRequest& req, std::string_view rendered_prompt) {
  ForcedToolCall f;
  if (req.tools.is_null()) return f;
  if (req.tool_choice == "required" || req.tool_choice == "function") {
    for (const auto& t : req.tools) f.strict = f.strict || is_strict(t);
  }
  if (f.strict || req.tool_choice == "required") {
    f.reply_prefix = std::string(kToolCallOpen) + "\n";
  } else if (req.tool_choice == "function") {
    f.reply_prefix = std::string(kToolCallOpen) + "\n{\"name\": " + json_string(req.tool_choice_name) +
                     ", \"arguments\": ";
  } else {
    return f;
  }
  f.prompt_suffix = ReasoningParser::prompt_opens_reasoning(rendered_prompt)
                        ? "</think>\n\n" + f.reply_prefix
                        : f.reply_prefix;
  return f;
}

}  // namespace yun::serve
