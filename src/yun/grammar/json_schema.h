// JSON Schema -> grammar rules: the output is one JSON value that validates.
//
// Enforced (draft 2020-12 and draft-07 spellings):
//   type (a name or a list), enum, const, anyOf, oneOf (compiled as anyOf:
//   exclusivity is not enforced, so give oneOf branches disjoint shapes),
//   allOf (merged: objects, and scalar keywords that agree), $ref to "#..."
//   JSON pointers ($defs, definitions, "#" itself; recursion allowed),
//   object: properties, required, additionalProperties (false, true or a
//   schema);
//   array: items (a schema or false), prefixItems, minItems, maxItems;
//   string: minLength, maxLength (code points; not together with pattern),
//   pattern (regex.h's subset; unanchored as JSON Schema says), format:
//   date (days 01-31 whatever the month), time and date-time (RFC 3339,
//   "Z" or an offset, leap second :60), uuid, email (dot-atom local part,
//   a domain with a dot), ipv4 (no leading zeros); any other format is an
//   error;
//   integer and number: minimum, maximum, exclusiveMinimum, exclusiveMaximum
//   (for numbers only integer-valued bounds).
// Ignored (annotations): title, description, default, examples, $schema,
// $id, $comment, $anchor, deprecated, readOnly, writeOnly, contentEncoding,
// contentMediaType, and keywords JSON Schema does not define.
// Any other keyword (not, if/then/else, uniqueItems, multipleOf,
// patternProperties, propertyNames, minProperties, maxProperties, contains,
// dependentRequired, unevaluatedProperties, ...) or a combination the
// grammar cannot express (pattern with minLength, a number bound 0.5) is an
// error naming the keyword and where it is ("#/properties/tags").
//
// The JSON written (as OpenAI's strict mode):
//   - object properties in the schema's order; required ones always, optional
//     ones may be left out; extra properties (additionalProperties true or a
//     schema) only after the declared ones, with keys that are not declared
//     names and use no escapes; additionalProperties absent counts as false;
//   - whitespace: JsonOptions::max_whitespace bytes of space/tab/newline at
//     most between tokens, none before or after the value;
//   - strings: any Unicode text; escapes \" \\ \/ \b \f \n \r \t \uXXXX (no
//     lone surrogates); control characters only escaped;
//   - integers at most 18 digits; numbers: 16 integer digits, 15 fraction
//     digits, 2 exponent digits (no exponent when bounded); so that every
//     value reads back exactly as a double or int64;
//   - enum and const values as compact JSON.
#pragma once

#include <string_view>

#include "yun/base/status.h"
#include "yun/grammar/compile.h"
#include "yun/grammar/grammar.h"

namespace yun::grammar {

Result<int32_t> add_json_schema(GrammarBuilder& b, std::string_view schema_text, const JsonOptions& options);

}  // namespace yun::grammar
