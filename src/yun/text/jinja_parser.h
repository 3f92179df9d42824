// jinja parser: tokens (jinja_lexer.h) -> statement list (jinja_ast.h).
//
// Grammar and operator precedence follow Jinja2: conditional `a if c else b`,
// or, and, not, comparisons (chained, in, not in), `~`, + -, * / // %, **,
// unary -, then postfix (.attr, [index/slice], call) with filters `|f` and
// tests `is [not] t` binding tighter than any binary operator.
// Throws jinja::Error "line L, column C: ..." on syntax errors; nesting deeper
// than kMaxParseDepth is an error too (no stack overflow on hostile input).
#pragma once

#include <string>

#include "yun/text/jinja_ast.h"

namespace yun::jinja {

inline constexpr int kMaxParseDepth = 200;

Body parse_template(const std::string& source);

}  // namespace yun::jinja
