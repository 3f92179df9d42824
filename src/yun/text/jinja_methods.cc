// jinja attribute/item access, Python str/dict methods, slicing, iteration and
// the global functions (see jinja_builtins.h).
#include <chrono>
#include <ctime>

#include "yun/text/jinja_builtins.h"
#include "yun/text/jinja_strings.h"

namespace yun::jinja {
namespace {

const std::string& arg_str(const CallArgs& a, size_t i, const std::string& name, const std::string& fn) {
  const Value* v = a.get(i, name);
  if (!v || v->kind != Kind::kString) fail(fn + "() argument '" + name + "' must be str");
  return v->s;
}

const std::string* opt_str(const CallArgs& a, size_t i, const std::string& name) {
  const Value* v = a.get(i, name);
  if (!v || v->is_none()) return nullptr;
  if (v->kind != Kind::kString) fail("expected a string argument '" + name + "'");
  return &v->s;
}

int64_t opt_int(const CallArgs& a, size_t i, const std::string& name, int64_t def) {
  const Value* v = a.get(i, name);
  if (!v || v->is_none()) return def;
  if (v->kind != Kind::kInt && v->kind != Kind::kBool) fail("expected an integer argument '" + name + "'");
  return v->as_int();
}

bool affix_match(const std::string& s, const Value& what, bool prefix) {
  auto one = [&](const Value& p) {
    if (p.kind != Kind::kString) fail("startswith/endswith expects str or a tuple of str");
    if (p.s.size() > s.size()) return false;
    return prefix ? s.compare(0, p.s.size(), p.s) == 0 : s.compare(s.size() - p.s.size(), p.s.size(), p.s) == 0;
  };
  if (what.kind == Kind::kList) {
    for (const auto& p : *what.list) {
      if (one(p)) return true;
    }
    return false;
  }
  return one(what);
}

Value string_method(const std::string& s, const std::string& name) {
  auto bind = [&](NativeFn fn) { return Value::callable("str." + name, std::move(fn)); };
  if (name == "startswith" || name == "endswith") {
    bool prefix = name == "startswith";
    return bind([s, prefix](CallArgs& a) {
      const Value* p = a.get(0, "prefix");
      if (!p) fail("startswith/endswith takes an argument");
      return Value::boolean(affix_match(s, *p, prefix));
    });
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    bool l = name != "rstrip", r = name != "lstrip";
    return bind([s, l, r](CallArgs& a) { return Value::string(str_strip(s, opt_str(a, 0, "chars"), l, r)); });
  }
  if (name == "split") {
    return bind([s](CallArgs& a) {
      List out;
      for (auto& part : str_split(s, opt_str(a, 0, "sep"), opt_int(a, 1, "maxsplit", -1))) {
        out.push_back(Value::string(std::move(part)));
      }
      return Value::make_list(std::move(out));
    });
  }
  if (name == "replace") {
    return bind([s](CallArgs& a) {
      return Value::string(str_replace(s, arg_str(a, 0, "old", "replace"), arg_str(a, 1, "new", "replace"),
                                       opt_int(a, 2, "count", -1)));
    });
  }
  if (name == "upper") return bind([s](CallArgs&) { return Value::string(str_upper(s)); });
  if (name == "lower") return bind([s](CallArgs&) { return Value::string(str_lower(s)); });
  if (name == "title") return bind([s](CallArgs&) { return Value::string(str_title(s)); });
  if (name == "capitalize") return bind([s](CallArgs&) { return Value::string(str_capitalize(s)); });
  if (name == "find") {
    return bind([s](CallArgs& a) { return Value::integer(str_find(s, arg_str(a, 0, "sub", "find"))); });
  }
  if (name == "count") {
    return bind([s](CallArgs& a) {
      const std::string& sub = arg_str(a, 0, "sub", "count");
      if (sub.empty()) return Value::integer(int64_t(utf8_length(s)) + 1);
      int64_t n = 0;
      for (size_t q = s.find(sub); q != std::string::npos; q = s.find(sub, q + sub.size())) ++n;
      return Value::integer(n);
    });
  }
  if (name == "join") {
    return bind([s](CallArgs& a) {
      const Value* it = a.get(0, "iterable");
      if (!it) fail("join() takes an argument");
      std::string out;
      bool first = true;
      for (const auto& e : iterate(*it)) {
        if (e.kind != Kind::kString) fail("join() expects strings");
        if (!first) out += s;
        first = false;
        out += e.s;
      }
      return Value::string(std::move(out));
    });
  }
  if (name == "splitlines") {
    return bind([s](CallArgs&) {
      List out;
      size_t pos = 0;
      while (pos < s.size()) {
        size_t q = s.find('\n', pos);
        if (q == std::string::npos) q = s.size();
        std::string line = s.substr(pos, q - pos);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out.push_back(Value::string(line));
        pos = q + 1;
      }
      return Value::make_list(std::move(out));
    });
  }
  if (name == "isdigit" || name == "isspace" || name == "isalpha") {
    return bind([s, name](CallArgs&) {
      if (s.empty()) return Value::boolean(false);
      for (unsigned char c : s) {
        bool ok = name == "isdigit" ? (c >= '0' && c <= '9')
                  : name == "isspace" ? (c == ' ' || (c >= 9 && c <= 13))
                                      : std::isalpha(c) != 0;
        if (!ok) return Value::boolean(false);
      }
      return Value::boolean(true);
    });
  }
  return Value::undefined("'str object' has no attribute '" + name + "'");
}

Value dict_method(const Value& d, const std::string& name) {
  auto bind = [&](NativeFn fn) { return Value::callable("dict." + name, std::move(fn)); };
  if (name == "items") {
    return bind([d](CallArgs&) {
      List out;
      for (const auto& [k, v] : d.dict->items) out.push_back(Value::make_tuple({k, v}));
      return Value::make_list(std::move(out));
    });
  }
  if (name == "keys" || name == "values") {
    bool keys = name == "keys";
    return bind([d, keys](CallArgs&) {
      List out;
      for (const auto& [k, v] : d.dict->items) out.push_back(keys ? k : v);
      return Value::make_list(std::move(out));
    });
  }
  if (name == "get") {
    return bind([d](CallArgs& a) {
      const Value* key = a.get(0, "key");
      if (!key) fail("get() takes a key");
      const Value* v = d.dict->find(*key);
      if (v) return *v;
      const Value* def = a.get(1, "default");
      return def ? *def : Value::none();
    });
  }
  return Value::undefined();
}

int64_t norm_index(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

}  // namespace

Value get_attr(const Value& obj, const std::string& name) {
  switch (obj.kind) {
    case Kind::kString: return string_method(obj.s, name);
    case Kind::kDict: {
      if (!obj.is_namespace) {
        Value m = dict_method(obj, name);
        if (!m.is_undefined()) return m;
      }
      const Value* v = obj.dict->find(name);
      if (v) return *v;
      return Value::undefined("'" + type_name(obj) + " object' has no attribute '" + name + "'");
    }
    default: return Value::undefined("'" + type_name(obj) + " object' has no attribute '" + name + "'");
  }
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.kind == Kind::kDict) {
    const Value* v = obj.dict->find(key);
    if (v) return *v;
  } else if (obj.kind == Kind::kList && (key.kind == Kind::kInt || key.kind == Kind::kBool)) {
    int64_t n = int64_t(obj.list->size());
    int64_t i = norm_index(key.as_int(), n);
    if (i >= 0 && i < n) return (*obj.list)[size_t(i)];
  } else if (obj.kind == Kind::kString && (key.kind == Kind::kInt || key.kind == Kind::kBool)) {
    auto chars = utf8_chars(obj.s);
    int64_t n = int64_t(chars.size());
    int64_t i = norm_index(key.as_int(), n);
    if (i >= 0 && i < n) return Value::string(chars[size_t(i)]);
  }
  if (key.kind == Kind::kString) return get_attr(obj, key.s);
  return Value::undefined("'" + type_name(obj) + " object' has no item " + repr(key));
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  auto as_opt = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_none() || v.is_undefined()) return std::nullopt;
    if (v.kind != Kind::kInt && v.kind != Kind::kBool) fail(std::string("slice ") + what + " must be an integer");
    return v.as_int();
  };
  std::vector<std::string> chars;
  bool is_str = obj.kind == Kind::kString;
  if (is_str) chars = utf8_chars(obj.s);
  else if (obj.kind != Kind::kList) fail("'" + type_name(obj) + "' object is not subscriptable");
  int64_t n = is_str ? int64_t(chars.size()) : int64_t(obj.list->size());
  int64_t st = as_opt(step, "step").value_or(1);
  if (st == 0) fail("slice step cannot be zero");
  auto clamp = [&](std::optional<int64_t> v, int64_t def) {
    if (!v) return def;
    int64_t x = *v < 0 ? *v + n : *v;
    if (st > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  int64_t b = clamp(as_opt(start, "start"), st > 0 ? 0 : n - 1);
  int64_t e = clamp(as_opt(stop, "stop"), st > 0 ? n : -1);
  std::string s_out;
  List l_out;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) {
    if (is_str) s_out += chars[size_t(i)];
    else l_out.push_back((*obj.list)[size_t(i)]);
  }
  return is_str ? Value::string(std::move(s_out)) : Value::make_list(std::move(l_out));
}

