// The JSON building blocks the schema compiler combines: whitespace, any
// value, strings (free, bounded length, keys outside a set), numbers and
// integers within bounds. Shared rules are made once per builder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "yun/grammar/compile.h"
#include "yun/grammar/grammar.h"

namespace yun::grammar {

class JsonRules {
 public:
  using Seq = GrammarBuilder::Seq;
  JsonRules(GrammarBuilder& b, const JsonOptions& o) : b_(b), o_(o) {}

  GrammarBuilder& builder() { return b_; }
  void ws(Seq& s);                 // appends optional whitespace
  Symbol any_value();
  Symbol any_object();
  Symbol string();                 // "..." any content
  Symbol string_char();            // one character of string content
  Symbol string_len(int64_t min, int64_t max);  // max < 0: unbounded
  // A key "..." whose content (no escapes) is none of `names`.
  Symbol key_not_in(const std::vector<std::string>& names);
  Symbol number();                 // unbounded, with fraction and exponent
  // Integers (frac = false) or numbers without exponent (frac = true) in
  // the range; nullopt: unbounded on that side. Exclusive bounds for
  // integers must be converted by the caller.
  struct Bound {
    int64_t v;
    bool exclusive;
  };
  Symbol bounded(std::optional<Bound> lo, std::optional<Bound> hi, bool frac);
  Symbol integer() { return bounded(std::nullopt, std::nullopt, false); }
  Symbol literal_rule(const std::string& bytes);

 private:
  // Digit strings (no leading zeros) of values in [a, b]; b < 0: unbounded.
  Symbol digits(int64_t a, int64_t b);
  Seq digits_same_len(const std::string& lo, const std::string& hi);
  void split_digits(const std::string& L, const std::string& H, size_t i, Seq prefix, std::vector<Seq>& out);
  // Non-negative written values I(.ddd)? in the bounded range.
  void nonneg(Bound lo, std::optional<Bound> hi, bool frac, std::vector<Seq>& alts);
  Symbol frac_any();
  Symbol frac_zero();
  Symbol frac_nonzero();

  GrammarBuilder& b_;
  JsonOptions o_;
  int32_t ws_ = -1, value_ = -1, object_ = -1, array_ = -1, string_ = -1, number_ = -1, char_ = -1;
  int32_t frac_any_ = -1, frac_zero_ = -1, frac_nonzero_ = -1;
};

}  // namespace yun::grammar
