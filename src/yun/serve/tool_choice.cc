#include "yun/serve/tool_choice.h"

#include "yun/serve/reasoning_parser.h"
#include "yun/serve/tool_parser.h"

namespace yun::serve {

ForcedToolCall forced_tool_call(const OpenAiRequest& req, std::string_view rendered_prompt) {
  ForcedToolCall f;
  if (req.tools.is_null()) return f;
  if (req.tool_choice == "required") {
    f.reply_prefix = std::string(kToolCallOpen) + "\n";
  } else if (req.tool_choice == "function") {
    std::string name = nlohmann::json(req.tool_choice_name)
                           .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    f.reply_prefix = std::string(kToolCallOpen) + "\n{\"name\": " + name + ", \"arguments\": ";
  } else {
    return f;
  }
  f.prompt_suffix = ReasoningParser::prompt_opens_reasoning(rendered_prompt)
                        ? "</think>\n\n" + f.reply_prefix
                        : f.reply_prefix;
  return f;
}

}  // namespace yun::serve
