// jinja filters and tests (see jinja_builtins.h), following Jinja2's builtins.
#include <algorithm>
#include <cmath>

#include "yun/text/jinja_builtins.h"
#include "yun/text/jinja_strings.h"

namespace yun::jinja {
namespace {

bool arg_bool(const CallArgs& a, size_t i, const std::string& name, bool def) {
  const Value* v = a.get(i, name);
  return v ? truthy(*v) : def;
}

int64_t arg_int(const CallArgs& a, size_t i, const std::string& name, int64_t def) {
  const Value* v = a.get(i, name);
  if (!v || v->is_none()) return def;
  if (v->kind != Kind::kInt && v->kind != Kind::kBool) fail("filter argument '" + name + "' must be an integer");
  return v->as_int();
}

// Attribute path "a.b" or an integer index, like Jinja2's make_attrgetter.
Value attr_path(const Value& item, const Value& attribute) {
  if (attribute.kind == Kind::kInt) return get_item(item, attribute);
  Value cur = item;
  std::string path = to_str(attribute);
  size_t pos = 0;
  while (true) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (cur.is_undefined()) return cur;
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = numeric ? get_item(cur, Value::integer(std::stoll(part))) : get_item(cur, Value::string(part));
    if (dot == std::string::npos) return cur;
    pos = dot + 1;
  }
}

Value length_of(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined: return Value::integer(0);
    case Kind::kString: return Value::integer(int64_t(utf8_length(v.s)));
    case Kind::kList: return Value::integer(int64_t(v.list->size()));
    case Kind::kDict: return Value::integer(int64_t(v.dict->items.size()));
    default: fail("object of type '" + type_name(v) + "' has no len()");
  }
}

Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.kind == Kind::kString) return Value::string(str_lower(v.s));
  return v;
}

// select/reject/selectattr/rejectattr
Value select_items(const Value& value, CallArgs& args, bool by_attr, bool keep) {
  CallArgs rest;
  size_t first = 0;
  Value attribute;
  if (by_attr) {
    if (args.pos.empty()) fail("selectattr/rejectattr need an attribute");
    attribute = args.pos[0];
    first = 1;
  }
  std::string test;
  if (args.pos.size() > first) {
    test = to_str(args.pos[first]);
    rest.pos.assign(args.pos.begin() + long(first) + 1, args.pos.end());
  }
  rest.kw = args.kw;
  List out;
  for (const auto& item : iterate(value)) {
    Value subject = by_attr ? attr_path(item, attribute) : item;
    CallArgs a = rest;
    bool ok = test.empty() ? truthy(subject) : apply_test(test, subject, a);
    if (ok == keep) out.push_back(item);
  }
  return Value::make_list(std::move(out));
}

Value do_round(const Value& v, CallArgs& args) {
  if (!v.is_number()) fail("round filter expects a number");
  int64_t precision = arg_int(args, 0, "precision", 0);
  const Value* m = args.get(1, "method");
  std::string method = m ? to_str(*m) : "common";
  double scale = std::pow(10.0, double(precision));
  double x = v.as_double() * scale;
  if (method == "common") x = std::nearbyint(x);
  else if (method == "ceil") x = std::ceil(x);
  else if (method == "floor") x = std::floor(x);
  else fail("round: method must be common, ceil or floor");
  return Value::number(x / scale);
}

Value do_indent(const Value& v, CallArgs& args) {
  const Value* w = args.get(0, "width");
  std::string pad = !w ? "    " : w->kind == Kind::kString ? w->s : std::string(size_t(std::max<int64_t>(0, w->as_int())), ' ');
  bool first = arg_bool(args, 1, "first", false);
  bool blank = arg_bool(args, 2, "blank", false);
  std::string s = to_str(v);
  std::string out;
  size_t pos = 0;
  bool is_first = true;
  while (true) {
    size_t q = s.find('\n', pos);
    std::string line = s.substr(pos, q == std::string::npos ? std::string::npos : q - pos);
    bool indent = (!is_first || first) && (blank || !line.empty());
    if (!is_first) out += '\n';
    if (indent) out += pad;
    out += line;
    is_first = false;
    if (q == std::string::npos) break;
    pos = q + 1;
  }
  return Value::string(std::move(out));
}

}  // namespace

