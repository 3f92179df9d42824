// HfTokenizer: the Tokenizer implementation (tokenizer.h) for HF tokenizer.json
// files with a BPE model, assembled from normalizer / pre-tokenizer / BPE /
// added-token parts.
#include "yun/text/tokenizer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>

#include "yun/base/mapped_file.h"
#include "yun/base/utf8.h"
#include "yun/text/added_tokens.h"
#include "yun/text/bpe.h"
#include "yun/text/byte_level.h"
#include "yun/text/normalizer.h"
#include "yun/text/pretokenizer.h"
#include "yun/text/tokenizer_config.h"
#include "yun/text/tokenizer_json.h"

namespace yun {

namespace {

using text::AddedToken;
using text::AddedTokenMatcher;
using text::BpeModel;
using text::TextSegment;

constexpr int32_t kMaxTokenId = 16 * 1024 * 1024;

bool flag(const nlohmann::json& j, const char* key, bool def) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : def;
}

class HfTokenizer final : public Tokenizer {
 public:
  static Result<std::shared_ptr<Tokenizer>> create(text::TokenizerSpec spec,
                                                   text::TokenizerConfig cfg);

  std::vector<int32_t> encode(std::string_view input) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const override;
  std::string token_bytes(int32_t id) const override {
    return id >= 0 && size_t(id) < bytes_.size() ? bytes_[size_t(id)] : std::string();
  }
  bool is_special(int32_t id) const override {
    return id >= 0 && size_t(id) < special_.size() && special_[size_t(id)];
  }
  int32_t vocab_size() const override { return int32_t(bytes_.size()); }
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  const std::string& bos_token() const override { return cfg_.bos_token; }
  const std::string& eos_token() const override { return cfg_.eos_token; }
  const std::string& pad_token() const override { return cfg_.pad_token; }
  const std::string& chat_template() const override { return cfg_.chat_template; }

 private:
  void encode_plain(std::string_view normalized, std::vector<int32_t>& out) const;

