// jinja renderer implementation (see jinja_renderer.h).
#include "yun/text/jinja_renderer.h"

#include <cmath>
#include <unordered_map>

#include "yun/text/jinja_parser.h"

namespace yun::jinja {
namespace {

struct Frame {
  std::unordered_map<std::string, Value> vars;
  Frame* parent = nullptr;
};

enum class Flow { kNormal, kBreak, kContinue };

[[noreturn]] void undefined_error(const Value& u) {
  fail(u.s.empty() ? "value is undefined" : (u.s[0] == '\'' ? u.s : "'" + u.s + "' is undefined"));
}

template <typename Op>
int64_t checked(Op op, int64_t a, int64_t b) {
  int64_t r = 0;
  if (op(a, b, &r)) fail("integer overflow");
  return r;
}
bool add_ovf(int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); }
bool sub_ovf(int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); }
bool mul_ovf(int64_t a, int64_t b, int64_t* r) { return __builtin_mul_overflow(a, b, r); }

class Renderer {
 public:
  Renderer(const Value& vars, const RenderLimits& limits) : limits_(limits) {
    Value globals = Value::make_dict();
    add_globals(globals, limits);
    for (const auto& [k, v] : globals.dict->items) root_.vars[k.s] = v;
    for (const auto& [k, v] : vars.dict->items) {
      if (k.kind == Kind::kString) root_.vars[k.s] = v;
    }
  }

  std::string run(const Body& body) {
    std::string out;
    exec(body, &root_, out);
    return out;
  }

  int line() const { return line_; }
  int col() const { return col_; }