Value apply_filter(const std::string& name, const Value& v, CallArgs& args, const RenderLimits& limits) {
  if (name == "tojson") {
    const Value* ind = args.get(0, "indent");
    int indent = ind && !ind->is_none() ? int(std::clamp<int64_t>(ind->as_int(), 0, 64)) : -1;
    return Value::string(to_json(v, indent));
  }
  if (name == "safe" || name == "e" || name == "escape" || name == "forceescape") {
    return v.kind == Kind::kString ? v : Value::string(to_str(v));
  }
  if (name == "string") return v.kind == Kind::kString ? v : Value::string(to_str(v));
  if (name == "trim") {
    const Value* c = args.get(0, "chars");
    std::string cs = c && !c->is_none() ? to_str(*c) : "";
    return Value::string(str_strip(to_str(v), c && !c->is_none() ? &cs : nullptr, true, true));
  }
  if (name == "length" || name == "count") return length_of(v);
  if (name == "upper") return Value::string(str_upper(to_str(v)));
  if (name == "lower") return Value::string(str_lower(to_str(v)));
  if (name == "title") return Value::string(jinja_title(to_str(v)));
  if (name == "capitalize") return Value::string(str_capitalize(to_str(v)));
  if (name == "default" || name == "d") {
    const Value* def = args.get(0, "default_value");
    bool boolean = arg_bool(args, 1, "boolean", false);
    if (v.is_undefined() || (boolean && !truthy(v))) return def ? *def : Value::string("");
    return v;
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::make_list();
    if (v.kind != Kind::kDict) fail("items filter expects a mapping");
    List out;
    for (const auto& [k, e] : v.dict->items) out.push_back(Value::make_tuple({k, e}));
    return Value::make_list(std::move(out));
  }
  if (name == "list") return Value::make_list(iterate(v));
  if (name == "first" || name == "last") {
    List items = iterate(v);
    if (items.empty()) return Value::undefined("no first/last item of an empty sequence");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    if (v.kind == Kind::kString) {
      auto chars = utf8_chars(v.s);
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
      return Value::string(std::move(out));
    }
    List items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::make_list(std::move(items));
  }
  if (name == "join") {
    const Value* sep = args.get(0, "d");
    const Value* attribute = args.get(1, "attribute");
    std::string s = sep ? to_str(*sep) : "";
    std::string out;
    bool first = true;
    for (const auto& item : iterate(v)) {
      if (!first) out += s;
      first = false;
      out += to_str(attribute ? attr_path(item, *attribute) : item);
      if (out.size() > limits.max_output_bytes) fail("join: result too large");
    }
    return Value::string(std::move(out));
  }
  if (name == "int") {
    int64_t def = arg_int(args, 0, "default", 0);
    if (v.kind == Kind::kInt || v.kind == Kind::kBool) return Value::integer(v.as_int());
    if (v.kind == Kind::kFloat) {
      if (!std::isfinite(v.f) || std::fabs(v.f) > 9.2e18) return Value::integer(def);
      return Value::integer(int64_t(v.f));
    }
    if (v.kind == Kind::kString) {
      std::string s = str_strip(v.s, nullptr, true, true);
      char* end = nullptr;
      errno = 0;
      long long x = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && end && *end == '\0' && errno == 0) return Value::integer(x);
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end && *end == '\0' && std::isfinite(d) && std::fabs(d) < 9.2e18) {
        return Value::integer(int64_t(d));
      }
    }
    return Value::integer(def);
  }
  if (name == "float") {
    const Value* def = args.get(0, "default");
    if (v.is_number()) return Value::number(v.as_double());
    if (v.kind == Kind::kString) {
      std::string s = str_strip(v.s, nullptr, true, true);
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end && *end == '\0') return Value::number(d);
    }
    return def ? *def : Value::number(0.0);
  }
  if (name == "abs") {
    if (v.kind == Kind::kInt || v.kind == Kind::kBool) return Value::integer(std::llabs(v.as_int()));
    if (v.kind == Kind::kFloat) return Value::number(std::fabs(v.f));
    fail("bad operand type for abs(): '" + type_name(v) + "'");
  }
  if (name == "round") return do_round(v, args);
  if (name == "indent") return do_indent(v, args);
  if (name == "replace") {
    const Value* from = args.get(0, "old");
    const Value* to = args.get(1, "new");
    if (!from || !to) fail("replace filter needs old and new");
    return Value::string(str_replace(to_str(v), to_str(*from), to_str(*to), arg_int(args, 2, "count", -1)));
  }
  if (name == "map") {
    List out;
    const Value* attribute = nullptr;
    for (const auto& [k, e] : args.kw) {
      if (k == "attribute") attribute = &e;
    }
    if (attribute) {
      const Value* def = nullptr;
      for (const auto& [k, e] : args.kw) {
        if (k == "default") def = &e;
      }
      for (const auto& item : iterate(v)) {
        Value x = attr_path(item, *attribute);
        out.push_back(x.is_undefined() && def ? *def : x);
      }
      return Value::make_list(std::move(out));
    }
    if (args.pos.empty()) fail("map needs a filter name or attribute=");
    std::string filter = to_str(args.pos[0]);
    for (const auto& item : iterate(v)) {
      CallArgs a;
      a.pos.assign(args.pos.begin() + 1, args.pos.end());
      a.kw = args.kw;
      out.push_back(apply_filter(filter, item, a, limits));
    }
    return Value::make_list(std::move(out));
  }
  if (name == "select") return select_items(v, args, false, true);
  if (name == "reject") return select_items(v, args, false, false);
  if (name == "selectattr") return select_items(v, args, true, true);
  if (name == "rejectattr") return select_items(v, args, true, false);
  if (name == "unique" || name == "sort" || name == "min" || name == "max") {
    bool is_sort = name == "sort";
    bool reverse = is_sort && arg_bool(args, 0, "reverse", false);
    bool cs = arg_bool(args, is_sort ? 1 : 0, "case_sensitive", false);
    const Value* attribute = args.get(is_sort ? 2 : 1, "attribute");
    List items = iterate(v);
    auto key = [&](const Value& x) { return sort_key(attribute ? attr_path(x, *attribute) : x, cs); };
    if (name == "unique") {
      List out, seen;
      for (const auto& item : items) {
        Value k = key(item);
        bool dup = std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); });
        if (!dup) {
          seen.push_back(k);
          out.push_back(item);
        }
      }
      return Value::make_list(std::move(out));
    }
    if (name != "sort") {
      if (items.empty()) return Value::undefined("no min/max of an empty sequence");
      size_t best = 0;
      for (size_t k = 1; k < items.size(); ++k) {
        bool better = name == "min" ? less(key(items[k]), key(items[best])) : less(key(items[best]), key(items[k]));
        if (better) best = k;
      }
      return items[best];
    }
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      return reverse ? less(key(b), key(a)) : less(key(a), key(b));
    });
    return Value::make_list(std::move(items));
  }
  if (name == "dictsort") {
    if (v.kind != Kind::kDict) fail("dictsort expects a mapping");
    bool cs = arg_bool(args, 0, "case_sensitive", false);
    const Value* by = args.get(1, "by");
    bool by_value = by && to_str(*by) == "value";
    bool reverse = arg_bool(args, 2, "reverse", false);
    List items;
    for (const auto& [k, e] : v.dict->items) items.push_back(Value::make_tuple({k, e}));
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      const Value& ka = (*a.list)[by_value ? 1 : 0];
      const Value& kb = (*b.list)[by_value ? 1 : 0];
      return reverse ? less(sort_key(kb, cs), sort_key(ka, cs)) : less(sort_key(ka, cs), sort_key(kb, cs));
    });
    return Value::make_list(std::move(items));
  }
  if (name == "sum") {
    const Value* attribute = args.get(0, "attribute");
    const Value* start = args.get(1, "start");
    Value total = start ? *start : Value::integer(0);
    for (const auto& item : iterate(v)) {
      Value x = attribute ? attr_path(item, *attribute) : item;
      if (!x.is_number() || !total.is_number()) fail("sum expects numbers");
      if (x.kind == Kind::kFloat || total.kind == Kind::kFloat) total = Value::number(total.as_double() + x.as_double());
      else total = Value::integer(total.as_int() + x.as_int());
    }
    return total;
  }
  if (name == "attr") {
    const Value* a = args.get(0, "name");
    if (!a) fail("attr filter needs a name");
    if (v.is_undefined()) fail("attribute of an undefined value");
    return get_attr(v, to_str(*a));
  }
  if (name == "wordcount") return Value::integer(str_word_count(to_str(v)));
  fail("no filter named '" + name + "'");
}

