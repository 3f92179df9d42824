// Bounds on JSON from outside the process (HTTP bodies, model files, text a
// model wrote), enforced before any recursive code sees the document.
//
// check_json_limits() is an iterative pre-scan of the raw bytes: it walks the
// structure with an explicit stack (tracking string and escape state), so a
// document nested 100,000 deep costs it no stack. It rejects a document deeper,
// longer-stringed, wider or bigger than the limits, and any byte but whitespace
// after the top-level value. parse_json_bounded() runs it and then nlohmann's
// parser (without exceptions). Every place that parses external JSON calls
// parse_json_bounded() with one of the two presets; nothing else decides these
// numbers.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "yun/base/status.h"

namespace yun {

// The defaults are request()'s.
struct JsonLimits {
  int max_depth = 64;                          // arrays/objects open at once (a scalar: 0)
  size_t max_string_bytes = size_t(32) << 20;  // bytes between the quotes (as written), keys too
  size_t max_elements = size_t(1) << 20;       // items of one array, members of one object
  size_t max_nodes = size_t(4) << 20;          // values in the document (containers, scalars)

  // An HTTP request body (at most 32 MiB): depth 64 (OpenAI's own schemas nest
  // well under 20; JSON Schema tool parameters a few levels more); a string may
  // fill the body (a base64 image); 1M elements per container (a 128k-token
  // prompt as ids is 128k) and 4M values in all, which bounds the DOM nlohmann
  // builds to a few hundred MiB however the 32 MiB are spent.
  static JsonLimits request();
  // A model file (tokenizer.json, tokenizer_config.json, config.json,
  // generation_config.json, a safetensors header): depth 256; 64 MiB strings;
  // 4M elements per container and 16M values (the 11 MB Qwen tokenizer.json has
  // ~151k vocab entries and ~150k merges, ~0.5M values; a safetensors header of
  // a large MoE ~20k tensors).
  static JsonLimits model_file();
};

// OK when `text` is one JSON value within `limits` followed only by whitespace;
// kInvalidArgument otherwise, the message naming the limit hit ("JSON nesting
// deeper than 64", "JSON string longer than N bytes", "JSON array or object with
// more than N elements", "JSON document with more than N values", "trailing
// bytes after the JSON value at byte K") or the structural error found
// ("malformed JSON at byte K: ..."). It checks structure, not scalar spelling
// (numbers, literals, escapes, UTF-8): the parser after it does that. Never
// throws; uses O(depth) memory.
Status check_json_limits(std::string_view text, const JsonLimits& limits);

// True when `s` is check_json_limits() reporting one of the four limits (not a
// structural error nor trailing bytes): for callers that keep malformed JSON as
// text but must still refuse a bomb.
bool is_json_limit_error(const Status& s);

// check_json_limits(), then nlohmann's parser. kInvalidArgument with the
// limit's message, or "malformed JSON" when the parser rejects the text.
// Never throws. J is nlohmann::ordered_json or nlohmann::json.
template <typename J = nlohmann::ordered_json>
Result<J> parse_json_bounded(std::string_view text, const JsonLimits& limits);

extern template Result<nlohmann::ordered_json> parse_json_bounded(std::string_view,
                                                                  const JsonLimits&);
extern template Result<nlohmann::json> parse_json_bounded(std::string_view, const JsonLimits&);

}  // namespace yun
