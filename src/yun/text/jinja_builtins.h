// jinja builtins: filters, tests, attribute/item access (with Python str/dict
// methods bound as callables) and the global functions a chat template sees.
// All of these throw jinja::Error on bad arguments, like Jinja2 would raise.
#pragma once

#include <cstdint>
#include <string>

#include "yun/text/jinja_value.h"

namespace yun::jinja {

struct RenderLimits {
  size_t max_output_bytes = size_t(256) << 20;  // also caps any one string or list
  int max_call_depth = 200;                     // macro recursion
  int64_t max_iterations = 50'000'000;          // loop iterations over a whole render
};

// value|name(args...)
Value apply_filter(const std::string& name, const Value& value, CallArgs& args, const RenderLimits& limits);
// value is name(args...)
bool apply_test(const std::string& name, const Value& value, CallArgs& args);
// obj.name: Jinja2's getattr (methods of str/dict first, then dict keys); undefined when absent.
// REQUIRES: obj is not undefined (the caller reports that error).
Value get_attr(const Value& obj, const std::string& name);
// obj[key]: items first, then attributes; undefined when absent.
Value get_item(const Value& obj, const Value& key);
// obj[start:stop:step] on lists and strings (null parts are Python's None).
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
// Elements a for loop visits: list items, dict keys, string characters; undefined -> none.
List iterate(const Value& v);
// range, namespace, dict, raise_exception, strftime_now: added to `globals` (a dict).
void add_globals(Value& globals, const RenderLimits& limits);

}  // namespace yun::jinja
