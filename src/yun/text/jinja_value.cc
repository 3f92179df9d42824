// jinja::Value: construction, conversions (str/repr/json) and comparisons.
#include "yun/text/jinja_value.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace yun::jinja {

void fail(std::string message) { throw Error{std::move(message)}; }

namespace {
// Bounds recursion over nested values (a loop can nest lists arbitrarily deep).
thread_local int g_depth = 0;
struct NestGuard {
  NestGuard() {
    if (++g_depth > 512) {
      --g_depth;
      fail("value nested too deeply");
    }
  }
  ~NestGuard() { --g_depth; }
};
}  // namespace

namespace {
// Lists and dicts are freed iteratively. A template can nest a value a million
// deep (a loop wrapping a list in a list); destroying it by plain recursion
// would take a stack as deep. Deleting one container drops its children's
// references, whose deleters only queue them while the first one drains.
struct Pending {
  List* list = nullptr;
  Dict* dict = nullptr;
};
thread_local std::vector<Pending> t_pending;
thread_local bool t_draining = false;

void free_later(Pending p) {
  t_pending.push_back(p);
  if (t_draining) return;
  t_draining = true;
  while (!t_pending.empty()) {
    Pending next = t_pending.back();
    t_pending.pop_back();
    delete next.list;
    delete next.dict;
  }
  t_draining = false;
}

struct FreeLater {
  void operator()(List* l) const { free_later({l, nullptr}); }
  void operator()(Dict* d) const { free_later({nullptr, d}); }
};
}  // namespace

Value Value::make_list(List items) {
  Value v;
  v.kind = Kind::kList;
  v.list = std::shared_ptr<List>(new List(std::move(items)), FreeLater{});
  return v;
}

Value Value::make_tuple(List items) {
  Value v = make_list(std::move(items));
  v.is_tuple = true;
  return v;
}

Value Value::make_dict() {
  Value v;
  v.kind = Kind::kDict;
  v.dict = std::shared_ptr<Dict>(new Dict(), FreeLater{});
  return v;
}

Value Value::callable(std::string name, NativeFn fn) {
  Value v;
  v.kind = Kind::kCallable;
  v.fn = std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  NestGuard guard;  // callers bound external JSON (json_limits.h); this bounds the rest
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
      return integer(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return number(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return make_list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value d = make_dict();
      for (auto it = j.begin(); it != j.end(); ++it) {
        d.dict->items.emplace_back(string(it.key()), from_json(it.value()));
      }
      return d;
    }
    default: return none();
  }
}

const Value* Dict::find(const Value& key) const {
  for (const auto& [k, v] : items) {
    if (equals(k, key)) return &v;
  }
  return nullptr;
}

const Value* Dict::find(const std::string& key) const {
  for (const auto& [k, v] : items) {
    if (k.kind == Kind::kString && k.s == key) return &v;
  }
  return nullptr;
}

void Dict::set(const Value& key, Value value) {
  for (auto& [k, v] : items) {
    if (equals(k, key)) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

const Value* CallArgs::get(size_t index, const std::string& name) const {
  if (index < pos.size()) return &pos[index];
  for (const auto& [k, v] : kw) {
    if (k == name) return &v;
  }
  return nullptr;
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return v.b;
    case Kind::kInt: return v.i != 0;
    case Kind::kFloat: return v.f != 0;
    case Kind::kString: return !v.s.empty();
    case Kind::kList: return !v.list->empty();
    case Kind::kDict: return !v.dict->items.empty();
    case Kind::kCallable: return true;
  }
  return false;
}

std::string float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t epos = sci.find('e');
  std::string digits;
  for (size_t k = 0; k < epos; ++k) {
    if (sci[k] != '.') digits += sci[k];
  }
  int exp = std::stoi(sci.substr(epos + 1));
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out += "0." + std::string(size_t(-exp - 1), '0') + digits;
    } else if (size_t(exp + 1) >= digits.size()) {
      out += digits + std::string(size_t(exp + 1) - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, size_t(exp + 1)) + "." + digits.substr(size_t(exp + 1));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char ebuf[16];
  std::snprintf(ebuf, sizeof(ebuf), "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  return out + ebuf;
}

static std::string str_repr(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char q = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(q)) { out += '\\'; out += q; }
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + q;
}

std::string repr(const Value& v) {
  if (v.kind == Kind::kString) return str_repr(v.s);
  if (v.kind == Kind::kUndefined) return "Undefined";
  return to_str(v);
}

