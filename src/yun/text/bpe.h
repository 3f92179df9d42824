// BpeModel: the `model` section (type BPE) of a HF tokenizer.json.
//
// Words are merged by rank (lowest first, leftmost on ties), exactly as the
// `tokenizers` BPE. In byte-level mode the model works on raw bytes: the
// initial symbols are the vocab ids of single bytes (in the ByteLevel
// alphabet) and merges join ids, so no alphabet strings are built per word.
// Results for short words are cached in a sharded, mutex-guarded cache; the
// model is safe to use from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "yun/base/status.h"
#include "yun/text/bpe_tables.h"

namespace yun::text {

class BpeCache;

struct BpeOptions {
  bool byte_level = true;       // words are raw bytes mapped through the ByteLevel alphabet
  bool ignore_merges = false;   // a word found whole in the vocab is one token
  bool byte_fallback = false;   // unknown chars -> <0xXX> tokens (non-byte-level only)
  bool fuse_unk = false;        // consecutive unknowns -> one unk token
  std::string unk_token;        // empty: unknown chars are dropped
};

class BpeModel {
 public:
  // `vocab`: (token, id) pairs; `merges`: (left, right) token pairs in rank
  // order. kInvalidArgument naming the problem: negative or duplicate ids, a
  // merge naming a token not in the vocab, or a merge result not in the vocab.
  static Result<BpeModel> build(std::vector<std::pair<std::string, int32_t>> vocab,
                                const std::vector<std::pair<std::string, std::string>>& merges,
                                BpeOptions options);

  BpeModel();
  BpeModel(BpeModel&&) noexcept;
  BpeModel& operator=(BpeModel&&) noexcept;
  ~BpeModel();

  // Appends the ids of one pre-tokenized word (raw bytes in byte-level mode).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  // Highest vocab id + 1.
  int32_t size() const { return int32_t(tokens_.size()); }
  // Vocabulary string of `id` (empty when unknown).
  const std::string& token(int32_t id) const;
  // Id of a vocabulary string, or -1.
  int32_t find(std::string_view token) const { return map_.find(token); }
  const BpeOptions& options() const { return opts_; }

 private:
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  void initial_symbols(std::string_view word) const;

  BpeOptions opts_;
  std::vector<std::string> tokens_;  // by id ("" for holes)
  StringIdMap map_;
  PairMap merges_;
  int32_t byte_ids_[256];            // byte-level: id of each single byte, or -1
  int32_t unk_id_ = -1;
  std::unique_ptr<BpeCache> cache_;
  uint64_t owner_ = 0;  // this model's key in the per-thread BpeL1Cache
};

}  // namespace yun::text
