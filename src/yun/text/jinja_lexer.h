// jinja lexer: template source -> tokens, with Jinja2's whitespace control.
//
// Applies `{%-`/`-%}`/`{{-`/`-}}`/`{#-`/`-#}`, and the transformers settings
// trim_blocks (drop the first newline after a block or comment tag) and
// lstrip_blocks (drop spaces/tabs before a block or comment tag that starts
// its line; `{%+` opts out). Like Jinja2, \r\n and \r become \n and one trailing
// newline of the source is dropped. Comments vanish. `{% raw %}...{% endraw %}` becomes text.
// Throws jinja::Error "line L, column C: ..." on malformed input.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace yun::jinja {

enum class Tok : uint8_t {
  kText, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd,
  kName, kString, kInt, kFloat, kOp, kEof
};

struct Token {
  Tok type;
  std::string text;  // text, name, decoded string literal, or operator
  int64_t i = 0;
  double f = 0;
  int line = 1, col = 1;
};

std::vector<Token> tokenize(const std::string& source);

}  // namespace yun::jinja
