// Regular expressions -> grammar rules.
//
// The subset (ECMAScript / Python syntax): literals (UTF-8), `.` (any code
// point but \n and \r), classes `[a-z_]`, `[^...]`, escapes \d \D \w \W \s \S
// \t \n \r \f \v \0 \xHH \uHHHH \u{H...} and escaped metacharacters,
// groups `(...)`, `(?:...)`, `(?<name>...)`, alternation `|`, quantifiers
// `*` `+` `?` `{n}` `{n,}` `{n,m}` (lazy `?` suffixes accepted: a grammar
// has no preference), `^` at the start and `$` at the end. Not supported (an
// error naming the construct and its offset): backreferences, lookaround,
// word boundaries \b \B, anchors inside the pattern, flags, possessive
// quantifiers; a repeated group that can match the empty text, like
// `(a*)*`, is refused as left recursion (write `a*`). As in ECMAScript, `[]`
// matches nothing and `[^]` any character.
//
// The match is always whole-text; `search` (JSON Schema's `pattern`, which
// is unanchored) adds "any text" before a pattern without `^` and after one
// without `$`.
#pragma once

#include <string_view>

#include "yun/base/status.h"
#include "yun/grammar/codepoints.h"
#include "yun/grammar/grammar.h"

namespace yun::grammar {

// kRaw: the rule matches the text's UTF-8 bytes. kJsonString: the text is
// the decoded content of a JSON string; the rule matches its escaped form
// (between the quotes).
enum class RegexMode { kRaw, kJsonString };

Result<int32_t> add_regex(GrammarBuilder& b, std::string_view pattern, RegexMode mode, bool search = false);

}  // namespace yun::grammar
