#include "yun/text/gguf_tokenizer.h"

#include <exception>

#include <nlohmann/json.hpp>

#include "yun/base/mapped_file.h"
#include "yun/text/tokenizer_json.h"

namespace yun {
namespace {

using json = nlohmann::json;

// The split regexes of the pre-tokenizers GGUF names (as in the models'
// tokenizer.json files).
constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;

json byte_level() {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false},
          {"use_regex", false}};
}

json pre_tokenizer(const char* regex) {
  return {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"},
             {"pattern", {{"Regex", regex}}},
             {"behavior", "Isolated"},
             {"invert", false}},
            byte_level()}}};
}

// The Split regex of a tokenizer.json's pre_tokenizer, or "".
std::string split_regex(const json& pre) {
  if (!pre.is_object()) return "";
  if (pre.value("type", "") == "Split" && pre.contains("pattern") && pre["pattern"].is_object())
    return pre["pattern"].value("Regex", "");
  if (pre.value("type", "") == "Sequence" && pre.contains("pretokenizers") &&
      pre["pretokenizers"].is_array())
    for (const json& p : pre["pretokenizers"])
      if (std::string r = split_regex(p); !r.empty()) return r;
  return "";
}

}  // namespace

Result<std::shared_ptr<Tokenizer>> tokenizer_from_gguf(const GgufFile& f) {
  const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
  if (!tokens) return not_found(f.name() + ": no tokenizer.ggml.tokens");
  if (tokens->type != GgufType::kArray || tokens->elem != GgufType::kString)
    return invalid_argument(f.name() + ": tokenizer.ggml.tokens is not an array of strings");
  const std::string model = f.get_string("tokenizer.ggml.model").value_or("");
  if (model != "gpt2")
    return unimplemented(f.name() + ": tokenizer.ggml.model '" + model +
                         "' is not supported (gpt2: byte-level BPE)");
  const std::string pre = f.get_string("tokenizer.ggml.pre").value_or("");
  const bool qwen = pre == "qwen2", llama = pre == "llama-bpe";
  if (!qwen && !llama)
    return unimplemented(f.name() + ": tokenizer.ggml.pre '" + pre +
                         "' is not supported (qwen2, llama-bpe)");
  const std::vector<std::string>& toks = tokens->strs;
  std::vector<int64_t> types(toks.size(), kNormal);
  if (const GgufValue* t = f.find("tokenizer.ggml.token_type")) {
    if (t->type != GgufType::kArray || t->ints.size() != toks.size())
      return invalid_argument(f.name() + ": tokenizer.ggml.token_type does not match the tokens");
    types = t->ints;
  }
  const GgufValue* merges = f.find("tokenizer.ggml.merges");
  if (merges && (merges->type != GgufType::kArray || merges->elem != GgufType::kString))
    return invalid_argument(f.name() + ": tokenizer.ggml.merges is not an array of strings");
  try {
    json vocab = json::object(), added = json::array();
    for (size_t i = 0; i < toks.size(); ++i) {
      if (types[i] == kUnused) continue;
      if (types[i] == kControl || types[i] == kUserDefined) {
        added.push_back({{"id", i}, {"content", toks[i]}, {"single_word", false},
                         {"lstrip", false}, {"rstrip", false}, {"normalized", false},
                         {"special", types[i] == kControl}});
        continue;
      }
      vocab[toks[i]] = i;  // a repeated string keeps its last id, as a JSON object would
    }
    json merge_list = json::array();
    if (merges)
      for (const std::string& m : merges->strs) merge_list.push_back(m);
    json tj = {{"version", "1.0"},
               {"added_tokens", added},
               {"normalizer", qwen ? json{{"type", "NFC"}} : json(nullptr)},
               {"pre_tokenizer", pre_tokenizer(qwen ? kQwen2Regex : kLlama3Regex)},
               {"post_processor", nullptr},
               {"decoder", byte_level()},
               {"model",
                {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                 {"continuing_subword_prefix", ""}, {"end_of_word_suffix", ""},
                 {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", llama},
                 {"vocab", vocab}, {"merges", merge_list}}}};
    json cfg = json::object();
    auto token_of = [&](const char* key) -> json {
      auto id = f.get_int(key);
      if (!id || *id < 0 || size_t(*id) >= toks.size()) return nullptr;
      return toks[size_t(*id)];
    };
    const bool add_bos = f.get_bool("tokenizer.ggml.add_bos_token").value_or(false);
    cfg["bos_token"] = token_of("tokenizer.ggml.bos_token_id");
    cfg["eos_token"] = token_of("tokenizer.ggml.eos_token_id");
    cfg["pad_token"] = token_of("tokenizer.ggml.padding_token_id");
    cfg["add_bos_token"] = add_bos;
    if (auto t = f.get_string("tokenizer.chat_template")) cfg["chat_template"] = *t;
    auto tok = Tokenizer::from_json(tj.dump(-1, ' ', false, json::error_handler_t::replace),
                                    cfg.dump(-1, ' ', false, json::error_handler_t::replace));
    if (!tok.is_ok()) return tok.status().with_context(f.name() + " (GGUF tokenizer)");
    return tok;
  } catch (const std::exception& e) {
    return invalid_argument(f.name() + ": GGUF tokenizer: " + e.what());
  }
}

Result<GgufVocab> gguf_vocab_from_tokenizer_dir(const std::string& dir, int64_t vocab_size,
                                                std::optional<int64_t> fallback_bos,
                                                std::optional<int64_t> fallback_eos) {
  auto text = read_file(dir + "/tokenizer.json");
  if (!text.is_ok()) return text.status();
  YUN_ASSIGN_OR_RETURN(text::TokenizerSpec spec, text::parse_tokenizer_json(*text));
  GgufVocab v;
  try {
    if (spec.model.value("type", "") != "BPE")
      return unimplemented(dir + "/tokenizer.json: only BPE tokenizers go into GGUF");
    const std::string regex = split_regex(spec.sections.value("pre_tokenizer", json()));
    if (regex == kQwen2Regex) {
      v.pre = "qwen2";
    } else if (regex == kLlama3Regex) {
      v.pre = "llama-bpe";
    } else {
      return unimplemented(dir + "/tokenizer.json: pre-tokenizer is neither Qwen2's nor Llama 3's");
    }
    int64_t n = vocab_size;
    for (auto& [s, id] : spec.vocab) n = std::max<int64_t>(n, int64_t(id) + 1);
    const json added = spec.sections.value("added_tokens", json::array());
    for (const json& a : added) n = std::max<int64_t>(n, a.value("id", int64_t(0)) + 1);
    if (n > (int64_t(1) << 24)) return invalid_argument(dir + "/tokenizer.json: vocabulary too large");
    v.tokens.assign(size_t(n), "");
    v.types.assign(size_t(n), kUnused);
    for (auto& [s, id] : spec.vocab) {
      if (id < 0) continue;
      v.tokens[size_t(id)] = s;
      v.types[size_t(id)] = kNormal;
    }
    for (const json& a : added) {
      const int64_t id = a.value("id", int64_t(-1));
      if (id < 0) continue;
      v.tokens[size_t(id)] = a.value("content", "");
      v.types[size_t(id)] = a.value("special", false) ? kControl : kUserDefined;
    }
    for (int64_t i = 0; i < n; ++i)
      if (v.types[size_t(i)] == kUnused) v.tokens[size_t(i)] = "[PAD" + std::to_string(i) + "]";
    for (auto& [l, r] : spec.merges) v.merges.push_back(l + " " + r);
    auto id_of = [&](const json& cfg, const char* key) -> std::optional<int64_t> {
      auto it = cfg.find(key);
      if (it == cfg.end()) return std::nullopt;
      std::string s;
      if (it->is_string()) s = it->get<std::string>();
      else if (it->is_object()) s = it->value("content", "");
      if (s.empty()) return std::nullopt;
      for (int64_t i = 0; i < n; ++i)
        if (v.tokens[size_t(i)] == s && v.types[size_t(i)] != kUnused) return i;
      return std::nullopt;
    };
    json cfg = json::object();
    if (auto c = read_file(dir + "/tokenizer_config.json"); c.is_ok())
      cfg = json::parse(*c, nullptr, false);
    if (!cfg.is_object()) cfg = json::object();
    v.bos = id_of(cfg, "bos_token");
    if (!v.bos) v.bos = fallback_bos;
    v.eos = id_of(cfg, "eos_token");
    if (!v.eos) v.eos = fallback_eos;
    v.pad = id_of(cfg, "pad_token");
    v.add_bos = cfg.value("add_bos_token", false);
    if (auto t = read_file(dir + "/chat_template.jinja"); t.is_ok()) {
      v.chat_template = *t;
    } else if (cfg.contains("chat_template") && cfg["chat_template"].is_string()) {
      v.chat_template = cfg["chat_template"].get<std::string>();
    }
  } catch (const std::exception& e) {
    return invalid_argument(dir + "/tokenizer.json: " + e.what());
  }
  return v;
}

}  // namespace yun
