// TokenVocab: a model's vocabulary as the grammar matcher needs it: each
// token's bytes, a byte trie over them in depth-first order (for walking a
// grammar state against every token at once), and the end-of-sequence ids.
//
// Special tokens (Tokenizer::is_special) are not in the trie: a grammar never
// allows them, except the EOS ids, which the matcher allows exactly when the
// grammar is complete. Ids in [tokenizer vocab, n_vocab) (padding rows of the
// model's embedding) are never allowed.
//
// Masks are bitsets of mask_words() 32-bit words: token t is allowed iff
// bit (t % 32) of word t / 32 is set. Immutable after construction; share one
// per model between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "yun/base/status.h"

namespace yun {
class Tokenizer;
}

namespace yun::grammar {

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

  // The trie, nodes in depth-first preorder (the root is implicit).
  struct TrieNode {
    uint8_t byte;
    uint16_t depth;      // 1 for the first byte of a token
    int32_t parent;      // node index, -1 under the root
    int32_t subtree_end; // index after this node's subtree
    int32_t tok_begin;   // tokens ending here: trie_tokens()[tok_begin, next node's tok_begin)
  };
  const std::vector<TrieNode>& trie() const { return trie_; }
  // Token ids of node i: [trie()[i].tok_begin, tok_end(i)).
  int32_t tok_end(size_t i) const {
    return i + 1 < trie_.size() ? trie_[i + 1].tok_begin : int32_t(trie_tokens_.size());
  }
  const std::vector<int32_t>& trie_tokens() const { return trie_tokens_; }
  // The bytes from the root to node i.
  std::string path(int32_t i) const;
  int max_depth() const { return max_depth_; }

 private:
  int32_t n_vocab_;
  std::vector<std::string> tokens_;
  std::vector<int32_t> eos_;
  std::vector<TrieNode> trie_;
  std::vector<int32_t> trie_tokens_;
  int max_depth_ = 0;
};

}  // namespace yun::grammar
