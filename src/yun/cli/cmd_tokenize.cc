// `yun tokenize`: text -> token ids with a model's tokenizer.
//
//   yun tokenize --model DIR|REPO "some text"   prints the ids as a JSON array
//   yun tokenize --model DIR|REPO < in.jsonl     reads {"text": ...} lines, writes {"ids": [...]}
//
// --tokenizer DIR reads the tokenizer from DIR instead of the model directory.
// Exit 2 with a one-line error on bad flags, a missing/corrupt tokenizer, or a
// bad input line.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "yun/base/json_limits.h"
#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/model/model_store.h"
#include "yun/text/tokenizer.h"

namespace yun::cli {
namespace {

constexpr const char* kTokenizeHelp =
    "Usage: yun tokenize --model DIR|REPO [--tokenizer DIR] [TEXT]\n"
    "\n"
    "Encodes text with the model's Hugging Face tokenizer (tokenizer.json), like\n"
    "encode(text, add_special_tokens=False); special tokens written in the text match.\n"
    "\n"
    "  TEXT              encode this text and print the ids as a JSON array\n"
    "  (no TEXT)         read JSON lines {\"text\": ...} on stdin, write {\"ids\": [...]}\n"
    "  --model DIR|REPO  model directory holding tokenizer.json\n"
    "  --tokenizer DIR   take the tokenizer from DIR instead (overrides --model)\n"
    "  --help            show this help\n";

void append_ids(std::string& out, const std::vector<int32_t>& ids) {
  out += '[';
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(ids[i]);
  }
  out += ']';
}

int run_tokenize(const std::vector<std::string>& argv) {
  auto parsed = Args::parse(argv, {"--model", "--tokenizer"}, {"--help", "-h"});
  if (!parsed) return fail(2, "tokenize: " + parsed.status().message());
  const Args& args = parsed.value();
  if (args.has("--help") || args.has("-h")) {
    std::cout << kTokenizeHelp;
    return 0;
  }
  std::string dir = args.get_string("--tokenizer", args.get_string("--model", ""));
  if (dir.empty()) return fail(2, "tokenize: --model DIR|REPO (or --tokenizer DIR) is required");
  if (args.positional().size() > 1) {
    return fail(2, "tokenize: give the text as one argument (quote it), or none to read stdin");
  }
  if (!dir.empty()) {  // a directory, or a repo id in the Hugging Face cache
    auto path = resolve_model_path(dir, ModelStore::from_env());
    if (!path) return fail(2, "tokenize: " + path.status().message());
    dir = *path;
  }
  auto tok = Tokenizer::load(dir);
  if (!tok) return fail(2, "tokenize: " + tok.status().to_string());

  if (args.positional().size() == 1) {
    std::string out;
    append_ids(out, tok.value()->encode(args.positional()[0]));
    std::cout << out << '\n';
    return 0;
  }
  std::ios::sync_with_stdio(false);
  std::string line, out;
  size_t line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto parsed = parse_json_bounded<nlohmann::json>(line, JsonLimits::request());
    if (!parsed.is_ok() || !parsed->is_object()) {
      return fail(2, "tokenize: stdin line " + std::to_string(line_no) + " is not a JSON object");
    }
    const nlohmann::json& j = *parsed;
    auto it = j.find("text");
    if (it == j.end() || !it->is_string()) {
      return fail(2, "tokenize: stdin line " + std::to_string(line_no) +
                         " needs a string field \"text\"");
    }
    out.assign("{\"ids\":");
    append_ids(out, tok.value()->encode(it->get_ref<const std::string&>()));
    out += "}\n";
    std::cout << out << std::flush;  // one answer per line, also when used interactively
  }
  std::cout.flush();
  return 0;
}

}  // namespace

YUN_COMMAND("tokenize", "encode text to token ids with a model's tokenizer", run_tokenize);

}  // namespace yun::cli
