#include "yun/grammar/token_vocab.h"

#include <algorithm>
#include <numeric>

#include "yun/text/tokenizer.h"

namespace yun::grammar {

TokenVocab::TokenVocab(std::vector<std::string> tokens, int32_t n_vocab, std::vector<int32_t> eos)
    : n_vocab_(std::max<int32_t>(n_vocab, int32_t(tokens.size()))),
      tokens_(std::move(tokens)),
      eos_(std::move(eos)) {
  std::erase_if(eos_, [&](int32_t id) { return id < 0 || id >= n_vocab_; });
  std::vector<int32_t> order;
  for (int32_t i = 0; i < int32_t(tokens_.size()); ++i) {
    if (!tokens_[size_t(i)].empty() && !is_eos(i)) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return tokens_[size_t(a)] != tokens_[size_t(b)] ? tokens_[size_t(a)] < tokens_[size_t(b)] : a < b;
  });
  // Sorted strings give the trie in preorder: each token extends the path of
  // the previous one past their common prefix.
  std::vector<int32_t> path;  // node index per depth
  std::string prev;
  for (int32_t id : order) {
    const std::string& s = tokens_[size_t(id)];
    size_t common = 0;
    while (common < prev.size() && common < s.size() && prev[common] == s[common]) ++common;
    path.resize(common);
    for (size_t d = common; d < s.size(); ++d) {
      TrieNode n;
      n.byte = uint8_t(s[d]);
      n.depth = uint16_t(d + 1);
      n.parent = d == 0 ? -1 : path[d - 1];
      n.subtree_end = 0;
      n.tok_begin = int32_t(trie_tokens_.size());
      path.push_back(int32_t(trie_.size()));
      trie_.push_back(n);
    }
    trie_tokens_.push_back(id);
    max_depth_ = std::max(max_depth_, int(s.size()));
    prev = s;
  }
  // subtree_end: the next node whose depth is not greater.
  std::vector<int32_t> open;
  for (int32_t i = 0; i < int32_t(trie_.size()); ++i) {
    while (!open.empty() && trie_[size_t(open.back())].depth >= trie_[size_t(i)].depth) {
      trie_[size_t(open.back())].subtree_end = i;
      open.pop_back();
    }
    open.push_back(i);
  }
  for (int32_t i : open) trie_[size_t(i)].subtree_end = int32_t(trie_.size());
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

std::string TokenVocab::path(int32_t i) const {
  std::string out;
  for (; i >= 0; i = trie_[size_t(i)].parent) out += char(trie_[size_t(i)].byte);
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace yun::grammar
