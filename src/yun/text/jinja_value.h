// jinja::Value: the dynamic value type of the Jinja2 interpreter behind ChatTemplate.
//
// Values follow Python/Jinja2 semantics: undefined (Jinja2's default Undefined),
// None, bool, int (int64), float, str (UTF-8; lengths and indices count code
// points), list/tuple, dict (insertion ordered; namespace() objects are dicts
// with is_namespace set) and callables (macros, builtins, bound methods).
// Lists, dicts and callables are shared by reference, like Python objects.
//
// Inside the interpreter errors travel as jinja::Error exceptions; they are caught
// at the module boundary (chat_template.cc, jinja_template.h) and never escape it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace yun::jinja {

// A template error (render or parse); internal to the interpreter.
struct Error {
  std::string message;
  bool raised = false;  // from raise_exception(): reported without a location
};
[[noreturn]] void fail(std::string message);

enum class Kind : uint8_t { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable };

struct Value;
using List = std::vector<Value>;
struct Dict;
struct CallArgs;
using NativeFn = std::function<Value(CallArgs&)>;
struct Callable {
  std::string name;
  NativeFn fn;
};

struct Value {
  Kind kind = Kind::kUndefined;
  bool is_tuple = false;      // kList written as a tuple: renders with ( )
  bool is_namespace = false;  // kDict made by namespace(): attributes are assignable
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;  // kString; for kUndefined, a hint for error messages
  std::shared_ptr<List> list;
  std::shared_ptr<Dict> dict;
  std::shared_ptr<Callable> fn;

  static Value undefined(std::string hint = "") {
    Value v;
    v.s = std::move(hint);
    return v;
  }
  static Value none() { Value v; v.kind = Kind::kNone; return v; }
  static Value boolean(bool x) { Value v; v.kind = Kind::kBool; v.b = x; return v; }
  static Value integer(int64_t x) { Value v; v.kind = Kind::kInt; v.i = x; return v; }
  static Value number(double x) { Value v; v.kind = Kind::kFloat; v.f = x; return v; }
  static Value string(std::string x) { Value v; v.kind = Kind::kString; v.s = std::move(x); return v; }
  static Value make_list(List items = {});
  static Value make_tuple(List items);
  static Value make_dict();
  static Value callable(std::string name, NativeFn fn);
  static Value from_json(const nlohmann::ordered_json& j);

  bool is_undefined() const { return kind == Kind::kUndefined; }
  bool is_none() const { return kind == Kind::kNone; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_list() const { return kind == Kind::kList; }
  bool is_dict() const { return kind == Kind::kDict; }
  bool is_number() const { return kind == Kind::kInt || kind == Kind::kFloat || kind == Kind::kBool; }
  double as_double() const { return kind == Kind::kFloat ? f : kind == Kind::kBool ? (b ? 1 : 0) : double(i); }
  int64_t as_int() const { return kind == Kind::kBool ? (b ? 1 : 0) : i; }
};

struct Dict {
  std::vector<std::pair<Value, Value>> items;
  // nullptr when absent.
  const Value* find(const Value& key) const;
  const Value* find(const std::string& key) const;
  void set(const Value& key, Value value);
};

struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  // Argument `index` positionally or `name` by keyword; nullptr when not given.
  const Value* get(size_t index, const std::string& name) const;
};

// Python truthiness (undefined is falsy).
bool truthy(const Value& v);
// Python str(): what {{ v }} prints (undefined -> "", None -> "None", 1.0 -> "1.0").
std::string to_str(const Value& v);
// Python repr() (strings quoted), used inside str() of lists and dicts.
std::string repr(const Value& v);
// json.dumps(v, ensure_ascii=False, indent=indent); indent < 0 means None.
std::string to_json(const Value& v, int indent);
// Python float repr ("1.0", "0.1", "1e+16", "inf", "nan").
std::string float_repr(double x);
// Python ==.
bool equals(const Value& a, const Value& b);
// Python <; fails on unorderable types.
bool less(const Value& a, const Value& b);
// Jinja2/Python type name for messages ("str", "dict", "undefined"...).
std::string type_name(const Value& v);
// Number of UTF-8 code points.
size_t utf8_length(const std::string& s);
// Splits a UTF-8 string into code points.
std::vector<std::string> utf8_chars(const std::string& s);

}  // namespace yun::jinja
