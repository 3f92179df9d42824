// `yun run`: offline generation with the engine (CPU or GPU, --device), for one prompt
// (streamed as it is generated, or one JSON object with --json) or a JSONL
// file of requests (all submitted at once; one JSON line per request, in input
// order). Exit 2 with a one-line error for bad flags, a missing or corrupt
// model, or a bad request; 1 when generation itself fails.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "yun/base/blocking_queue.h"
#include "yun/base/exit_code.h"
#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/cli/model_arg.h"
#include "yun/cli/engine_flags.h"
#include "yun/cli/progress.h"
#include "yun/engine/engine.h"
#include "yun/engine/sampling_defaults.h"
#include "yun/model/config.h"
#include "yun/model/model_store.h"
#include "yun/serve/request_parse.h"
#include "yun/text/chat_template.h"
#include "yun/text/model_text.h"
#include "yun/text/tokenizer.h"

namespace yun::cli {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kRunHelp =
    "Usage: yun run --model DIR|REPO [PROMPT] [options]\n"
    "\n"
    "Generates a continuation of PROMPT with the model in DIR (a Hugging Face\n"
    "directory: config.json, *.safetensors, tokenizer.json), or the cached snapshot\n"
    "of REPO (ORG/NAME[@REVISION] in $HF_HOME/hub, see yun list; pulled first when\n"
    "missing, unless --offline or HF_HUB_OFFLINE=1), on the CPU or a GPU (--device).\n"
    "\n"
    "Examples:\n"
    "  yun run --model ./Qwen2.5-0.5B-Instruct \"The capital of France is\"\n"
    "  yun run --model ./Qwen2.5-0.5B-Instruct --chat \"Write a haiku about tea\" -n 64\n"
    "  yun run --model DIR --prompt-ids 9707,11,1879 --temperature 0 --json\n"
    "  yun run --model DIR --prompts-file requests.jsonl > results.jsonl\n"
    "\n"
    "Input:\n"
    "  PROMPT                  the prompt text (quote it)\n"
    "  --prompt-ids 1,2,3      the prompt as token ids instead of text\n"
    "  --chat                  send PROMPT as a user message through the model's chat template\n"
    "  --prompts-file FILE     JSONL, one request per line: {\"prompt\": \"...\"},\n"
    "                          {\"prompt_ids\": [...]} or {\"messages\": [...]}, each optionally\n"
    "                          with the sampling fields of /v1/completions (max_tokens,\n"
    "                          temperature, top_p, top_k, min_p, repetition_penalty,\n"
    "                          seed, stop, ignore_eos, ...; the flags are their defaults),\n"
    "                          checked as the server checks them. All run at\n"
    "                          once; results are JSON lines in input order with\n"
    "                          \"index\" added.\n"
    "  --chat-template FILE    a Jinja chat template overriding the model's (as yun serve)\n"
    "  --tokenizer DIR         read tokenizer.json from DIR instead of the model directory\n"
    "                          (without one, only --prompt-ids works and \"text\" is empty)\n"
    "\n"
    "Sampling (defaults: the model's generation_config.json, the rule of `yun serve`;\n"
    "greedy when it says do_sample: false):\n"
    "  -n, --max-tokens N      generate at most N tokens (default 256, within the context)\n"
    "  --temperature T         0 = greedy: always the most likely token (the model's\n"
    "                          repetition_penalty is then not applied)\n"
    "  --top-p P  --top-k K  --min-p P\n"
    "  --repetition-penalty R  divide the logits of tokens already seen by R (> 1)\n"
    "  --seed S                reproducible sampling\n"
    "  --stop STR              stop before this text (repeatable)\n"
    "  --ignore-eos            keep going past the end-of-sequence token\n"
    "\n"
    "Output:\n"
    "  (default)               stream the text to stdout as it is generated\n"
    "  --json                  print {\"prompt_ids\", \"output_ids\", \"text\", "
    "\"finish_reason\"}\n"
    "\n";

struct Item {
  std::vector<int32_t> prompt_ids;
  SamplingRequest request;  // resolved into params once the engine is up
  SamplingParams params;
  // Results.
  std::vector<int32_t> output_ids;
  std::string text;
  std::string finish_reason;
  std::string error;
  bool done = false;
};

// `yun run`'s front-door default for max_tokens (serve's is the context).
constexpr int64_t kRunDefaultMaxTokens = 256;

Result<std::vector<int32_t>> parse_id_list(const std::string& s) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string t = s.substr(i, j - i);
    while (!t.empty() && t.front() == ' ') t.erase(t.begin());
    while (!t.empty() && t.back() == ' ') t.pop_back();
    if (!t.empty()) {
      char* end = nullptr;
      long v = std::strtol(t.c_str(), &end, 10);
      if (*end != '\0' || v < 0 || v > INT32_MAX)
        return invalid_argument("bad token id '" + t + "'");
      ids.push_back(static_cast<int32_t>(v));
    }
    i = j + 1;
  }
  if (ids.empty()) return invalid_argument("--prompt-ids is empty");
  return ids;
}

