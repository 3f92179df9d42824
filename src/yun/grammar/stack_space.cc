#include "yun/grammar/stack_space.h"

#include <algorithm>
#include <cstring>

namespace yun::grammar {

namespace {
constexpr int32_t kKeyRoot = -1, kKeyAccept = -2, kKeySentinel = -3, kKeySep = -4;

std::string ints_to_string(const std::vector<int32_t>& v) {
  std::string s(v.size() * sizeof(int32_t), '\0');
  if (!v.empty()) std::memcpy(s.data(), v.data(), s.size());
  return s;
}
}  // namespace

StackSpace::StackSpace(std::shared_ptr<const Grammar> g, bool dense) : g_(std::move(g)), dense_(dense) {
  nodes_.push_back(Node{kAcceptPos, -1});
  nodes_.push_back(Node{kSentinelPos, -1});
  scratch_.clear();
  intern();  // config 0: the empty set
}

int32_t StackSpace::node(int32_t pos, int32_t parent) {
  uint64_t key = (uint64_t(uint32_t(pos)) << 32) | uint32_t(parent);
  auto [it, fresh] = node_index_.try_emplace(key, int32_t(nodes_.size()));
  if (fresh) nodes_.push_back(Node{pos, parent});
  return it->second;
}

void StackSpace::closure(int32_t start) {
  work_.push_back(start);
  while (!work_.empty()) {
    int32_t n = work_.back();
    work_.pop_back();
    if (seen_.size() < nodes_.size()) seen_.resize(nodes_.size() * 2, 0);
    if (seen_[size_t(n)] == epoch_) continue;
    seen_[size_t(n)] = epoch_;
    const Node nd = nodes_[size_t(n)];
    if (nd.pos < 0) {  // accept or sentinel
      scratch_.push_back(n);
      continue;
    }
    const Symbol& s = g_->symbols[size_t(nd.pos)];
    if (s.kind == Symbol::kBytes) {
      scratch_.push_back(n);
    } else if (s.kind == Symbol::kEnd) {
      work_.push_back(nd.parent < 0 ? kAccept : nd.parent);
    } else {
      int32_t next = nd.pos + 1;
      int32_t ret = g_->symbols[size_t(next)].kind == Symbol::kEnd ? nd.parent : node(next, nd.parent);
      for (int32_t alt : g_->rules[size_t(s.id)].alts) work_.push_back(node(alt, ret));
    }
    if (scratch_.size() > kMaxConfigSize) {
      overflowed_ = true;
      work_.clear();
      return;
    }
  }
}

int32_t StackSpace::intern() {
  std::sort(scratch_.begin(), scratch_.end());
  scratch_.erase(std::unique(scratch_.begin(), scratch_.end()), scratch_.end());
  auto [it, fresh] = config_index_.try_emplace(ints_to_string(scratch_), int32_t(configs_.size()));
  if (fresh) {
    uint8_t f = 0;
    for (int32_t n : scratch_) {
      if (n == kAccept) f |= kFlagAccept;
      if (n == kSentinel) f |= kFlagSentinel;
      const int32_t pos = nodes_[size_t(n)].pos;
      if (pos >= 0 && g_->symbols[size_t(pos)].kind == Symbol::kBytes && g_->classes[size_t(g_->symbols[size_t(pos)].id)].any())
        f |= kFlagContinue;
    }
    configs_.push_back(scratch_);
    flags_.push_back(f);
    if (dense_) dense_trans_.resize(configs_.size() * 256, -1);
  }
  return it->second;
}

int32_t StackSpace::initial() {
  if (initial_ >= 0) return initial_;
  ++epoch_;
  scratch_.clear();
  for (int32_t alt : g_->rules[size_t(g_->root)].alts) closure(node(alt, -1));
  if (overflowed_) scratch_.clear();
  initial_ = intern();
  return initial_;
}

int32_t StackSpace::step_slow(int32_t cfg, uint8_t b) {
  if (!dense_) {
    auto it = sparse_trans_.find((uint64_t(uint32_t(cfg)) << 8) | b);
    if (it != sparse_trans_.end()) return it->second;
  }
  ++epoch_;
  scratch_.clear();
  // configs_ may grow while we walk it: copy the member list first.
  std::vector<int32_t> members = configs_[size_t(cfg)];
  for (int32_t n : members) {
    const Node nd = nodes_[size_t(n)];
    if (nd.pos < 0) continue;
    const Symbol& s = g_->symbols[size_t(nd.pos)];
    if (s.kind == Symbol::kBytes && g_->classes[size_t(s.id)][b]) closure(node(nd.pos + 1, nd.parent));
    if (overflowed_) break;
  }
  if (overflowed_) scratch_.clear();
  int32_t out = intern();
  if (dense_) {
    dense_trans_[size_t(cfg) * 256 + b] = out;
  } else {
    sparse_trans_[(uint64_t(uint32_t(cfg)) << 8) | b] = out;
  }
  return out;
}

ByteSet StackSpace::next_bytes(int32_t cfg) const {
  ByteSet out;
  for (int32_t n : configs_[size_t(cfg)]) {
    const Node& nd = nodes_[size_t(n)];
    if (nd.pos < 0) continue;
    const Symbol& s = g_->symbols[size_t(nd.pos)];
    if (s.kind == Symbol::kBytes) out |= g_->classes[size_t(s.id)];
  }
  return out;
}

std::string StackSpace::truncated_key(int32_t cfg, int depth) const {
  std::vector<std::vector<int32_t>> stacks;
  for (int32_t n : configs_[size_t(cfg)]) {
    std::vector<int32_t> s;
    if (n == kAccept) {
      s.push_back(kKeyAccept);
    } else {
      int32_t p = n;
      int k = 0;
      for (; p >= 0 && p != kSentinel && k < depth; ++k, p = nodes_[size_t(p)].parent) {
        s.push_back(nodes_[size_t(p)].pos);
      }
      s.push_back(p < 0 ? kKeyRoot : kKeySentinel);
    }
    stacks.push_back(std::move(s));
  }
  std::sort(stacks.begin(), stacks.end());
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
  std::vector<int32_t> flat;
  for (auto& s : stacks) {
    flat.insert(flat.end(), s.begin(), s.end());
    flat.push_back(kKeySep);
  }
  return ints_to_string(flat);
}

int32_t StackSpace::from_key(const std::string& key) {
  std::vector<int32_t> flat(key.size() / sizeof(int32_t));
  if (!flat.empty()) std::memcpy(flat.data(), key.data(), key.size());
  std::vector<int32_t> tops;
  size_t i = 0;
  while (i < flat.size()) {
    size_t j = i;
    while (flat[j] != kKeySep) ++j;
    if (flat[i] == kKeyAccept) {
      tops.push_back(kAccept);
    } else {
      int32_t parent = flat[j - 1] == kKeyRoot ? -1 : kSentinel;
      for (size_t k = j - 1; k-- > i;) parent = node(flat[k], parent);
      tops.push_back(parent);
    }
    i = j + 1;
  }
  scratch_ = std::move(tops);
  return intern();
}

}  // namespace yun::grammar
