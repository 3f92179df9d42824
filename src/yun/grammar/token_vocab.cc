#include "yun/grammar/token_vocab.h"

#include <algorithm>

#include "yun/text/tokenizer.h"

namespace yun::grammar {

TokenTrie::TokenTrie(std::vector<std::pair<std::string, int32_t>> entries) {
  std::erase_if(entries, [](const auto& e) { return e.first.empty(); });
  std::sort(entries.begin(), entries.end());
  // Sorted strings give the trie in preorder: each one extends the path of
  // the previous one past their common prefix.
  std::vector<int32_t> path;  // node index per depth
  const std::string* prev = nullptr;
  for (const auto& [s, id] : entries) {
    size_t common = 0;
    if (prev) {
      while (common < prev->size() && common < s.size() && (*prev)[common] == s[common]) ++common;
    }
    path.resize(common);
    for (size_t d = common; d < s.size(); ++d) {
      Node n;
      n.byte = uint8_t(s[d]);
      n.depth = uint16_t(d + 1);
      n.parent = d == 0 ? -1 : path[d - 1];
      n.subtree_end = 0;
      n.tok_begin = int32_t(tokens_.size());
      path.push_back(int32_t(nodes_.size()));
      nodes_.push_back(n);
    }
    tokens_.push_back(id);
    max_depth_ = std::max(max_depth_, int(s.size()));
    prev = &s;
  }
  std::vector<int32_t> open;
  for (int32_t i = 0; i < int32_t(nodes_.size()); ++i) {
    while (!open.empty() && nodes_[size_t(open.back())].depth >= nodes_[size_t(i)].depth) {
      nodes_[size_t(open.back())].subtree_end = i;
      open.pop_back();
    }
    open.push_back(i);
  }
  for (int32_t i : open) nodes_[size_t(i)].subtree_end = int32_t(nodes_.size());
}

std::string TokenTrie::path(int32_t i) const {
  std::string out;
  for (; i >= 0; i = nodes_[size_t(i)].parent) out += char(nodes_[size_t(i)].byte);
  std::reverse(out.begin(), out.end());
  return out;
}

size_t plain_prefix_length(const std::string& s, int* chars) {
  size_t i = 0;
  *chars = 0;
  while (i < s.size()) {
    unsigned char c = uint8_t(s[i]);
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0x80) {
      if (c < 0x20 || c == '"' || c == '\\') break;
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      break;
    }
    if (i + len > s.size()) break;
    bool ok = true;
    for (size_t k = 1; k < len; ++k) {
      unsigned char x = uint8_t(s[i + k]);
      if (k == 1 ? (x < lo || x > hi) : (x < 0x80 || x > 0xBF)) ok = false;
    }
    if (!ok) break;
    i += len;
    ++*chars;
  }
  return i;
}

TokenVocab::TokenVocab(std::vector<std::string> tokens, int32_t n_vocab, std::vector<int32_t> eos)
    : n_vocab_(std::max<int32_t>(n_vocab, int32_t(tokens.size()))),
      tokens_(std::move(tokens)),
      eos_(std::move(eos)) {
  std::erase_if(eos_, [&](int32_t id) { return id < 0 || id >= n_vocab_; });
  plain_.assign(kMaxPlain + 1, std::vector<uint32_t>(mask_words(), 0));
  std::vector<std::pair<std::string, int32_t>> all;
  std::vector<std::vector<std::pair<std::string, int32_t>>> suffixes(kMaxPlain + 1);
  for (int32_t i = 0; i < int32_t(tokens_.size()); ++i) {
    const std::string& s = tokens_[size_t(i)];
    if (s.empty() || is_eos(i)) continue;
    all.emplace_back(s, i);
    int L = 0;
    size_t p = plain_prefix_length(s, &L);
    if (L > kMaxPlain) {
      long_.push_back(i);
    } else if (p == s.size()) {
      plain_[size_t(L)][size_t(i) >> 5] |= 1u << (i & 31);
    } else {
      suffixes[size_t(L)].emplace_back(s.substr(p), i);
    }
  }
  trie_ = TokenTrie(std::move(all));
  for (auto& s : suffixes) suffix_.emplace_back(std::move(s));
}

Result<std::shared_ptr<const TokenVocab>> TokenVocab::from_tokenizer(const Tokenizer& tok,
                                                                     std::vector<int32_t> eos,
                                                                     int32_t n_vocab) {
  int32_t n = tok.vocab_size();
  if (n <= 0) return invalid_argument("tokenizer has an empty vocabulary");
  std::vector<std::string> tokens;
  tokens.resize(size_t(n));
  for (int32_t i = 0; i < n; ++i) {
    if (!tok.is_special(i)) tokens[size_t(i)] = tok.token_bytes(i);
  }
  return std::make_shared<const TokenVocab>(std::move(tokens), n_vocab > 0 ? n_vocab : n, std::move(eos));
}

const std::string& TokenVocab::bytes(int32_t id) const {
  static const std::string empty;
  return id >= 0 && size_t(id) < tokens_.size() ? tokens_[size_t(id)] : empty;
}

bool TokenVocab::is_eos(int32_t id) const { return std::find(eos_.begin(), eos_.end(), id) != eos_.end(); }

}  // namespace yun::grammar
