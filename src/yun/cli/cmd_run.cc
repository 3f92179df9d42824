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
#include "yun/base/json_limits.h"
#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/cli/engine_flags.h"
#include "yun/cli/progress.h"
#include "yun/engine/engine.h"
#include "yun/model/config.h"
#include "yun/text/chat_template.h"
#include "yun/text/tokenizer.h"

namespace yun::cli {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kRunHelp =
    "Usage: yun run --model DIR [PROMPT] [options]\n"
    "\n"
    "Generates a continuation of PROMPT with the model in DIR (a Hugging Face\n"
    "directory: config.json, *.safetensors, tokenizer.json) on the CPU or a GPU\n"
    "(--device).\n"
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
    "                          with max_tokens, temperature, top_p, top_k, min_p,\n"
    "                          repetition_penalty, seed, stop, ignore_eos. All run at\n"
    "                          once; results are JSON lines in input order with\n"
    "                          \"index\" added.\n"
    "  --tokenizer DIR         read tokenizer.json from DIR instead of the model directory\n"
    "                          (without one, only --prompt-ids works and \"text\" is empty)\n"
    "\n"
    "Sampling (defaults: the model's generation_config.json, else greedy):\n"
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
  SamplingParams params;
  bool max_tokens_set = false;
  // Results.
  std::vector<int32_t> output_ids;
  std::string text;
  std::string finish_reason;
  std::string error;
  bool done = false;
};


// Sampling defaults like vLLM: the model's generation_config.json; greedy
// when it has no sampling settings or says do_sample = false.
SamplingParams model_defaults(const ModelConfig& mc) {
  SamplingParams p;
  const auto& g = mc.generation;
  bool any = g.temperature || g.top_p || g.top_k || g.min_p || g.repetition_penalty;
  if (!any || (g.do_sample && !*g.do_sample)) {
    p.temperature = 0;
  } else {
    p.temperature = g.temperature.value_or(1.0);
    p.top_p = g.top_p.value_or(1.0);
    p.top_k = static_cast<int32_t>(g.top_k.value_or(-1));
    p.min_p = g.min_p.value_or(0.0);
    p.repetition_penalty = g.repetition_penalty.value_or(1.0);
  }
  p.max_tokens = 256;
  return p;
}

// An explicit temperature 0 (--temperature 0, "temperature": 0) asks for the
// most likely token at every step (transformers' greedy ids): the model's
// default repetition_penalty does not apply then, only one given explicitly
// (read after this).
void set_temperature(SamplingParams& p, double t) {
  p.temperature = t;
  if (t == 0) p.repetition_penalty = 1.0;
}

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

Status apply_flags(const Args& a, Item& it) {
  SamplingParams& p = it.params;
  if (a.has("-n") || a.has("--max-tokens")) {
    YUN_ASSIGN_OR_RETURN(int64_t n, a.get_int(a.has("-n") ? "-n" : "--max-tokens", 0));
    if (n < 1 || n > INT32_MAX) return invalid_argument("--max-tokens must be >= 1");
    p.max_tokens = static_cast<int32_t>(n);
    it.max_tokens_set = true;
  }
  if (a.has("--temperature")) {
    YUN_ASSIGN_OR_RETURN(double t, a.get_double("--temperature", p.temperature));
    set_temperature(p, t);
  }
  YUN_ASSIGN_OR_RETURN(p.repetition_penalty,
                       a.get_double("--repetition-penalty", p.repetition_penalty));
  if (!(p.repetition_penalty > 0) || p.repetition_penalty > 1e6)
    return invalid_argument("--repetition-penalty must be > 0");
  YUN_ASSIGN_OR_RETURN(p.top_p, a.get_double("--top-p", p.top_p));
  YUN_ASSIGN_OR_RETURN(int64_t k, a.get_int("--top-k", p.top_k));
  p.top_k = static_cast<int32_t>(k);
  YUN_ASSIGN_OR_RETURN(p.min_p, a.get_double("--min-p", p.min_p));
  if (a.has("--seed")) {
    YUN_ASSIGN_OR_RETURN(int64_t s, a.get_int("--seed", 0));
    p.seed = static_cast<uint64_t>(s);
  }
  if (a.has("--ignore-eos")) p.ignore_eos = true;
  for (const auto& s : a.all("--stop")) p.stop.push_back(s);
  return Status::ok();
}

Status apply_json(const json& j, Item& it) {
  SamplingParams& p = it.params;
  try {
    if (j.contains("max_tokens")) {
      p.max_tokens = j["max_tokens"].get<int32_t>();
      it.max_tokens_set = true;
    }
    if (j.contains("temperature")) set_temperature(p, j["temperature"].get<double>());
    if (j.contains("repetition_penalty"))
      p.repetition_penalty = j["repetition_penalty"].get<double>();
    if (j.contains("top_p")) p.top_p = j["top_p"].get<double>();
    if (j.contains("top_k")) p.top_k = j["top_k"].get<int32_t>();
    if (j.contains("min_p")) p.min_p = j["min_p"].get<double>();
    if (j.contains("seed") && !j["seed"].is_null()) p.seed = j["seed"].get<uint64_t>();
    if (j.contains("ignore_eos")) p.ignore_eos = j["ignore_eos"].get<bool>();
    if (j.contains("stop")) {
      if (j["stop"].is_string())
        p.stop = {j["stop"].get<std::string>()};
      else if (!j["stop"].is_null())
        p.stop = j["stop"].get<std::vector<std::string>>();
    }
  } catch (const std::exception& e) {
    return invalid_argument(std::string("bad field type: ") + e.what());
  }
  return Status::ok();
}

