#include "yun/grammar/grammar.h"

#include <cstdio>
#include <functional>
#include <unordered_map>

namespace yun::grammar {

namespace {

std::string class_to_string(const ByteSet& s) {
  if (s.count() == 1) {
    for (int c = 0; c < 256; ++c) {
      if (s[c]) {
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') return std::string("\"") + char(c) + "\"";
        char buf[16];
        std::snprintf(buf, sizeof buf, "\"\\x%02X\"", c);
        return buf;
      }
    }
  }
  std::string out = "[";
  for (int c = 0; c < 256;) {
    if (!s[c]) { ++c; continue; }
    int e = c;
    while (e + 1 < 256 && s[e + 1]) ++e;
    auto one = [&](int v) {
      char buf[8];
      if (v >= 0x21 && v < 0x7f && v != ']' && v != '\\' && v != '-' && v != '^') {
        out += char(v);
      } else {
        std::snprintf(buf, sizeof buf, "\\x%02X", v);
        out += buf;
      }
    };
    one(c);
    if (e > c) { out += '-'; one(e); }
    c = e + 1;
  }
  return out + "]";
}

}  // namespace

std::string Grammar::to_string() const {
  std::string out;
  for (size_t r = 0; r < rules.size(); ++r) {
    out += rules[r].name + " ::=";
    for (size_t a = 0; a < rules[r].alts.size(); ++a) {
      out += a ? " |" : "";
      int32_t p = rules[r].alts[a];
      if (symbols[p].kind == Symbol::kEnd) out += " \"\"";
      for (; symbols[p].kind != Symbol::kEnd; ++p) {
        const Symbol& s = symbols[p];
        out += ' ';
        out += s.kind == Symbol::kRule ? rules[s.id].name : class_to_string(classes[s.id]);
      }
    }
    out += '\n';
  }
  return out;
}

bool GrammarBuilder::ok() {
  if (!status_.is_ok()) return false;
  if (n_symbols_ > limits_.max_symbols) {
    fail(resource_exhausted("grammar too large (more than " + std::to_string(limits_.max_symbols) +
                            " symbols)"));
    return false;
  }
  if ((++checks_ & 63) == 0 && std::chrono::steady_clock::now() > limits_.deadline) {
    fail(resource_exhausted("grammar compile time limit exceeded"));
    return false;
  }
  return true;
}

int32_t GrammarBuilder::new_rule(std::string name) {
  ok();
  names_.push_back(std::move(name));
  alts_.emplace_back();
  return int32_t(names_.size() - 1);
}

void GrammarBuilder::add_alt(int32_t rule, Seq seq) {
  n_symbols_ += seq.size() + 1;
  alts_[size_t(rule)].push_back(std::move(seq));
}

Symbol GrammarBuilder::bytes(const ByteSet& set) {
  auto [it, fresh] = class_index_.try_emplace(set, int32_t(classes_.size()));
  if (fresh) classes_.push_back(set);
  return Symbol{Symbol::kBytes, it->second};
}

Symbol GrammarBuilder::byte(uint8_t c) {
  ByteSet s;
  s.set(c);
  return bytes(s);
}

Symbol GrammarBuilder::range(uint8_t lo, uint8_t hi) {
  ByteSet s;
  for (int c = lo; c <= hi; ++c) s.set(size_t(c));
  return bytes(s);
}

GrammarBuilder::Seq GrammarBuilder::literal(std::string_view s) {
  Seq out;
  out.reserve(s.size());
  for (unsigned char c : s) out.push_back(byte(c));
  return out;
}

int32_t GrammarBuilder::seq_rule(std::string name, Seq seq) {
  int32_t r = new_rule(std::move(name));
  add_alt(r, std::move(seq));
  return r;
}

int32_t GrammarBuilder::choice(std::string name, std::vector<Seq> alts) {
  int32_t r = new_rule(std::move(name));
  for (auto& a : alts) add_alt(r, std::move(a));
  return r;
}

int32_t GrammarBuilder::optional(Seq body) {
  int32_t r = new_rule("opt" + std::to_string(names_.size()));
  add_alt(r, std::move(body));
  add_alt(r, {});
  return r;
}

int32_t GrammarBuilder::star(Seq body) {
  // r ::= body r | "" : right recursion; the tail reference costs no stack.
  int32_t r = new_rule("star" + std::to_string(names_.size()));
  body.push_back(ref(r));
  add_alt(r, std::move(body));
  add_alt(r, {});
  return r;
}

int32_t GrammarBuilder::plus(Seq body) {
  Seq first = body;
  first.push_back(ref(star(std::move(body))));
  return seq_rule("plus" + std::to_string(names_.size()), std::move(first));
}

int32_t GrammarBuilder::repeat(Seq body, int64_t min, int64_t max) {
  if (body.size() > 1) body = {ref(seq_rule("item" + std::to_string(names_.size()), std::move(body)))};
  Seq out;
  for (int64_t i = 0; i < min && ok(); ++i) out.insert(out.end(), body.begin(), body.end());
  if (max < 0) {
    out.push_back(ref(star(body)));
  } else if (max > min) {
    // tail_k ::= body tail_{k-1} | "" ; tail_1 ::= body | "".
    int32_t tail = optional(body);
    for (int64_t k = 2; k <= max - min && ok(); ++k) {
      Seq s = body;
      s.push_back(ref(tail));
      tail = optional(std::move(s));
    }
    out.push_back(ref(tail));
  }
  return seq_rule("rep" + std::to_string(names_.size()), std::move(out));
}

Result<Grammar> GrammarBuilder::finish(int32_t root) {
  if (!status_.is_ok()) return status_;
  const size_t n = alts_.size();
  // Productive rules (derive some finite string), to a fixpoint.
  std::vector<char> productive(n, 0);
  auto sym_productive = [&](const Symbol& s) {
    return s.kind == Symbol::kRule ? productive[size_t(s.id)] != 0 : classes_[size_t(s.id)].any();
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < n; ++r) {
      if (productive[r]) continue;
      for (const Seq& a : alts_[r]) {
        bool all = true;
        for (const Symbol& s : a) all = all && sym_productive(s);
        if (all) { productive[r] = 1; changed = true; break; }
      }
    }
  }
  if (!productive[size_t(root)]) {
    return invalid_argument("the grammar admits no finite output (every alternative of '" +
                            names_[size_t(root)] + "' needs an infinite derivation or an empty set)");
  }
  for (size_t r = 0; r < n; ++r) {
    std::erase_if(alts_[r], [&](const Seq& a) {
      for (const Symbol& s : a) if (!sym_productive(s)) return true;
      return false;
    });
  }
  // Nullable rules.
  std::vector<char> nullable(n, 0);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < n; ++r) {
      if (nullable[r]) continue;
      for (const Seq& a : alts_[r]) {
        bool all = true;
        for (const Symbol& s : a) all = all && s.kind == Symbol::kRule && nullable[size_t(s.id)];
        if (all) { nullable[r] = 1; changed = true; break; }
      }
    }
  }
  // Left recursion: a cycle through leftmost references (past nullable prefixes).
  std::vector<std::vector<int32_t>> left(n);
  for (size_t r = 0; r < n; ++r) {
    for (const Seq& a : alts_[r]) {
      for (const Symbol& s : a) {
        if (s.kind != Symbol::kRule) break;
        left[r].push_back(s.id);
        if (!nullable[size_t(s.id)]) break;
      }
    }
  }
  std::vector<char> color(n, 0);  // 0 new, 1 on stack, 2 done
  std::string cycle;
  std::function<bool(size_t)> dfs = [&](size_t r) {
    color[r] = 1;
    for (int32_t t : left[r]) {
      if (color[size_t(t)] == 1) { cycle = names_[size_t(t)]; return true; }
      if (color[size_t(t)] == 0 && dfs(size_t(t))) return true;
    }
    color[r] = 2;
    return false;
  };
  for (size_t r = 0; r < n; ++r) {
    if (color[r] == 0 && dfs(r)) {
      return invalid_argument("left recursion in rule '" + cycle +
                              "' (write it with repetition: a ::= b c*)");
    }
  }
  Grammar g;
  {
    std::unordered_map<std::string, uint8_t> first;
    for (int b = 0; b < 256; ++b) {
      std::string sig(classes_.size(), '0');
      for (size_t k = 0; k < classes_.size(); ++k) sig[k] = classes_[k][size_t(b)] ? '1' : '0';
      auto [it, fresh] = first.try_emplace(std::move(sig), uint8_t(b));
      g.byte_rep[size_t(b)] = it->second;
    }
  }
  g.classes = std::move(classes_);
  g.root = root;
  g.rules.resize(n);
  for (size_t r = 0; r < n; ++r) {
    g.rules[r].name = std::move(names_[r]);
    g.rules[r].nullable = nullable[r] != 0;
    for (const Seq& a : alts_[r]) {
      g.rules[r].alts.push_back(int32_t(g.symbols.size()));
      g.symbols.insert(g.symbols.end(), a.begin(), a.end());
      g.symbols.push_back(Symbol{});
    }
  }
  return g;
}

}  // namespace yun::grammar