  text::Normalizer normalizer_;
  text::PreTokenizer pre_;
  BpeModel bpe_;
  bool byte_level_decoder_ = false;
  std::vector<AddedToken> added_;         // by position in tokenizer.json + config
  AddedTokenMatcher raw_matcher_;         // normalized == false
  AddedTokenMatcher normalized_matcher_;  // normalized == true
  std::vector<std::string> bytes_;        // id -> decoded bytes
  std::vector<bool> special_;             // id -> special added token
  std::vector<int32_t> added_index_;      // id -> index in added_, or -1
  text::TokenizerConfig cfg_;
};

Result<std::vector<AddedToken>> parse_added(const nlohmann::json& j) {
  std::vector<AddedToken> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return invalid_argument("tokenizer.json: \"added_tokens\" must be an array");
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& e = j[i];
    if (!e.is_object() || !e.contains("id") || !e["id"].is_number_integer() ||
        !e.contains("content") || !e["content"].is_string()) {
      return invalid_argument("tokenizer.json: added_tokens[" + std::to_string(i) +
                              "] needs an integer \"id\" and a string \"content\"");
    }
    AddedToken t;
    t.id = e["id"].get<int32_t>();
    if (t.id < 0) {
      return invalid_argument("tokenizer.json: added_tokens[" + std::to_string(i) +
                              "] has a negative id");
    }
    t.content = e["content"].get<std::string>();
    t.special = flag(e, "special", false);
    t.lstrip = flag(e, "lstrip", false);
    t.rstrip = flag(e, "rstrip", false);
    t.normalized = flag(e, "normalized", !t.special);
    t.single_word = flag(e, "single_word", false);
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::shared_ptr<Tokenizer>> HfTokenizer::create(text::TokenizerSpec spec,
                                                       text::TokenizerConfig cfg) {
  auto tok = std::make_shared<HfTokenizer>();
  const nlohmann::json& sec = spec.sections;
  auto section = [&](const char* key) -> const nlohmann::json& {
    static const nlohmann::json kNull;
    auto it = sec.find(key);
    return it == sec.end() ? kNull : *it;
  };
  // Model.
  if (!spec.has_model) return invalid_argument("tokenizer.json: no \"model\" section");
  const nlohmann::json& m = spec.model;
  if (m.contains("type") && !(m["type"].is_string() && m["type"] == "BPE")) {
    return unimplemented("tokenizer.json: model type " + m["type"].dump() +
                         " is not supported (BPE only)");
  }
  if (!spec.has_vocab) return invalid_argument("tokenizer.json: model has no \"vocab\"");
  if (!spec.has_merges) return invalid_argument("tokenizer.json: model has no \"merges\"");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (m.contains(key) && m[key].is_string() && !m[key].get<std::string>().empty()) {
      return unimplemented(std::string("tokenizer.json: model.") + key + " is not supported");
    }
  }
  YUN_ASSIGN_OR_RETURN(tok->normalizer_, text::Normalizer::from_json(section("normalizer")));
  YUN_ASSIGN_OR_RETURN(tok->pre_, text::PreTokenizer::from_json(section("pre_tokenizer")));
  const nlohmann::json& dec = section("decoder");
  if (dec.is_object() && dec.value("type", "") == "ByteLevel") {
    tok->byte_level_decoder_ = true;
  } else if (!dec.is_null()) {
    return unimplemented("tokenizer.json: decoder " + dec.dump().substr(0, 80) +
                         " is not supported (ByteLevel only)");
  }
  text::BpeOptions opts;
  opts.byte_level = tok->pre_.byte_level();
  opts.ignore_merges = flag(m, "ignore_merges", false);
  opts.byte_fallback = flag(m, "byte_fallback", false);
  opts.fuse_unk = flag(m, "fuse_unk", false);
  if (m.contains("unk_token") && m["unk_token"].is_string()) {
    opts.unk_token = m["unk_token"].get<std::string>();
  }
  auto bpe = BpeModel::build(std::move(spec.vocab), spec.merges, std::move(opts));
  if (!bpe) return bpe.status().with_context("tokenizer.json");
  tok->bpe_ = std::move(bpe).value();

  // Added tokens: tokenizer.json's, then config-only ones.
  YUN_ASSIGN_OR_RETURN(tok->added_, parse_added(section("added_tokens")));
  for (AddedToken& t : cfg.added_tokens) {
    bool known = std::any_of(tok->added_.begin(), tok->added_.end(),
                             [&](const AddedToken& a) { return a.id == t.id; });
    if (!known) tok->added_.push_back(std::move(t));
  }
  cfg.added_tokens.clear();

  // Per-id tables.
  int32_t n = tok->bpe_.size();
  for (const AddedToken& t : tok->added_) {
    if (t.id < 0 || t.id > kMaxTokenId) {
      return invalid_argument("added token \"" + t.content + "\" has an out-of-range id " +
                              std::to_string(t.id));
    }
    n = std::max(n, t.id + 1);
  }
  tok->bytes_.assign(size_t(n), std::string());
  tok->special_.assign(size_t(n), false);
  tok->added_index_.assign(size_t(n), -1);
  for (int32_t id = 0; id < tok->bpe_.size(); ++id) {
    const std::string& s = tok->bpe_.token(id);
    tok->bytes_[size_t(id)] = tok->byte_level_decoder_ ? text::byte_level_decode(s) : s;
  }
  std::vector<const AddedToken*> raw, norm;
  for (size_t i = 0; i < tok->added_.size(); ++i) {
    const AddedToken& t = tok->added_[i];
    // As in HF, added tokens go through the decoder too (a no-op for ASCII
    // contents such as "<|im_end|>").
    tok->bytes_[size_t(t.id)] =
        tok->byte_level_decoder_ ? text::byte_level_decode(t.content) : t.content;
    tok->special_[size_t(t.id)] = t.special;
    tok->added_index_[size_t(t.id)] = int32_t(i);
    (t.normalized && !tok->normalizer_.empty() ? norm : raw).push_back(&t);
  }
  tok->raw_matcher_ = AddedTokenMatcher(std::move(raw));
  tok->normalized_matcher_ = AddedTokenMatcher(std::move(norm));
  tok->cfg_ = std::move(cfg);
  return std::shared_ptr<Tokenizer>(std::move(tok));
}

void HfTokenizer::encode_plain(std::string_view normalized, std::vector<int32_t>& out) const {
  thread_local std::string buf;
  thread_local std::vector<text::Span> pieces;
  pre_.split(normalized, buf, pieces);
  std::string_view b(buf);
  for (const text::Span& sp : pieces) bpe_.encode_word(b.substr(sp.begin, sp.end - sp.begin), out);
}

std::vector<int32_t> HfTokenizer::encode(std::string_view input) const {
  std::string sanitized;
  if (!is_valid_utf8(input)) {
    sanitized = utf8_sanitize(input);
    input = sanitized;
  }
  std::vector<int32_t> out;
  out.reserve(input.size() / 3 + 4);
  std::vector<TextSegment> segs, sub;
  raw_matcher_.split(input, segs);
  std::string norm;
  for (const TextSegment& s : segs) {
    if (s.id >= 0) {
      out.push_back(s.id);
      continue;
    }
    normalizer_.apply(input.substr(s.begin, s.end - s.begin), norm);
    if (normalized_matcher_.empty()) {
      encode_plain(norm, out);
      continue;
    }
    sub.clear();
    normalized_matcher_.split(norm, sub);
    for (const TextSegment& t : sub) {
      if (t.id >= 0) {
        out.push_back(t.id);
      } else {
        encode_plain(std::string_view(norm).substr(t.begin, t.end - t.begin), out);
      }
    }
  }
  return out;
}

std::string HfTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string raw;
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= bytes_.size()) continue;
    if (skip_special_tokens && special_[size_t(id)]) continue;
    raw += bytes_[size_t(id)];
  }
  return is_valid_utf8(raw) ? raw : utf8_sanitize(raw);
}

