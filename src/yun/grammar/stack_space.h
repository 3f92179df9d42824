// StackSpace: the pushdown recognizer under the matcher, as a lazily built
// automaton over hash-consed parser configurations.
//
// A stack is a chain of nodes (position in Grammar::symbols, parent node);
// nodes are hash-consed, so equal stacks are equal ids. A configuration is
// the sorted set of stacks the parser may be in after some bytes, each one's
// top at a byte class (closure done: rule references expanded, finished
// alternatives popped; a reference in tail position pushes no frame, so
// right recursion runs in constant stack). Configurations are interned too,
// and step(config, byte) is memoized: walking a token trie over a state that
// was seen before costs a table lookup per byte.
//
// Two special nodes: kAccept (the root rule finished: end of input allowed)
// and kSentinel ("the rest of the stack, unknown here"), used by truncated
// configurations (truncated_key / from_key) whose token masks are shared by
// every configuration with the same top frames (see mask_cache.h).
//
// Not thread-safe: guarded by its owner (Automaton, MaskCache).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "yun/grammar/grammar.h"

namespace yun::grammar {

class StackSpace {
 public:
  static constexpr int32_t kEmpty = 0;  // the configuration with no stacks (dead)
  static constexpr int32_t kAccept = 0;  // node ids
  static constexpr int32_t kSentinel = 1;

  // dense: transitions in a 256-entry table per configuration (fast, 1 KiB
  // each) rather than a hash map.
  StackSpace(std::shared_ptr<const Grammar> g, bool dense);

  // The configuration before any byte.
  int32_t initial();
  // The configuration after `b`; kEmpty when no stack accepts it.
  int32_t step(int32_t cfg, uint8_t b) {
    if (dense_) {
      int32_t t = dense_trans_[size_t(cfg) * 256 + b];
      if (t >= 0) return t;
    }
    return step_slow(cfg, b);
  }
  bool accepting(int32_t cfg) const { return flags_[size_t(cfg)] & kFlagAccept; }
  bool has_sentinel(int32_t cfg) const { return flags_[size_t(cfg)] & kFlagSentinel; }
  // Some byte may follow (next_bytes(cfg).any(), kept per configuration).
  bool can_continue(int32_t cfg) const { return flags_[size_t(cfg)] & kFlagContinue; }
  // Bytes that some stack of cfg accepts next.
  ByteSet next_bytes(int32_t cfg) const;

  // A canonical key for cfg with every stack cut to its top `depth` frames
  // (deeper frames become a sentinel). Equal keys mean equal behaviour up to
  // the first pop below the cut.
  std::string truncated_key(int32_t cfg, int depth) const;
  // The configuration of a key in this space (sentinels included).
  int32_t from_key(const std::string& key);

  size_t n_nodes() const { return nodes_.size(); }
  size_t n_configs() const { return configs_.size(); }
  // True once a closure grew past the configuration size limit (an ambiguous
  // grammar); the step that did it returned kEmpty.
  bool overflowed() const { return overflowed_; }

 private:
  static constexpr uint8_t kFlagAccept = 1, kFlagSentinel = 2, kFlagContinue = 4;
  static constexpr int32_t kAcceptPos = -2, kSentinelPos = -3;
  static constexpr size_t kMaxConfigSize = 20000;
  struct Node {
    int32_t pos;
    int32_t parent;  // -1: bottom of the stack
  };

  int32_t step_slow(int32_t cfg, uint8_t b);
  int32_t node(int32_t pos, int32_t parent);
  void closure(int32_t start);
  int32_t intern();  // interns scratch_ (sorted, unique)

  std::shared_ptr<const Grammar> g_;
  bool dense_;
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, int32_t> node_index_;
  std::vector<std::vector<int32_t>> configs_;
  std::vector<uint8_t> flags_;
  std::unordered_map<std::string, int32_t> config_index_;
  std::vector<int32_t> dense_trans_;  // configs * 256, -1 unknown
  std::unordered_map<uint64_t, int32_t> sparse_trans_;
  // Closure scratch.
  std::vector<int32_t> scratch_, work_;
  std::vector<uint32_t> seen_;
  uint32_t epoch_ = 0;
  bool overflowed_ = false;
  int32_t initial_ = -1;
};

}  // namespace yun::grammar
