// GBNF-style grammar text (llama.cpp's GBNF, also what vLLM's guided_grammar
// users write) -> grammar rules.
//
//   root   ::= "{" ws pair ("," ws pair)* "}"   # comments run to the line end
//   pair   ::= [a-z]+ ":" ws value
//   value  ::= "true" | "false" | [0-9]{1,3}
//   ws     ::= [ \t\n]*
//
// Rules `name ::= alternatives`; names are [A-Za-z0-9_-]+. Elements: string
// literals "..." (escapes \n \r \t \\ \" \xHH \uHHHH \UHHHHHHHH), classes
// [...] and [^...] over code points, `.` (any code point), rule names,
// groups (...), and the quantifiers * + ? {n} {n,} {n,m}. The start rule is
// `root` when defined, else the first rule. A name used but never defined,
// or left recursion, is an error.
#pragma once

#include <string_view>

#include "yun/base/status.h"
#include "yun/grammar/grammar.h"

namespace yun::grammar {

Result<int32_t> add_ebnf(GrammarBuilder& b, std::string_view text);

}  // namespace yun::grammar
