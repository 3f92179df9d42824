// Helpers for the token-level grammar tests: the real Qwen3 vocabulary
// (loaded once), mask bit access, and a byte-level greedy completion used to
// check that a matcher's state can still reach the end of the grammar.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"
#include "yun/grammar/matcher.h"
#include "yun/grammar/token_vocab.h"
#include "yun/text/tokenizer.h"

namespace yun::grammar::testing {

struct QwenVocab {
  std::shared_ptr<Tokenizer> tok;
  std::shared_ptr<const TokenVocab> vocab;
  int32_t im_end = -1;
};

// The Qwen3 tokenizer and its vocabulary (151,936 logits; EOS = <|im_end|>,
// <|endoftext|>). Null members when the tokenizer is missing.
inline const QwenVocab& qwen() {
  static QwenVocab q = [] {
    QwenVocab v;
    auto t = Tokenizer::load(yun::test::tokenizer_dir());
    if (!t) return v;
    v.tok = t.value();
    std::vector<int32_t> eos;
    for (const char* s : {"<|im_end|>", "<|endoftext|>"}) {
      if (auto id = v.tok->token_to_id(s)) eos.push_back(*id);
    }
    v.im_end = eos.empty() ? -1 : eos[0];
    auto r = TokenVocab::from_tokenizer(*v.tok, eos, 151936);
    if (r) v.vocab = r.value();
    return v;
  }();
  return q;
}

inline bool bit(const std::vector<uint32_t>& mask, int32_t id) { return (mask[size_t(id) >> 5] >> (id & 31)) & 1; }

inline std::vector<int32_t> allowed_ids(const std::vector<uint32_t>& mask) {
  std::vector<int32_t> out;
  for (size_t w = 0; w < mask.size(); ++w) {
    for (uint32_t x = mask[w]; x; x &= x - 1) out.push_back(int32_t(w * 32 + size_t(__builtin_ctz(x))));
  }
  return out;
}

// The shortest bytes that take `m` to a complete state (breadth-first over
// parser states, at most `limit` states expanded); nullopt when none is
// found. `m` is advanced by them.
inline std::optional<std::string> complete_greedy(Matcher& m, size_t limit = 20000) {
  if (m.is_complete()) return std::string();
  Matcher probe = m.clone();
  std::vector<std::string> queue = {std::string()};
  std::unordered_set<int32_t> seen = {probe.state_id()};
  for (size_t head = 0; head < queue.size() && head < limit; ++head) {
    const std::string path = queue[head];
    if (!path.empty() && !probe.accept_bytes(path)) return std::nullopt;  // cannot happen
    ByteSet nb = probe.next_bytes();
    for (int c = 0; c < 256; ++c) {
      if (!nb[size_t(c)]) continue;
      char ch = char(c);
      if (!probe.accept_bytes(std::string_view(&ch, 1))) continue;
      std::string next = path + ch;
      if (probe.is_complete()) {
        if (!m.accept_bytes(next)) return std::nullopt;
        return next;
      }
      if (seen.insert(probe.state_id()).second) queue.push_back(next);
      probe.rollback(1);
    }
    if (!path.empty()) probe.rollback(1);
  }
  return std::nullopt;
}

}  // namespace yun::grammar::testing