std::optional<int32_t> HfTokenizer::token_to_id(std::string_view token) const {
  for (const AddedToken& t : added_) {
    if (t.content == token) return t.id;
  }
  int32_t id = bpe_.find(token);
  if (id >= 0) return id;
  return std::nullopt;
}

std::string HfTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || size_t(id) >= added_index_.size()) return std::string();
  if (added_index_[size_t(id)] >= 0) return added_[size_t(added_index_[size_t(id)])].content;
  return bpe_.token(id);
}

}  // namespace

Result<std::shared_ptr<Tokenizer>> Tokenizer::from_json(const std::string& tokenizer_json,
                                                        const std::string& tokenizer_config_json) {
  YUN_ASSIGN_OR_RETURN(auto spec, text::parse_tokenizer_json(tokenizer_json));
  YUN_ASSIGN_OR_RETURN(auto cfg, text::parse_tokenizer_config(tokenizer_config_json));
  try {
    return HfTokenizer::create(std::move(spec), std::move(cfg));
  } catch (const std::exception& e) {
    return invalid_argument(std::string("tokenizer.json: ") + e.what());
  }
}

namespace {

// Tokenizers already parsed and still in use somewhere, by their files'
// bytes: models of one family (a catalogue's 0.6B, 1.7B and 4B) ship
// byte-identical tokenizer.json files, and parsing one costs ~0.3 s of CPU
// (most of a small model's load). The same files again (the same real
// paths, sizes and modification times) are found without reading them.
// Entries whose tokenizer is gone are dropped at the next load.
struct FileStamp {
  std::string path;  // the real path ("" when the file is absent)
  int64_t size = -1, mtime_ns = -1;
  bool operator==(const FileStamp&) const = default;
};
FileStamp stamp(const std::string& path) {
  FileStamp f;
  struct stat st {};
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return f;
  f.path = real;
  std::free(real);
  if (::stat(f.path.c_str(), &st) != 0) return FileStamp{};
  f.size = st.st_size;
  f.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return f;
}
struct LoadedTokenizer {
  FileStamp json_file, config_file;
  std::string json, config;
  std::weak_ptr<Tokenizer> tokenizer;
};
std::mutex loaded_mu;
std::vector<LoadedTokenizer> loaded;  // guarded by loaded_mu

// The live tokenizer with these files (by stamp, or with `json` and
// `config` non-null, by bytes); null when there is none.
std::shared_ptr<Tokenizer> find_loaded(const FileStamp& json_file, const FileStamp& config_file,
                                       const std::string* json, const std::string* config) {
  std::lock_guard<std::mutex> lock(loaded_mu);
  std::shared_ptr<Tokenizer> out;
  for (auto it = loaded.begin(); it != loaded.end();) {
    auto t = it->tokenizer.lock();
    if (!t) {
      it = loaded.erase(it);
      continue;
    }
    const bool same = json ? it->json == *json && it->config == *config
                           : it->json_file == json_file && it->config_file == config_file;
    if (!out && same) out = std::move(t);
    ++it;
  }
  return out;
}

}  // namespace

Result<std::shared_ptr<Tokenizer>> Tokenizer::load(const std::string& dir) {
  const FileStamp json_file = stamp(dir + "/tokenizer.json");
  const FileStamp config_file = stamp(dir + "/tokenizer_config.json");
  if (!json_file.path.empty()) {
    if (auto t = find_loaded(json_file, config_file, nullptr, nullptr)) return t;
  }
  auto json = read_file(dir + "/tokenizer.json");
  if (!json) {
    if (json.status().code() == StatusCode::kNotFound) {
      return not_found("no tokenizer.json in " + dir);
    }
    return json.status();
  }
  std::string cfg;
  auto c = read_file(dir + "/tokenizer_config.json");
  if (c) {
    cfg = std::move(c).value();
  } else if (c.status().code() != StatusCode::kNotFound) {
    return c.status();
  }
  if (auto t = find_loaded(json_file, config_file, &*json, &cfg)) return t;
  auto r = from_json(json.value(), cfg);
  if (!r) return r.status().with_context(dir);
  std::lock_guard<std::mutex> lock(loaded_mu);
  loaded.push_back({json_file, config_file, std::move(json).value(), std::move(cfg), *r});
  return r;
}

}  // namespace yun