List iterate(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined: return {};
    case Kind::kList: return *v.list;
    case Kind::kDict: {
      List keys;
      for (const auto& [k, e] : v.dict->items) keys.push_back(k);
      return keys;
    }
    case Kind::kString: {
      List out;
      for (auto& c : utf8_chars(v.s)) out.push_back(Value::string(std::move(c)));
      return out;
    }
    default: fail("'" + type_name(v) + "' object is not iterable");
  }
}

void add_globals(Value& globals, const RenderLimits& limits) {
  auto def = [&](const std::string& name, NativeFn fn) {
    globals.dict->set(Value::string(name), Value::callable(name, std::move(fn)));
  };
  int64_t max_len = int64_t(limits.max_output_bytes);
  def("range", [max_len](CallArgs& a) {
    if (a.pos.empty() || a.pos.size() > 3) fail("range expected 1 to 3 arguments");
    for (const auto& p : a.pos) {
      if (p.kind != Kind::kInt && p.kind != Kind::kBool) fail("range() arguments must be integers");
    }
    int64_t start = 0, stop = 0, step = 1;
    if (a.pos.size() == 1) stop = a.pos[0].as_int();
    else {
      start = a.pos[0].as_int();
      stop = a.pos[1].as_int();
      if (a.pos.size() == 3) step = a.pos[2].as_int();
    }
    if (step == 0) fail("range() arg 3 must not be zero");
    List out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (int64_t(out.size()) >= max_len) fail("range() too large");
      out.push_back(Value::integer(i));
    }
    return Value::make_list(std::move(out));
  });
  auto make_dict = [](CallArgs& a) {
    Value d = Value::make_dict();
    for (const auto& p : a.pos) {
      if (p.kind != Kind::kDict) fail("expected a mapping argument");
      for (const auto& [k, v] : p.dict->items) d.dict->set(k, v);
    }
    for (const auto& [k, v] : a.kw) d.dict->set(Value::string(k), v);
    return d;
  };
  def("dict", make_dict);
  def("namespace", [make_dict](CallArgs& a) {
    Value d = make_dict(a);
    d.is_namespace = true;
    return d;
  });
  def("raise_exception", [](CallArgs& a) -> Value {
    const Value* m = a.get(0, "message");
    throw Error{m ? to_str(*m) : std::string("raise_exception called"), true};
  });
  def("strftime_now", [](CallArgs& a) {
    const Value* f = a.get(0, "format");
    if (!f || f->kind != Kind::kString) fail("strftime_now() expects a format string");
    std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[512];
    size_t n = std::strftime(buf, sizeof(buf), f->s.c_str(), &tm);
    return Value::string(std::string(buf, n));
  });
}

}  // namespace yun::jinja
