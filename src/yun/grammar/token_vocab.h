// TokenVocab: a model's vocabulary as the grammar matcher needs it: each
// token's bytes, byte tries over them in depth-first order (for walking a
// grammar state against every token at once), and the end-of-sequence ids.
//
// Special tokens (Tokenizer::is_special) are not in the tries: a grammar
// never allows them, except the EOS ids, which the matcher allows exactly
// when the grammar is complete. Ids in [tokenizer vocab, n_vocab) (padding
// rows of the model's embedding) are never allowed.
//
// Plain text: a token's "plain prefix" is its longest prefix made of whole
// UTF-8 characters that a JSON string holds unescaped (U+0020 and up, not "
// or \); L is the number of characters in it. Tokens are grouped by L (up
// to kMaxPlain): plain_mask(L) has the all-plain tokens of L characters,
// suffix_trie(L) the bytes after the plain prefix of the others; tokens with
// longer plain prefixes are listed in long_tokens(). A grammar state where
// every plain character leads to one same next state (string contents,
// bounded or not) decides all-plain tokens by their length alone and the
// rest by walking small suffix tries (mask_cache.h).
// Masks are bitsets of mask_words() 32-bit words: token t is allowed iff
// bit (t % 32) of word t / 32 is set. Immutable after construction; share one
// per model between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "yun/base/status.h"

namespace yun {
class Tokenizer;
}

namespace yun::grammar {

// A byte trie of token strings, nodes in depth-first preorder (the root is
// implicit), so a subtree is a contiguous node range.
class TokenTrie {
 public:
  struct Node {
    uint8_t byte;
    uint16_t depth;       // 1 for the first byte
    int32_t parent;       // node index, -1 under the root
    int32_t subtree_end;  // index after this node's subtree
    int32_t tok_begin;    // tokens ending here: tokens()[tok_begin, tok_end(i))
  };
  TokenTrie() = default;
  // (bytes, token id) pairs; empty strings are skipped.
  explicit TokenTrie(std::vector<std::pair<std::string, int32_t>> entries);

  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  int32_t tok_end(size_t i) const {
    return i + 1 < nodes_.size() ? nodes_[i + 1].tok_begin : int32_t(tokens_.size());
  }
  std::string path(int32_t i) const;  // bytes from the root to node i
  int max_depth() const { return max_depth_; }

 private:
  std::vector<Node> nodes_;
  std::vector<int32_t> tokens_;
  int max_depth_ = 0;
};

class TokenVocab {
 public:
  // tokens[i]: the bytes of token i (empty: never allowed). n_vocab >=
  // tokens.size() (the model's logit count). eos: ids allowed at the end.
  TokenVocab(std::vector<std::string> tokens, int32_t n_vocab, std::vector<int32_t> eos);

  // From a tokenizer: token_bytes of every non-special id; eos = the given
  // ids (e.g. <|im_end|>, <|endoftext|>). n_vocab <= 0: the tokenizer's size.
  static Result<std::shared_ptr<const TokenVocab>> from_tokenizer(const Tokenizer& tok,
                                                                  std::vector<int32_t> eos,
                                                                  int32_t n_vocab = 0);

  int32_t n_vocab() const { return n_vocab_; }
  size_t mask_words() const { return (size_t(n_vocab_) + 31) / 32; }
  const std::string& bytes(int32_t id) const;
  const std::vector<int32_t>& eos() const { return eos_; }
  bool is_eos(int32_t id) const;

  static constexpr int kMaxPlain = 24;
  // Every token that may be allowed.
  const TokenTrie& full_trie() const { return trie_; }
  // L in [1, kMaxPlain]: all-plain tokens of L characters.
  const std::vector<uint32_t>& plain_mask(int L) const { return plain_[size_t(L)]; }
  // L in [0, kMaxPlain]: the other tokens with L plain characters first, by
  // the bytes after them.
  const TokenTrie& suffix_trie(int L) const { return suffix_[size_t(L)]; }
  const std::vector<int32_t>& long_tokens() const { return long_; }

  // Shorthands for full_trie().
  using TrieNode = TokenTrie::Node;
  const std::vector<TrieNode>& trie() const { return trie_.nodes(); }
  int32_t tok_end(size_t i) const { return trie_.tok_end(i); }
  const std::vector<int32_t>& trie_tokens() const { return trie_.tokens(); }
  std::string path(int32_t i) const { return trie_.path(i); }
  int max_depth() const { return trie_.max_depth(); }

 private:
  int32_t n_vocab_;
  std::vector<std::string> tokens_;
  std::vector<int32_t> eos_;
  TokenTrie trie_;
  std::vector<TokenTrie> suffix_;
  std::vector<std::vector<uint32_t>> plain_;
  std::vector<int32_t> long_;
};

// The plain prefix of s (see above): its length in bytes; *chars = L.
size_t plain_prefix_length(const std::string& s, int* chars);

}  // namespace yun::grammar