bool apply_test(const std::string& name, const Value& v, CallArgs& args) {
  auto arg = [&]() -> const Value& {
    if (args.pos.empty()) fail("test '" + name + "' needs an argument");
    return args.pos[0];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.kind == Kind::kString;
  if (name == "mapping") return v.kind == Kind::kDict;
  if (name == "iterable") return v.kind == Kind::kList || v.kind == Kind::kDict || v.kind == Kind::kString || v.is_undefined();
  if (name == "sequence") return v.kind == Kind::kList || v.kind == Kind::kDict || v.kind == Kind::kString;
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind == Kind::kInt;
  if (name == "float") return v.kind == Kind::kFloat;
  if (name == "boolean") return v.kind == Kind::kBool;
  if (name == "false") return v.kind == Kind::kBool && !v.b;
  if (name == "true") return v.kind == Kind::kBool && v.b;
  if (name == "callable") return v.kind == Kind::kCallable;
  if (name == "odd" || name == "even") {
    if (v.kind != Kind::kInt && v.kind != Kind::kBool) fail("odd/even test expects an integer");
    int64_t r = ((v.as_int() % 2) + 2) % 2;
    return name == "odd" ? r == 1 : r == 0;
  }
  if (name == "divisibleby") {
    const Value& d = arg();
    if (!v.is_number() || !d.is_number()) fail("divisibleby expects numbers");
    if (d.as_double() == 0) fail("integer division or modulo by zero");
    if (v.kind == Kind::kFloat || d.kind == Kind::kFloat) return std::fmod(v.as_double(), d.as_double()) == 0;
    return v.as_int() % d.as_int() == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return equals(v, arg());
  if (name == "ne" || name == "!=") return !equals(v, arg());
  if (name == "lt" || name == "lessthan" || name == "<") return less(v, arg());
  if (name == "le" || name == "<=") return !less(arg(), v);
  if (name == "gt" || name == "greaterthan" || name == ">") return less(arg(), v);
  if (name == "ge" || name == ">=") return !less(v, arg());
  if (name == "in") {
    const Value& c = arg();
    if (c.kind == Kind::kString) return v.kind == Kind::kString && c.s.find(v.s) != std::string::npos;
    if (c.kind == Kind::kDict) return c.dict->find(v) != nullptr;
    for (const auto& e : iterate(c)) {
      if (equals(e, v)) return true;
    }
    return false;
  }
  if (name == "sameas") {
    const Value& o = arg();
    if (v.kind != o.kind) return false;
    if (v.kind == Kind::kList) return v.list == o.list;
    if (v.kind == Kind::kDict) return v.dict == o.dict;
    return equals(v, o);
  }
  if (name == "lower") return v.kind == Kind::kString && str_lower(v.s) == v.s;
  if (name == "upper") return v.kind == Kind::kString && str_upper(v.s) == v.s;
  fail("no test named '" + name + "'");
}

}  // namespace yun::jinja