// The sampling flags as the JSON fields of a request body, so that they go
// through serve's validated parser (serve/request_parse.h) like a
// --prompts-file line does; each line's own fields win over them.
Result<json> flags_json(const Args& a) {
  json j = json::object();
  if (a.has("-n") || a.has("--max-tokens")) {
    YUN_ASSIGN_OR_RETURN(int64_t n, a.get_int(a.has("-n") ? "-n" : "--max-tokens", 0));
    j["max_tokens"] = n;
  }
  for (auto [flag, field] : {std::pair{"--temperature", "temperature"}, {"--top-p", "top_p"},
                             {"--min-p", "min_p"}, {"--repetition-penalty", "repetition_penalty"}}) {
    if (!a.has(flag)) continue;
    YUN_ASSIGN_OR_RETURN(double v, a.get_double(flag, 0));
    j[field] = v;
  }
  if (a.has("--top-k")) {
    YUN_ASSIGN_OR_RETURN(int64_t k, a.get_int("--top-k", 0));
    j["top_k"] = k;
  }
  if (a.has("--seed")) {
    YUN_ASSIGN_OR_RETURN(int64_t s, a.get_int("--seed", 0));
    j["seed"] = s;
  }
  if (a.has("--ignore-eos")) j["ignore_eos"] = true;
  if (!a.all("--stop").empty()) j["stop"] = a.all("--stop");
  return j;
}

Status api_status(const serve::ApiError& e) {
  return invalid_argument(e.param.empty() || e.message.find(e.param) != std::string::npos
                              ? e.message
                              : e.param + ": " + e.message);
}

Result<std::vector<int32_t>> encode_chat(const serve::OpenAiRequest& r, const ModelText& mt) {
  if (!mt.tokenizer) return invalid_argument("chat messages need a tokenizer (tokenizer.json)");
  if (!mt.chat_template) {
    return invalid_argument(
        "the model has no chat template (chat_template.jinja, tokenizer_config.json or "
        "--chat-template FILE)");
  }
  ChatTemplateInputs in;
  in.messages = r.messages;
  in.tools = r.tools;
  in.add_generation_prompt = r.add_generation_prompt;
  in.extra = r.chat_template_kwargs;
  in.bos_token = mt.bos_token;
  in.eos_token = mt.eos_token;
  YUN_ASSIGN_OR_RETURN(std::string text, mt.chat_template->render(in));
  return mt.tokenizer->encode(text);
}

Result<std::vector<int32_t>> encode_text(const std::string& text, bool chat, const ModelText& mt) {
  if (chat) {
    serve::OpenAiRequest r;
    r.messages = json::array({{{"role", "user"}, {"content", text}}});
    return encode_chat(r, mt);
  }
  const Tokenizer* tok = mt.tokenizer.get();
  if (!tok)
    return invalid_argument("a text prompt needs a tokenizer (tokenizer.json); use --prompt-ids");
  auto ids = tok->encode(text);
  if (ids.empty()) return invalid_argument("the prompt is empty");
  return ids;
}

// One request body (the flags' fields under a line's) -> an Item: parsed and
// validated by serve's parser, its prompt tokenized. Errors say why.
Status make_item(const json& body, bool chat, const ModelText& mt, Item& it) {
  serve::OpenAiRequest r;
  if (auto e = serve::parse_jsonl_request(body, r)) return api_status(*e);
  if (r.n != 1) return invalid_argument("n: yun run makes one sample per request");
  if (r.kind == serve::OpenAiRequest::Kind::kChat) {
    YUN_ASSIGN_OR_RETURN(it.prompt_ids, encode_chat(r, mt));
  } else if (r.prompt_is_ids) {
    if (r.prompt_ids.size() != 1) return invalid_argument("one prompt per line");
    it.prompt_ids = r.prompt_ids[0];
  } else {
    if (r.prompt_texts.size() != 1) return invalid_argument("one prompt per line");
    YUN_ASSIGN_OR_RETURN(it.prompt_ids, encode_text(r.prompt_texts[0], chat, mt));
  }
  it.request = serve::sampling_request(r);
  return Status::ok();
}

