// Grammar: a context-free grammar over bytes, the one form every input of the
// grammar module compiles to (JSON Schema, regex, choice list, EBNF text).
//
// A rule has alternatives; an alternative is a sequence of symbols; a symbol
// is a byte class (a set of the 256 byte values) or a reference to a rule.
// Finished grammars (GrammarBuilder::finish) are checked: every rule derives
// some finite byte string (unproductive alternatives are removed; an
// unproductive root is an error), and no rule is left-recursive (the matcher
// is a top-down pushdown recognizer). A Grammar is immutable after finish()
// and safe to share between threads.
//
// Layout for the matcher: all alternatives live in one flat symbol array; an
// alternative is a run of symbols closed by a kEnd symbol, and a "position"
// is an index into that array.
#pragma once

#include <array>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "yun/base/status.h"

namespace yun::grammar {

using ByteSet = std::bitset<256>;

struct Symbol {
  enum Kind : uint8_t { kBytes, kRule, kEnd };
  Kind kind = kEnd;
  int32_t id = 0;  // kBytes: index into Grammar::classes; kRule: rule index
};

struct Grammar {
  struct Rule {
    std::string name;
    std::vector<int32_t> alts;  // start positions in `symbols`
    bool nullable = false;
  };
  std::vector<ByteSet> classes;
  std::vector<Symbol> symbols;
  std::vector<Rule> rules;
  int32_t root = 0;
  // Bytes that every class treats alike share a representative (the
  // smallest of them): step(config, b) == step(config, byte_rep[b]).
  std::array<uint8_t, 256> byte_rep{};

  // A readable dump (one rule per line, GBNF-like) for tests and errors.
  std::string to_string() const;
};

// Limits on compiling one grammar (a request cannot make the server spin).
struct BuildLimits {
  size_t max_symbols = 2'000'000;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// Builds a Grammar. Errors (a limit passed) are sticky: the first one is kept
// and returned by finish().
class GrammarBuilder {
 public:
  using Seq = std::vector<Symbol>;

  explicit GrammarBuilder(BuildLimits limits = {}) : limits_(limits) {}

  int32_t new_rule(std::string name);
  void add_alt(int32_t rule, Seq seq);
  // Symbols.
  Symbol bytes(const ByteSet& set);
  Symbol byte(uint8_t c);
  Symbol range(uint8_t lo, uint8_t hi);
  static Symbol ref(int32_t rule) { return Symbol{Symbol::kRule, rule}; }
  Seq literal(std::string_view s);
  // Rules made of others (each returns a new rule).
  int32_t seq_rule(std::string name, Seq seq);        // one alternative
  int32_t choice(std::string name, std::vector<Seq> alts);
  int32_t optional(Seq body);                          // body | ""
  int32_t star(Seq body);                              // body*
  int32_t plus(Seq body);                              // body+
  // body{min,max}; max < 0: unbounded.
  int32_t repeat(Seq body, int64_t min, int64_t max);

  void fail(Status s) { if (status_.is_ok()) status_ = std::move(s); }
  const Status& status() const { return status_; }
  // Checks the limits (time and size); false once an error is recorded.
  bool ok();

  // REQUIRES: root is a rule of this builder. Consumes the builder.
  Result<Grammar> finish(int32_t root);

 private:
  BuildLimits limits_;
  Status status_;
  size_t n_symbols_ = 0;
  std::vector<ByteSet> classes_;
  std::unordered_map<ByteSet, int32_t> class_index_;
  std::vector<std::string> names_;
  std::vector<std::vector<Seq>> alts_;
  int checks_ = 0;
};

}  // namespace yun::grammar