Result<std::vector<int32_t>> encode_chat(const json& messages, const Tokenizer* tok) {
  if (!tok) return invalid_argument("chat messages need a tokenizer (tokenizer.json)");
  if (tok->chat_template().empty()) {
    return invalid_argument("the tokenizer has no chat template (tokenizer_config.json)");
  }
  YUN_ASSIGN_OR_RETURN(auto tmpl, ChatTemplate::parse(tok->chat_template()));
  ChatTemplateInputs in;
  in.messages = messages;
  in.add_generation_prompt = true;
  in.bos_token = tok->bos_token();
  in.eos_token = tok->eos_token();
  YUN_ASSIGN_OR_RETURN(std::string text, tmpl->render(in));
  return tok->encode(text);
}

Result<std::vector<int32_t>> encode_text(const std::string& text, bool chat, const Tokenizer* tok) {
  if (chat) return encode_chat(json::array({{{"role", "user"}, {"content", text}}}), tok);
  if (!tok)
    return invalid_argument("a text prompt needs a tokenizer (tokenizer.json); use --prompt-ids");
  auto ids = tok->encode(text);
  if (ids.empty()) return invalid_argument("the prompt is empty");
  return ids;
}

// Reads the JSONL requests. Errors name the line.
Status read_prompts_file(const std::string& path, const Args& args, const SamplingParams& defaults,
                         const Tokenizer* tok, std::vector<Item>& items) {
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
    auto parsed = parse_json_bounded<json>(line, JsonLimits::request());
    if (!parsed.is_ok()) return where(invalid_argument("bad JSON: " + parsed.status().message()));
    json j = std::move(parsed).value();
    if (!j.is_object()) return where(invalid_argument("expected a JSON object"));
    Item it;
    it.params = defaults;
    Status st = apply_flags(args, it);
    if (!st.is_ok()) return st;
    st = apply_json(j, it);
    if (!st.is_ok()) return where(st);
    Result<std::vector<int32_t>> ids =
        invalid_argument("needs \"prompt\", \"prompt_ids\" or \"messages\"");
    try {
      if (j.contains("prompt_ids")) {
        ids = j["prompt_ids"].get<std::vector<int32_t>>();
      } else if (j.contains("messages")) {
        ids = encode_chat(j["messages"], tok);
      } else if (j.contains("prompt")) {
        ids = encode_text(j["prompt"].get<std::string>(), args.has("--chat"), tok);
      }
    } catch (const std::exception& e) {
      return where(invalid_argument(std::string("bad field type: ") + e.what()));
    }
    if (!ids) return where(ids.status());
    it.prompt_ids = std::move(*ids);
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
                                       "--stop",
                                       "--repetition-penalty"};
  std::set<std::string> bool_flags = {"--ignore-eos", "--json", "--chat", "--help", "-h"};
  value_flags.insert(engine_value_flags().begin(), engine_value_flags().end());
  bool_flags.insert(engine_bool_flags().begin(), engine_bool_flags().end());
  auto parsed = Args::parse(argv, value_flags, bool_flags);
  if (!parsed) return fail(2, "run: " + parsed.status().message() + " (see yun run --help)");
  const Args& args = *parsed;
  if (args.has("--help") || args.has("-h")) {
    std::cout << kRunHelp << engine_flags_help();
    return 0;
  }
  const std::string model = args.get_string("--model", "");
  if (model.empty()) return fail(2, "run: --model DIR is required (see yun run --help)");
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

  // The tokenizer is optional only for --prompt-ids.
  std::shared_ptr<const Tokenizer> tok;
  {
    auto t = Tokenizer::load(args.get_string("--tokenizer", model));
    if (t) {
      tok = *t;
    } else if (t.status().code() != StatusCode::kNotFound || args.has("--tokenizer")) {
      return fail(2, "run: tokenizer: " + t.status().message());
    }
  }
  auto mc = load_model_config(model);
  if (!mc) return fail(exit_code_for(mc.status()), "run: " + mc.status().message());
  const SamplingParams defaults = model_defaults(*mc);

  std::vector<Item> items;
  if (file_mode) {
    Status st =
        read_prompts_file(args.get_string("--prompts-file", ""), args, defaults, tok.get(), items);
    if (!st.is_ok()) return fail(2, "run: " + st.message());
  } else {
    Item it;
    it.params = defaults;
    Status st = apply_flags(args, it);
    if (!st.is_ok()) return fail(2, "run: " + st.message());
    auto ids = have_text ? encode_text(args.positional()[0], args.has("--chat"), tok.get())
                         : parse_id_list(*args.get("--prompt-ids"));
    if (!ids) return fail(2, "run: " + ids.status().message());
    it.prompt_ids = std::move(*ids);
    items.push_back(std::move(it));
  }

  auto engine = create_engine_for_model(model, *flags, tok);
  if (!engine) return fail(exit_code_for(engine.status()), "run: " + engine.status().message());
  Engine& e = **engine;

  BlockingQueue<std::pair<size_t, RequestEvent>> events;
  size_t pending = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    Item& it = items[i];
    const int64_t room = e.max_model_len() - static_cast<int64_t>(it.prompt_ids.size());
    if (!it.max_tokens_set && room >= 1 && it.params.max_tokens > room) {
      it.params.max_tokens = static_cast<int32_t>(room);
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
