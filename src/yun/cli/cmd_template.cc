// `yun template`: renders a model's chat template (transformers' apply_chat_template).
//
//   yun template --model DIR|REPO < requests.jsonl > prompts.jsonl
//
// Each input line: {"messages": [...], "tools": [...]|null, "add_generation_prompt":
// bool, "enable_thinking": bool|null}; each output line: {"prompt": "..."}.
// The first bad line (bad JSON, render error) stops the run with a one-line
// message on stderr and exit 2; lines before it have been written.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "yun/base/json_limits.h"
#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/model/model_store.h"
#include "yun/text/chat_template.h"
#include "yun/text/model_text.h"

namespace yun::cli {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kTemplateHelp =
    "Usage: yun template --model DIR|REPO [--tokenizer DIR] [--name NAME] [--template-file FILE]\n"
    "\n"
    "Renders the model's chat template (chat_template.jinja, else tokenizer_config.json's\n"
    "\"chat_template\"; the template `yun serve` uses) like transformers'\n"
    "apply_chat_template(..., tokenize=False).\n"
    "\n"
    "Reads JSON lines on stdin:\n"
    "  {\"messages\": [...], \"tools\": [...]|null, \"add_generation_prompt\": bool,\n"
    "   \"enable_thinking\": bool|null}\n"
    "and writes one line {\"prompt\": \"...\"} per input line. enable_thinking null or\n"
    "absent is not passed to the template (it stays undefined). Other keys of a\n"
    "line's \"kwargs\" object, if any, are passed as extra template variables.\n"
    "\n"
    "  --model DIR|REPO      model directory (chat_template.jinja, tokenizer_config.json)\n"
    "  --tokenizer DIR       take them from DIR instead (overrides --model)\n"
    "  --name NAME           template name when chat_template is a list (default: \"default\")\n"
    "  --template-file FILE  use this Jinja template instead of the model's\n"
    "  --help                show this help\n"
    "\n"
    "Errors: a bad flag, a missing template, a line that is not valid JSON or a\n"
    "template render error (e.g. raise_exception) prints one line on stderr and\n"
    "exits with status 2; the prompts of earlier lines have already been written.\n";

Result<ChatTemplateInputs> parse_request(const std::string& line) {
  auto parsed = parse_json_bounded(line, JsonLimits::request());
  if (!parsed.is_ok()) return invalid_argument("input line: " + parsed.status().message());
  Json req = std::move(parsed).value();
  if (!req.is_object()) return invalid_argument("input line is not a JSON object");
  ChatTemplateInputs in;
  if (!req.contains("messages") || !req["messages"].is_array()) {
    return invalid_argument("\"messages\" must be an array");
  }
  in.messages = req["messages"];
  if (req.contains("tools") && !req["tools"].is_null()) {
    if (!req["tools"].is_array()) return invalid_argument("\"tools\" must be an array or null");
    in.tools = req["tools"];
  }
  if (req.contains("add_generation_prompt") && !req["add_generation_prompt"].is_null()) {
    if (!req["add_generation_prompt"].is_boolean()) return invalid_argument("\"add_generation_prompt\" must be a bool");
    in.add_generation_prompt = req["add_generation_prompt"].get<bool>();
  }
  if (req.contains("kwargs") && req["kwargs"].is_object()) in.extra = req["kwargs"];
  if (req.contains("enable_thinking") && !req["enable_thinking"].is_null()) {
    in.extra["enable_thinking"] = req["enable_thinking"];
  }
  return in;
}

int run_template(const std::vector<std::string>& argv) {
  auto parsed = Args::parse(argv, {"--model", "--tokenizer", "--name", "--template-file"}, {"--help", "-h"});
  if (!parsed) return fail(2, "template: " + parsed.status().message());
  const Args& args = parsed.value();
  if (args.has("--help") || args.has("-h")) {
    std::cout << kTemplateHelp;
    return 0;
  }
  if (!args.positional().empty()) return fail(2, "template: unexpected argument '" + args.positional()[0] + "'");
  std::string dir = args.get_string("--tokenizer", args.get_string("--model", ""));
  std::string file = args.get_string("--template-file", "");
  if (dir.empty() && file.empty()) return fail(2, "template: --model DIR|REPO (or --tokenizer DIR) is required");

  if (!dir.empty()) {  // a directory, or a repo id in the Hugging Face cache
    auto path = resolve_model_path(dir, ModelStore::from_env());
    if (!path) return fail(2, "template: " + path.status().message());
    dir = *path;
  }
  ModelTextOptions options;
  options.template_override = file;
  options.template_name = args.get_string("--name", "");
  auto mt = load_model_text(dir, options);
  if (!mt) return fail(2, "template: " + mt.status().message());
  if (!mt->chat_template) {
    return fail(2, "template: no chat template in " + dir +
                       " (chat_template.jinja or tokenizer_config.json)");
  }
  const std::shared_ptr<const ChatTemplate>& tmpl = mt->chat_template;
  const std::string& bos = mt->bos_token;
  const std::string& eos = mt->eos_token;

  std::string line;
  size_t line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto in = parse_request(line);
    if (!in) return fail(2, "template: line " + std::to_string(line_no) + ": " + in.status().message());
    in->bos_token = bos;
    in->eos_token = eos;
    auto prompt = tmpl->render(*in);
    if (!prompt) return fail(2, "template: line " + std::to_string(line_no) + ": " + prompt.status().message());
    Json out = {{"prompt", *prompt}};
    std::cout << out.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
    std::cout.flush();
  }
  return 0;
}

}  // namespace

YUN_COMMAND("template", "render a model's chat template for JSON-lines requests", run_template);

}  // namespace yun::cli