std::string to_str(const Value& v) {
  NestGuard guard;
  switch (v.kind) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return v.b ? "True" : "False";
    case Kind::kInt: return std::to_string(v.i);
    case Kind::kFloat: return float_repr(v.f);
    case Kind::kString: return v.s;
    case Kind::kList: {
      std::string out = v.is_tuple ? "(" : "[";
      for (size_t k = 0; k < v.list->size(); ++k) {
        if (k) out += ", ";
        out += repr((*v.list)[k]);
      }
      if (v.is_tuple && v.list->size() == 1) out += ",";
      return out + (v.is_tuple ? ")" : "]");
    }
    case Kind::kDict: {
      std::string out = v.is_namespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, e] : v.dict->items) {
        if (!first) out += ", ";
        first = false;
        out += repr(k) + ": " + repr(e);
      }
      return out + (v.is_namespace ? "}>" : "}");
    }
    case Kind::kCallable: return "<function " + v.fn->name + ">";
  }
  return "";
}

static void json_string(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

static void json_dump(const Value& v, int indent, int level, std::string& out, int depth) {
  if (depth > 512) fail("tojson: nesting too deep");
  auto newline = [&](int lvl) {
    out += '\n';
    out.append(size_t(indent) * size_t(lvl), ' ');
  };
  switch (v.kind) {
    case Kind::kNone: out += "null"; return;
    case Kind::kBool: out += v.b ? "true" : "false"; return;
    case Kind::kInt: out += std::to_string(v.i); return;
    case Kind::kFloat:
      if (std::isnan(v.f)) out += "NaN";
      else if (std::isinf(v.f)) out += v.f > 0 ? "Infinity" : "-Infinity";
      else out += float_repr(v.f);
      return;
    case Kind::kString: json_string(v.s, out); return;
    case Kind::kList: {
      if (v.list->empty()) { out += "[]"; return; }
      out += '[';
      for (size_t k = 0; k < v.list->size(); ++k) {
        if (k) out += indent >= 0 ? "," : ", ";
        if (indent >= 0) newline(level + 1);
        json_dump((*v.list)[k], indent, level + 1, out, depth + 1);
      }
      if (indent >= 0) newline(level);
      out += ']';
      return;
    }
    case Kind::kDict: {
      if (v.dict->items.empty()) { out += "{}"; return; }
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.dict->items) {
        if (!first) out += indent >= 0 ? "," : ", ";
        first = false;
        if (indent >= 0) newline(level + 1);
        switch (k.kind) {
          case Kind::kString: json_string(k.s, out); break;
          case Kind::kNone: out += "\"null\""; break;
          case Kind::kBool: out += k.b ? "\"true\"" : "\"false\""; break;
          case Kind::kInt: out += "\"" + std::to_string(k.i) + "\""; break;
          case Kind::kFloat: out += "\"" + float_repr(k.f) + "\""; break;
          default: fail("tojson: keys must be str, int, float, bool or None");
        }
        out += ": ";
        json_dump(e, indent, level + 1, out, depth + 1);
      }
      if (indent >= 0) newline(level);
      out += '}';
      return;
    }
    default: fail("tojson: object of type " + type_name(v) + " is not JSON serializable");
  }
}

std::string to_json(const Value& v, int indent) {
  std::string out;
  json_dump(v, indent, 0, out, 0);
  return out;
}

bool equals(const Value& a, const Value& b) {
  NestGuard guard;
  if (a.is_number() && b.is_number()) {
    if (a.kind != Kind::kFloat && b.kind != Kind::kFloat) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return a.s == b.s;
    case Kind::kList: {
      if (a.list->size() != b.list->size()) return false;
      for (size_t k = 0; k < a.list->size(); ++k) {
        if (!equals((*a.list)[k], (*b.list)[k])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      if (a.dict->items.size() != b.dict->items.size()) return false;
      for (const auto& [k, v] : a.dict->items) {
        const Value* o = b.dict->find(k);
        if (!o || !equals(v, *o)) return false;
      }
      return true;
    }
    case Kind::kCallable: return a.fn == b.fn;
    default: return false;
  }
}

bool less(const Value& a, const Value& b) {
  NestGuard guard;
  if (a.is_number() && b.is_number()) {
    if (a.kind != Kind::kFloat && b.kind != Kind::kFloat) return a.as_int() < b.as_int();
    return a.as_double() < b.as_double();
  }
  if (a.kind == Kind::kString && b.kind == Kind::kString) return a.s < b.s;
  if (a.kind == Kind::kList && b.kind == Kind::kList) {
    size_t n = std::min(a.list->size(), b.list->size());
    for (size_t k = 0; k < n; ++k) {
      if (less((*a.list)[k], (*b.list)[k])) return true;
      if (less((*b.list)[k], (*a.list)[k])) return false;
    }
    return a.list->size() < b.list->size();
  }
  fail("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

std::string type_name(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return v.is_tuple ? "tuple" : "list";
    case Kind::kDict: return v.is_namespace ? "Namespace" : "dict";
    case Kind::kCallable: return "function";
  }
  return "object";
}

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t k = 0; k < s.size();) {
    size_t len = 1;
    while (k + len < s.size() && (static_cast<unsigned char>(s[k + len]) & 0xC0) == 0x80) ++len;
    out.push_back(s.substr(k, len));
    k += len;
  }
  return out;
}

}  // namespace yun::jinja