 private:
  // --- statements ---
  Flow exec(const Body& body, Frame* f, std::string& out) {
    for (const auto& s : body) {
      Flow flow = exec_one(*s, f, out);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  void emit(std::string& out, const std::string& s) {
    out += s;
    if (out.size() > limits_.max_output_bytes) fail("output too large");
  }

  Flow exec_one(const Stmt& s, Frame* f, std::string& out) {
    if (s.line) {
      line_ = s.line;
      col_ = s.col;
    }
    switch (s.kind) {
      case StmtKind::kText: emit(out, s.text); return Flow::kNormal;
      case StmtKind::kOutput: emit(out, to_str(eval(*s.expr, f))); return Flow::kNormal;
      case StmtKind::kIf:
        for (const auto& [cond, body] : s.branches) {
          if (!cond || truthy(eval(*cond, f))) return exec(body, f, out);
        }
        return Flow::kNormal;
      case StmtKind::kFor: exec_for(s, f, out); return Flow::kNormal;
      case StmtKind::kSet: {
        Value v;
        if (s.expr) {
          v = eval(*s.expr, f);
        } else {
          std::string captured;
          exec(s.body, f, captured);
          v = Value::string(std::move(captured));
        }
        if (!s.attr.empty()) {
          Value target = lookup(s.targets[0], f);
          if (target.kind != Kind::kDict || !target.is_namespace) {
            fail("cannot assign attribute on non-namespace object");
          }
          target.dict->set(Value::string(s.attr), std::move(v));
        } else {
          assign(s.targets, v, f);
        }
        return Flow::kNormal;
      }
      case StmtKind::kMacro: f->vars[s.name] = make_macro(s); return Flow::kNormal;
      case StmtKind::kBreak: return Flow::kBreak;
      case StmtKind::kContinue: return Flow::kContinue;
      case StmtKind::kBlock: return exec(s.body, f, out);
    }
    return Flow::kNormal;
  }

  void assign(const std::vector<std::string>& targets, const Value& v, Frame* f) {
    if (targets.size() == 1) {
      f->vars[targets[0]] = v;
      return;
    }
    List items = iterate(v);
    if (items.size() != targets.size()) {
      fail("cannot unpack " + std::to_string(items.size()) + " values into " + std::to_string(targets.size()));
    }
    for (size_t k = 0; k < targets.size(); ++k) f->vars[targets[k]] = items[k];
  }

  void count_iteration() {
    if (++iterations_ > limits_.max_iterations) fail("too many loop iterations");
  }

  void exec_for(const Stmt& s, Frame* f, std::string& out) {
    Value seq = eval(*s.expr, f);
    if (seq.is_none()) fail("'NoneType' object is not iterable");
    List items = iterate(seq);
    Frame frame;
    frame.parent = f;
    if (s.filter) {
      List kept;
      for (const auto& item : items) {
        count_iteration();
        assign(s.targets, item, &frame);
        if (truthy(eval(*s.filter, &frame))) kept.push_back(item);
      }
      items = std::move(kept);
    }
    const int64_t n = int64_t(items.size());
    Value loop = Value::make_dict();
    for (int64_t k = 0; k < n; ++k) {
      count_iteration();
      loop = Value::make_dict();
      auto& d = *loop.dict;
      d.set(Value::string("index0"), Value::integer(k));
      d.set(Value::string("index"), Value::integer(k + 1));
      d.set(Value::string("revindex0"), Value::integer(n - k - 1));
      d.set(Value::string("revindex"), Value::integer(n - k));
      d.set(Value::string("first"), Value::boolean(k == 0));
      d.set(Value::string("last"), Value::boolean(k == n - 1));
      d.set(Value::string("length"), Value::integer(n));
      d.set(Value::string("depth"), Value::integer(1));
      d.set(Value::string("depth0"), Value::integer(0));
      d.set(Value::string("previtem"), k > 0 ? items[size_t(k - 1)] : Value::undefined("there is no previous item"));
      d.set(Value::string("nextitem"), k + 1 < n ? items[size_t(k + 1)] : Value::undefined("there is no next item"));
      d.set(Value::string("cycle"), Value::callable("loop.cycle", [k](CallArgs& a) {
              if (a.pos.empty()) fail("no items for cycling given");
              return a.pos[size_t(k) % a.pos.size()];
            }));
      frame.vars["loop"] = loop;
      assign(s.targets, items[size_t(k)], &frame);
      if (exec(s.body, &frame, out) == Flow::kBreak) break;
    }
    if (n == 0) exec(s.else_body, f, out);
  }

  Value make_macro(const Stmt& s) {
    const Stmt* stmt = &s;
    return Value::callable(s.name, [this, stmt](CallArgs& a) {
      if (++call_depth_ > limits_.max_call_depth) fail("macro recursion too deep");
      Frame frame;
      frame.parent = &root_;
      size_t np = stmt->params.size();
      List varargs;
      for (size_t k = 0; k < a.pos.size(); ++k) {
        if (k < np) frame.vars[stmt->params[k].first] = a.pos[k];
        else varargs.push_back(a.pos[k]);
      }
      Value kwargs = Value::make_dict();
      for (const auto& [key, v] : a.kw) {
        bool is_param = false;
        for (const auto& p : stmt->params) is_param |= p.first == key;
        if (is_param) frame.vars[key] = v;
        else kwargs.dict->set(Value::string(key), v);
      }
      for (const auto& [pname, def] : stmt->params) {
        if (!frame.vars.count(pname)) {
          frame.vars[pname] = def ? eval(*def, &frame) : Value::undefined(pname);
        }
      }
      frame.vars["varargs"] = Value::make_list(std::move(varargs));
      frame.vars["kwargs"] = kwargs;
      std::string out;
      exec(stmt->body, &frame, out);
      --call_depth_;
      return Value::string(std::move(out));
    });
  }

  Value lookup(const std::string& name, Frame* f) const {
    for (Frame* fr = f; fr; fr = fr->parent) {
      auto it = fr->vars.find(name);
      if (it != fr->vars.end()) return it->second;
    }
    return Value::undefined(name);
  }

  // --- expressions ---
  CallArgs eval_args(const Expr& e, Frame* f, size_t first) {
    CallArgs a;
    for (size_t k = first; k < e.args.size(); ++k) a.pos.push_back(eval(*e.args[k], f));
    for (const auto& [k, v] : e.kwargs) a.kw.emplace_back(k, eval(*v, f));
    return a;
  }

  Value eval(const Expr& e, Frame* f) {
    switch (e.kind) {
      case ExprKind::kLiteral: return e.literal;
      case ExprKind::kName: return lookup(e.name, f);
      case ExprKind::kList:
      case ExprKind::kTuple: {
        List items;
        for (const auto& a : e.args) items.push_back(eval(*a, f));
        return e.kind == ExprKind::kList ? Value::make_list(std::move(items)) : Value::make_tuple(std::move(items));
      }
      case ExprKind::kDict: {
        Value d = Value::make_dict();
        for (size_t k = 0; k + 1 < e.args.size(); k += 2) d.dict->set(eval(*e.args[k], f), eval(*e.args[k + 1], f));
        return d;
      }
      case ExprKind::kAttr: {
        Value obj = eval(*e.args[0], f);
        if (obj.is_undefined()) undefined_error(obj);
        return get_attr(obj, e.name);
      }
      case ExprKind::kIndex: {
        Value obj = eval(*e.args[0], f);
        if (obj.is_undefined()) undefined_error(obj);
        return get_item(obj, eval(*e.args[1], f));
      }
      case ExprKind::kSlice: {
        Value obj = eval(*e.args[0], f);
        if (obj.is_undefined()) undefined_error(obj);
        auto part = [&](size_t k) { return e.args[k] ? eval(*e.args[k], f) : Value::none(); };
        return get_slice(obj, part(1), part(2), part(3));
      }
      case ExprKind::kCall: {
        Value callee = eval(*e.args[0], f);
        if (callee.is_undefined()) undefined_error(callee);
        if (callee.kind != Kind::kCallable) fail("'" + type_name(callee) + "' object is not callable");
        CallArgs a = eval_args(e, f, 1);
        return callee.fn->fn(a);
      }
      case ExprKind::kFilter: {
        Value v = eval(*e.args[0], f);
        CallArgs a = eval_args(e, f, 1);
        return apply_filter(e.name, v, a, limits_);
      }
      case ExprKind::kTest: {
        Value v = eval(*e.args[0], f);
        CallArgs a = eval_args(e, f, 1);
        return Value::boolean(apply_test(e.name, v, a) != e.negated);
      }
      case ExprKind::kUnary: {
        Value v = eval(*e.args[0], f);
        if (v.is_undefined()) undefined_error(v);
        if (!v.is_number()) fail("bad operand type for unary " + e.name + ": '" + type_name(v) + "'");
        if (e.name == "+") return v.kind == Kind::kFloat ? v : Value::integer(v.as_int());
        if (v.kind == Kind::kFloat) return Value::number(-v.f);
        return Value::integer(checked(sub_ovf, 0, v.as_int()));
      }
      case ExprKind::kBinary: return binary(e.name, eval(*e.args[0], f), eval(*e.args[1], f));
      case ExprKind::kCompare: {
        Value left = eval(*e.args[0], f);
        for (size_t k = 0; k < e.ops.size(); ++k) {
          Value right = eval(*e.args[k + 1], f);
          if (!compare(e.ops[k], left, right)) return Value::boolean(false);
          left = std::move(right);
        }
        return Value::boolean(true);
      }
      case ExprKind::kAnd: {
        Value a = eval(*e.args[0], f);
        return truthy(a) ? eval(*e.args[1], f) : a;
      }
      case ExprKind::kOr: {
        Value a = eval(*e.args[0], f);
        return truthy(a) ? a : eval(*e.args[1], f);
      }
      case ExprKind::kNot: return Value::boolean(!truthy(eval(*e.args[0], f)));
      case ExprKind::kCond:
        if (truthy(eval(*e.args[1], f))) return eval(*e.args[0], f);
        return e.args[2] ? eval(*e.args[2], f) : Value::undefined("conditional expression without else");
    }
    fail("unknown expression");
  }

  bool compare(const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return equals(a, b);
    if (op == "!=") return !equals(a, b);
    if (op == "in" || op == "not in") {
      CallArgs args;
      args.pos.push_back(b);
      if (b.kind != Kind::kString && b.kind != Kind::kList && b.kind != Kind::kDict && !b.is_undefined()) {
        fail("argument of type '" + type_name(b) + "' is not iterable");
      }
      if (b.kind == Kind::kString && a.kind != Kind::kString) {
        fail("'in <string>' requires string as left operand, not " + type_name(a));
      }
      bool in = apply_test("in", a, args);
      return op == "in" ? in : !in;
    }
    if (a.is_undefined()) undefined_error(a);
    if (b.is_undefined()) undefined_error(b);
    if (op == "<") return less(a, b);
    if (op == ">") return less(b, a);
    if (op == "<=") return !less(b, a);
    if (op == ">=") return !less(a, b);
    fail("unknown comparison " + op);
  }

  Value repeat(const Value& seq, int64_t times) {
    times = std::max<int64_t>(times, 0);
    size_t unit = seq.kind == Kind::kString ? seq.s.size() : seq.list->size();
    if (unit && size_t(times) > limits_.max_output_bytes / unit) fail("result too large");
    if (seq.kind == Kind::kString) {
      std::string out;
      for (int64_t k = 0; k < times; ++k) out += seq.s;
      return Value::string(std::move(out));
    }
    List out;
    for (int64_t k = 0; k < times; ++k) out.insert(out.end(), seq.list->begin(), seq.list->end());
    return Value::make_list(std::move(out));
  }

  Value binary(const std::string& op, const Value& a, const Value& b) {
    if (op == "~") {
      std::string s = to_str(a) + to_str(b);
      if (s.size() > limits_.max_output_bytes) fail("result too large");
      return Value::string(std::move(s));
    }
    if (a.is_undefined()) undefined_error(a);
    if (b.is_undefined()) undefined_error(b);
    bool nums = a.is_number() && b.is_number();
    bool ints = nums && a.kind != Kind::kFloat && b.kind != Kind::kFloat;
    if (op == "+") {
      if (ints) return Value::integer(checked(add_ovf, a.as_int(), b.as_int()));
      if (nums) return Value::number(a.as_double() + b.as_double());
      if (a.kind == Kind::kString && b.kind == Kind::kString) {
        if (a.s.size() + b.s.size() > limits_.max_output_bytes) fail("result too large");
        return Value::string(a.s + b.s);
      }
      if (a.kind == Kind::kList && b.kind == Kind::kList) {
        if (a.list->size() + b.list->size() > limits_.max_output_bytes) fail("result too large");
        List out = *a.list;
        out.insert(out.end(), b.list->begin(), b.list->end());
        return a.is_tuple ? Value::make_tuple(std::move(out)) : Value::make_list(std::move(out));
      }
    } else if (op == "-") {
      if (ints) return Value::integer(checked(sub_ovf, a.as_int(), b.as_int()));
      if (nums) return Value::number(a.as_double() - b.as_double());
    } else if (op == "*") {
      if (ints) return Value::integer(checked(mul_ovf, a.as_int(), b.as_int()));
      if (nums) return Value::number(a.as_double() * b.as_double());
      bool a_int = a.kind == Kind::kInt || a.kind == Kind::kBool;
      bool b_int = b.kind == Kind::kInt || b.kind == Kind::kBool;
      if ((a.kind == Kind::kString || a.kind == Kind::kList) && b_int) return repeat(a, b.as_int());
      if ((b.kind == Kind::kString || b.kind == Kind::kList) && a_int) return repeat(b, a.as_int());
    } else if (op == "/") {
      if (nums) {
        if (b.as_double() == 0) fail("division by zero");
        return Value::number(a.as_double() / b.as_double());
      }
    } else if (op == "//" || op == "%") {
      if (nums) {
        if (b.as_double() == 0) fail("integer division or modulo by zero");
        if (ints) {
          int64_t x = a.as_int(), y = b.as_int();
          if (x == INT64_MIN && y == -1) fail("integer overflow");
          int64_t q = x / y, m = x % y;
          if (m != 0 && ((m < 0) != (y < 0))) {
            --q;
            m += y;
          }
          return Value::integer(op == "//" ? q : m);
        }
        double x = a.as_double(), y = b.as_double();
        double m = std::fmod(x, y);
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return Value::number(op == "//" ? std::floor(x / y) : m);
      }
    } else if (op == "**") {
      if (ints && b.as_int() >= 0) {
        int64_t base = a.as_int(), result = 1;
        for (int64_t k = 0; k < b.as_int(); ++k) {
          if (__builtin_mul_overflow(result, base, &result)) fail("integer overflow");
          if (result == 0 || result == 1) break;
        }
        if (base == -1) result = (b.as_int() % 2) ? -1 : 1;
        return Value::integer(result);
      }
      if (nums) {
        if (a.as_double() == 0 && b.as_double() < 0) fail("zero to a negative power");
        return Value::number(std::pow(a.as_double(), b.as_double()));
      }
    }
    fail("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
  }

  const RenderLimits& limits_;
  Frame root_;
  int call_depth_ = 0;
  int64_t iterations_ = 0;
  int line_ = 0, col_ = 0;
};

}  // namespace

std::string render_body(const Body& body, const Value& vars, const RenderLimits& limits) {
  Renderer r(vars, limits);
  try {
    return r.run(body);
  } catch (Error& e) {
    if (!e.raised && r.line() > 0) {
      e.message = "line " + std::to_string(r.line()) + ", column " + std::to_string(r.col()) + ": " + e.message;
    }
    throw;
  }
}

Result<std::shared_ptr<const Body>> parse(const std::string& source) {
  try {
    return std::shared_ptr<const Body>(std::make_shared<Body>(parse_template(source)));
  } catch (const Error& e) {
    return invalid_argument(e.message);
  } catch (const std::exception& e) {
    return invalid_argument(std::string("template parse failed: ") + e.what());
  }
}

Result<std::string> render(const Body& body, const Value& vars, const RenderLimits& limits) {
  try {
    if (vars.kind != Kind::kDict) return invalid_argument("render: variables must be a mapping");
    return render_body(body, vars, limits);
  } catch (const Error& e) {
    return invalid_argument(e.message);
  } catch (const std::exception& e) {
    return invalid_argument(std::string("template render failed: ") + e.what());
  }
}

Result<std::string> render(const Body& body, const nlohmann::ordered_json& context, const RenderLimits& limits) {
  if (!context.is_object()) return invalid_argument("render: context must be a JSON object");
  Value vars;
  try {
    vars = Value::from_json(context);
  } catch (const Error& e) {
    return invalid_argument(e.message);
  }
  return render(body, vars, limits);
}

}  // namespace yun::jinja
