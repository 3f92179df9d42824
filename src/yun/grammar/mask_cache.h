// MaskCache: token masks per truncated parser configuration, shared by every
// matcher of one compiled grammar (thread-safe).
//
// The mask of a configuration depends mostly on the top frames of its
// stacks. An entry is computed once per truncated key
// (StackSpace::truncated_key, `depth` frames) by walking a token trie against
// the truncated configuration:
//   - `accepted`: tokens accepted without reaching below the cut (exact for
//     every configuration with this key);
//   - `roots`: trie nodes where some stack popped past the cut; tokens below
//     such a node depend on the frames under it and are walked again, per
//     step, from the matcher's real configuration (few: the tokens that
//     close a value and go on, like `",`).
// Tokens rejected before any pop past the cut are rejected everywhere.
//
// Plain text (`plain`): when every plain character (token_vocab.h) leads
// the configuration to one same next configuration, again and again (JSON
// string contents, bounded or not), the chain C0 -> C1 -> ... decides the
// all-plain tokens of L characters at once (accepted iff C_L is alive) and
// the others by walking suffix_trie(L) from C_L; their roots are
// (L, suffix-trie node). Tokens with longer plain prefixes are checked one
// by one (`recheck` when they reach below the cut). The property is checked
// exactly, on one byte per class of bytes the grammar treats alike
// (Grammar::byte_rep) along every UTF-8 shape.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "yun/grammar/stack_space.h"
#include "yun/grammar/token_vocab.h"

namespace yun::grammar {

struct MaskEntry {
  std::vector<uint32_t> accepted;  // TokenVocab::mask_words() words
  std::vector<int32_t> roots;      // trie node indices to walk again
  std::vector<std::string> root_bytes;  // per root: the bytes from the configuration to it
  bool plain = false;              // roots index suffix_trie(root_len[i]), else full_trie()
  std::vector<uint8_t> root_len;   // plain: L of each root
  std::vector<int32_t> recheck;    // plain: long tokens to check from the real configuration
};

// Walks trie nodes [begin, end) (a subtree's descendants, or the whole trie),
// whose parent state at depth base_depth is base_cfg; sets the bits of the
// tokens space accepts. With `roots`, stops below nodes whose configuration
// holds a sentinel and records them.
void walk_trie(StackSpace& space, const TokenTrie& trie, int32_t begin, int32_t end, int base_depth,
               int32_t base_cfg, uint32_t* mask, std::vector<int32_t>* roots);

// The configuration every plain character (a UTF-8 sequence) takes cfg to,
// without touching a sentinel on the way (kEmpty: every one is refused);
// -2 when they do not all agree.
int32_t plain_successor(StackSpace& space, const Grammar& g, int32_t cfg);

class MaskCache {
 public:
  static constexpr int kDefaultDepth = 4;
  static constexpr size_t kMaxEntries = 4096;
  MaskCache(std::shared_ptr<const Grammar> g, std::shared_ptr<const TokenVocab> vocab,
            int depth = kDefaultDepth);

  int depth() const { return depth_; }
  // The entry for a truncated key, computed on first use.
  std::shared_ptr<const MaskEntry> get(const std::string& key);
  size_t size() const;

 private:
  // Bounds (then the cache starts over): entries, and the shared space's
  // configurations (1 KiB of transitions each).
  std::shared_ptr<const Grammar> g_;
  std::shared_ptr<const TokenVocab> vocab_;
  int depth_;
  mutable std::mutex mu_;
  std::unique_ptr<StackSpace> space_;  // guarded by mu_
  std::unordered_map<std::string, std::shared_ptr<const MaskEntry>> entries_;  // guarded by mu_
};

}  // namespace yun::grammar