// Reads the JSONL requests. Errors name the line.
Status read_prompts_file(const std::string& path, const json& flags, bool chat,
                         const ModelText& mt, std::vector<Item>& items) {
  std::ifstream in(path);
  if (!in) return not_found("cannot open --prompts-file '" + path + "'");
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto where = [&](const Status& s) {
      return invalid_argument(path + " line " + std::to_string(lineno) + ": " + s.message());
    };
    json body;
    if (auto e = serve::parse_json_object(line, body)) return where(api_status(*e));
    for (auto& [k, v] : flags.items()) {
      if (!body.contains(k)) body[k] = v;
    }
    Item it;
    Status st = make_item(body, chat, mt, it);
    if (!st.is_ok()) return where(st);
    items.push_back(std::move(it));
  }
  if (items.empty()) return invalid_argument(path + " holds no requests");
  return Status::ok();
}

json result_json(const Item& it) {
  json j;
  j["prompt_ids"] = it.prompt_ids;
  j["output_ids"] = it.output_ids;
  j["text"] = it.text;
  j["finish_reason"] = it.finish_reason;
  if (!it.error.empty()) j["error"] = it.error;
  return j;
}

int run_run(const std::vector<std::string>& argv) {
  std::set<std::string> value_flags = {"--model",
                                       "--prompt-ids",
                                       "-n",
                                       "--max-tokens",
                                       "--temperature",
                                       "--top-p",
                                       "--top-k",
                                       "--min-p",
                                       "--seed",
                                       "--tokenizer",
                                       "--prompts-file",
                                       "--chat-template",
                                       "--stop",
                                       "--repetition-penalty"};
  std::set<std::string> bool_flags = {"--ignore-eos", "--json", "--chat", "--offline", "--help", "-h"};
  value_flags.insert(engine_value_flags().begin(), engine_value_flags().end());
  bool_flags.insert(engine_bool_flags().begin(), engine_bool_flags().end());
  auto parsed = Args::parse(argv, value_flags, bool_flags);
  if (!parsed) return fail(2, "run: " + parsed.status().message() + " (see yun run --help)");
  const Args& args = *parsed;
  if (args.has("--help") || args.has("-h")) {
    std::cout << kRunHelp << engine_flags_help();
    return 0;
  }
  const std::string model_arg = args.get_string("--model", "");
  if (model_arg.empty()) return fail(2, "run: --model DIR|REPO is required (see yun run --help)");
  // A directory, or a repo id (ORG/NAME[@REV]) in the Hugging Face cache,
  // pulled into it when missing (model_arg.h).
  if (args.has("--offline")) set_offline();
  auto model_path = resolve_or_pull(model_arg);
  if (!model_path) {
    return fail(exit_code_for(model_path.status()), "run: " + model_path.status().message());
  }
  const std::string& model = *model_path;
  if (args.positional().size() > 1)
    return fail(2, "run: give the prompt as one argument (quote it)");
  const bool file_mode = args.has("--prompts-file");
  const bool have_text = !args.positional().empty();
  if (file_mode && (have_text || args.has("--prompt-ids"))) {
    return fail(2, "run: --prompts-file cannot be combined with a PROMPT or --prompt-ids");
  }
  if (!file_mode && have_text == args.has("--prompt-ids")) {
    return fail(2, "run: give a PROMPT, --prompt-ids or --prompts-file (see yun run --help)");
  }
  auto flags = parse_engine_flags(args);
  if (!flags) return fail(2, "run: " + flags.status().message());

  // The tokenizer (optional only for --prompt-ids) and the chat template, by
  // the one rule of text/model_text.h that `yun serve` uses too.
  ModelTextOptions text_options;
  text_options.tokenizer_dir = args.get_string("--tokenizer", "");
  text_options.template_override = args.get_string("--chat-template", "");
  text_options.require_tokenizer = args.has("--tokenizer");
  auto text = load_model_text(model, text_options);
  if (!text) return fail(2, "run: " + text.status().message());
  std::shared_ptr<const Tokenizer> tok = text->tokenizer;
  auto mc = load_model_config(model);
  if (!mc) return fail(exit_code_for(mc.status()), "run: " + mc.status().message());
  auto sampling_flags = flags_json(args);
  if (!sampling_flags) return fail(2, "run: " + sampling_flags.status().message());

  std::vector<Item> items;
  if (file_mode) {
    Status st = read_prompts_file(args.get_string("--prompts-file", ""), *sampling_flags,
                                  args.has("--chat"), *text, items);
    if (!st.is_ok()) return fail(2, "run: " + st.message());
  } else {
    Item it;
    auto ids = have_text ? encode_text(args.positional()[0], args.has("--chat"), *text)
                         : parse_id_list(*args.get("--prompt-ids"));
    if (!ids) return fail(2, "run: " + ids.status().message());
    json body = *sampling_flags;
    body["prompt_ids"] = *ids;
    Status st = make_item(body, false, *text, it);
    if (!st.is_ok()) return fail(2, "run: " + st.message());
    items.push_back(std::move(it));
  }

  auto engine = create_engine_for_model(model, *flags, tok);
  if (!engine) return fail(exit_code_for(engine.status()), "run: " + engine.status().message());
  Engine& e = **engine;

  BlockingQueue<std::pair<size_t, RequestEvent>> events;
  size_t pending = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    Item& it = items[i];
    SamplingContext ctx;
    ctx.prompt_len = static_cast<int64_t>(it.prompt_ids.size());
    ctx.max_model_len = e.max_model_len();
    ctx.default_max_tokens = kRunDefaultMaxTokens;
    if (auto err = resolve_sampling_params(mc->generation, it.request, ctx, it.params)) {
      if (!file_mode) {
        e.shutdown();
        return fail(2, "run: " + err->status.message());
      }
      it.error = err->status.message();
      it.finish_reason = "error";
      it.done = true;
      continue;
    }
    auto id = e.submit({it.prompt_ids, it.params, [&events, i](const RequestEvent& ev) {
                          events.push({i, ev});
                        }});
    if (!id) {
      if (!file_mode) {
        e.shutdown();  // before `events` goes away
        return fail(2, "run: " + id.status().message());
      }
      it.error = id.status().message();
      it.finish_reason = "error";
      it.done = true;
      continue;
    }
    ++pending;
  }

  const bool stream = !file_mode && !args.has("--json");
  ProgressBar progress(file_mode ? static_cast<int64_t>(items.size()) : 0);
  int64_t finished = static_cast<int64_t>(items.size() - pending);
  bool any_error = false;
  while (pending > 0) {
    auto ev = events.pop();
    if (!ev) break;
    Item& it = items[ev->first];
    const RequestEvent& r = ev->second;
    it.output_ids.insert(it.output_ids.end(), r.token_ids.begin(), r.token_ids.end());
    it.text += r.text;
    if (stream) {
      if (tok) {
        std::fwrite(r.text.data(), 1, r.text.size(), stdout);
      } else {
        for (int32_t t : r.token_ids) std::printf("%d ", t);
      }
      std::fflush(stdout);
    }
    if (r.finish) {
      it.finish_reason = finish_reason_name(*r.finish);
      if (*r.finish == FinishReason::kError) {
        it.error = r.error.message();
        any_error = true;
      }
      it.done = true;
      --pending;
      if (file_mode) progress.update(++finished);
    }
  }
  progress.finish();
  e.shutdown();

  if (stream) {
    std::printf("\n");
  } else {
    for (size_t i = 0; i < items.size(); ++i) {
      json j = result_json(items[i]);
      if (file_mode) {
        json k;
        k["index"] = i;
        for (auto& [key, v] : j.items()) k[key] = v;
        j = std::move(k);
      }
      std::printf("%s\n", j.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    }
  }
  for (const Item& it : items) {
    if (!it.error.empty() && !any_error) std::fprintf(stderr, "yun: run: %s\n", it.error.c_str());
  }
  if (any_error) {
    for (const Item& it : items) {
      if (!it.error.empty()) return fail(1, "run: generation failed: " + it.error);
    }
  }
  for (const Item& it : items) {
    if (!it.error.empty()) return 2;
  }
  return 0;
}

}  // namespace

YUN_COMMAND("run", "generate text from a prompt (or a JSONL file of requests)", run_run);

}  // namespace yun::cli
