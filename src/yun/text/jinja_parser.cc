// jinja parser implementation (see jinja_parser.h): recursive descent over tokens.
#include "yun/text/jinja_parser.h"

#include <algorithm>
#include <initializer_list>
#include <set>
#include <string_view>

#include "yun/text/jinja_lexer.h"

namespace yun::jinja {
namespace {

using MutExpr = std::shared_ptr<Expr>;
using MutStmt = std::shared_ptr<Stmt>;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Body parse_all() {
    std::string end;
    Body body = parse_body({}, end);
    return body;
  }

 private:
  // --- token helpers ---
  const Token& cur() const { return t_[p_]; }
  const Token& peek(size_t k = 1) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  void advance() {
    if (p_ + 1 < t_.size()) ++p_;
  }
  bool is_op(const char* op) const { return cur().type == Tok::kOp && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == Tok::kName && cur().text == name; }
  [[noreturn]] void error(const Token& at, const std::string& msg) const {
    fail("line " + std::to_string(at.line) + ", column " + std::to_string(at.col) + ": " + msg);
  }
  std::string describe(const Token& t) const {
    switch (t.type) {
      case Tok::kEof:
        return "end of template";
      case Tok::kBlockEnd:
        return "end of statement block";
      case Tok::kVarEnd:
        return "end of print statement";
      case Tok::kText:
        return "template text";
      default:
        return "'" + t.text + "'";
    }
  }
  void expect_op(const char* op) {
    if (!is_op(op)) error(cur(), std::string("expected '") + op + "', got " + describe(cur()));
    advance();
  }
  std::string expect_name() {
    if (cur().type != Tok::kName) error(cur(), "expected a name, got " + describe(cur()));
    std::string s = cur().text;
    advance();
    return s;
  }
  void expect_block_end() {
    if (cur().type != Tok::kBlockEnd)
      error(cur(), "expected end of statement block, got " + describe(cur()));
    advance();
  }
  MutExpr node(ExprKind kind, const Token& at) {
    auto e = std::make_shared<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->col = at.col;
    return e;
  }
  struct DepthGuard {
    Parser* p;
    explicit DepthGuard(Parser* parser, const Token& at) : p(parser) {
      if (++p->depth_ > kMaxParseDepth) p->error(at, "template nested too deeply");
    }
    ~DepthGuard() { --p->depth_; }
  };

  // --- statements ---
  // Parses until a block tag whose keyword is in `ends` (consumed: the keyword is
  // returned in `end`, the tag's remaining tokens are left for the caller).
  Body parse_body(const std::set<std::string>& ends, std::string& end) {
    DepthGuard guard(this, cur());
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == Tok::kEof) {
        if (!ends.empty()) {
          std::string list;
          for (const auto& e : ends) list += (list.empty() ? "" : " or ") + e;
          error(t, "unexpected end of template, expected " + list);
        }
        return body;
      }
      if (t.type == Tok::kText) {
        auto s = std::make_shared<Stmt>();
        s->kind = StmtKind::kText;
        s->text = t.text;
        body.push_back(s);
        advance();
      } else if (t.type == Tok::kVarBegin) {
        auto s = std::make_shared<Stmt>();
        s->kind = StmtKind::kOutput;
        s->line = t.line;
        s->col = t.col;
        advance();
        s->expr = parse_tuple_or_expr();
        if (cur().type != Tok::kVarEnd)
          error(cur(), "expected end of print statement, got " + describe(cur()));
        advance();
        body.push_back(s);
      } else if (t.type == Tok::kBlockBegin) {
        advance();
        const Token& kw = cur();
        if (kw.type != Tok::kName) error(kw, "expected a statement keyword, got " + describe(kw));
        if (ends.count(kw.text)) {
          end = kw.text;
          advance();
          return body;
        }
        body.push_back(parse_statement());
      } else {
        error(t, "unexpected " + describe(t));
      }
    }
  }

  StmtPtr parse_statement() {
    const Token kw = cur();
    advance();
    auto s = std::make_shared<Stmt>();
    s->line = kw.line;
    s->col = kw.col;
    const std::string& k = kw.text;
    std::string end;
    if (k == "if") {
      s->kind = StmtKind::kIf;
      ExprPtr cond = parse_expr();
      expect_block_end();
      while (true) {
        Body b = parse_body({"elif", "else", "endif"}, end);
        s->branches.emplace_back(cond, std::move(b));
        if (end == "endif") break;
        if (end == "else") {
          expect_block_end();
          Body eb = parse_body({"endif"}, end);
          s->branches.emplace_back(nullptr, std::move(eb));
          break;
        }
        cond = parse_expr();
        expect_block_end();
      }
      expect_block_end();
    } else if (k == "for") {
      s->kind = StmtKind::kFor;
      s->targets.push_back(expect_name());
      while (is_op(",")) {
        advance();
        s->targets.push_back(expect_name());
      }
      if (!is_name("in")) error(cur(), "expected 'in', got " + describe(cur()));
      advance();
      s->expr = parse_tuple_or_or();
      if (is_name("if")) {
        advance();
        s->filter = parse_expr();
      }
      if (is_name("recursive")) error(cur(), "recursive loops are not supported");
      expect_block_end();
      s->body = parse_body({"else", "endfor"}, end);
      if (end == "else") {
        expect_block_end();
        s->else_body = parse_body({"endfor"}, end);
      }
      expect_block_end();
    } else if (k == "set") {
      s->kind = StmtKind::kSet;
      s->targets.push_back(expect_name());
      if (is_op(".")) {
        advance();
        s->attr = expect_name();
      } else {
        while (is_op(",")) {
          advance();
          s->targets.push_back(expect_name());
        }
      }
      if (is_op("=")) {
        advance();
        s->expr = parse_tuple_or_expr();
        expect_block_end();
      } else {
        if (!s->attr.empty() || s->targets.size() != 1) error(cur(), "expected '='");
        expect_block_end();
        s->body = parse_body({"endset"}, end);
        expect_block_end();
      }
    } else if (k == "macro") {
      s->kind = StmtKind::kMacro;
      s->name = expect_name();
      expect_op("(");
      while (!is_op(")")) {
        std::string param = expect_name();
        ExprPtr def;
        if (is_op("=")) {
          advance();
          def = parse_expr();
        }
        s->params.emplace_back(param, def);
        if (!is_op(",")) break;
        advance();
      }
      expect_op(")");
      expect_block_end();
      s->body = parse_body({"endmacro"}, end);
      if (cur().type == Tok::kName) advance();  // {% endmacro name %}
      expect_block_end();
    } else if (k == "break" || k == "continue") {
      s->kind = k == "break" ? StmtKind::kBreak : StmtKind::kContinue;
      expect_block_end();
    } else if (k == "generation") {
      s->kind = StmtKind::kBlock;
      expect_block_end();
      s->body = parse_body({"endgeneration"}, end);
      expect_block_end();
    } else {
      error(kw, "unknown or unexpected tag '" + k + "'");
    }
    return s;
  }

  // --- expressions ---
  // A bare tuple (`a, b`) is allowed in {{ }}, set and for.
  ExprPtr parse_tuple_or_expr() { return parse_tuple(false); }
  ExprPtr parse_tuple_or_or() { return parse_tuple(true); }
  ExprPtr parse_tuple(bool no_cond) {
    const Token at = cur();
    ExprPtr first = no_cond ? parse_or() : parse_expr();
    if (!is_op(",")) return first;
    auto tup = node(ExprKind::kTuple, at);
    tup->args.push_back(first);
    while (is_op(",")) {
      advance();
      if (cur().type == Tok::kBlockEnd || cur().type == Tok::kVarEnd) break;
      tup->args.push_back(no_cond ? parse_or() : parse_expr());
    }
    return tup;
  }

  ExprPtr parse_expr() {
    DepthGuard guard(this, cur());
    const Token at = cur();
    ExprPtr e = parse_or();
    while (is_name("if")) {
      advance();
      auto c = node(ExprKind::kCond, at);
      c->args.push_back(e);
      c->args.push_back(parse_or());
      if (is_name("else")) {
        advance();
        c->args.push_back(parse_expr());
      } else {
        c->args.push_back(nullptr);
      }
      e = c;
    }
    return e;
  }

  // One left-associative level: operand (op operand)*, where op is a token of
  // `type` whose text is one of `ops`. kBinary nodes keep the operator as
  // their name; kAnd and kOr need none.
  ExprPtr left_assoc(ExprPtr (Parser::*operand)(), Tok type,
                     std::initializer_list<std::string_view> ops, ExprKind kind) {
    ExprPtr e = (this->*operand)();
    while (cur().type == type && std::find(ops.begin(), ops.end(), cur().text) != ops.end()) {
      const Token at = cur();
      advance();
      auto n = node(kind, at);
      if (kind == ExprKind::kBinary) n->name = at.text;
      n->args = {e, (this->*operand)()};
      e = n;
    }
    return e;
  }

  ExprPtr parse_or() { return left_assoc(&Parser::parse_and, Tok::kName, {"or"}, ExprKind::kOr); }
  ExprPtr parse_and() {
    return left_assoc(&Parser::parse_not, Tok::kName, {"and"}, ExprKind::kAnd);
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(this, cur());
      const Token at = cur();
      advance();
      auto n = node(ExprKind::kNot, at);
      n->args = {parse_not()};
      return n;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Token at = cur();
    ExprPtr e = parse_concat();
    MutExpr cmp;
    while (true) {
      std::string op;
      if (cur().type == Tok::kOp &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
           cur().text == ">" || cur().text == ">=")) {
        op = cur().text;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && peek().type == Tok::kName && peek().text == "in") {
        op = "not in";
        advance();
        advance();
      } else {
        break;
      }
      if (!cmp) {
        cmp = node(ExprKind::kCompare, at);
        cmp->args.push_back(e);
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_concat());
    }
    return cmp ? cmp : e;
  }

  ExprPtr parse_concat() {
    return left_assoc(&Parser::parse_add, Tok::kOp, {"~"}, ExprKind::kBinary);
  }
  ExprPtr parse_add() {
    return left_assoc(&Parser::parse_mul, Tok::kOp, {"+", "-"}, ExprKind::kBinary);
  }
  ExprPtr parse_mul() {
    return left_assoc(&Parser::parse_pow, Tok::kOp, {"*", "/", "//", "%"}, ExprKind::kBinary);
  }
  ExprPtr parse_pow() {
    return left_assoc(&Parser::parse_unary_filtered, Tok::kOp, {"**"}, ExprKind::kBinary);
  }
  ExprPtr parse_unary_filtered() { return parse_unary(true); }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(this, cur());
    const Token at = cur();
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      advance();
      auto n = node(ExprKind::kUnary, at);
      n->name = at.text;
      n->args = {parse_unary(false)};
      e = n;
    } else {
      e = parse_primary();
    }
    e = parse_postfix(e);
    if (with_filter) e = parse_filters(e);
    return e;
  }

  ExprPtr parse_primary() {
    const Token at = cur();
    if (at.type == Tok::kName) {
      advance();
      const std::string& n = at.text;
      if (n == "true" || n == "True" || n == "false" || n == "False") {
        auto e = node(ExprKind::kLiteral, at);
        e->literal = Value::boolean(n == "true" || n == "True");
        return e;
      }
      if (n == "none" || n == "None") {
        auto e = node(ExprKind::kLiteral, at);
        e->literal = Value::none();
        return e;
      }
      auto e = node(ExprKind::kName, at);
      e->name = n;
      return e;
    }
    if (at.type == Tok::kString) {
      std::string s;
      while (cur().type == Tok::kString) {
        s += cur().text;
        advance();
      }
      auto e = node(ExprKind::kLiteral, at);
      e->literal = Value::string(std::move(s));
      return e;
    }
    if (at.type == Tok::kInt || at.type == Tok::kFloat) {
      advance();
      auto e = node(ExprKind::kLiteral, at);
      e->literal = at.type == Tok::kInt ? Value::integer(at.i) : Value::number(at.f);
      return e;
    }
    if (is_op("(")) {
      advance();
      if (is_op(")")) {
        advance();
        return node(ExprKind::kTuple, at);
      }
      ExprPtr first = parse_expr();
      if (is_op(")")) {
        advance();
        return first;
      }
      auto tup = node(ExprKind::kTuple, at);
      tup->args.push_back(first);
      while (is_op(",")) {
        advance();
        if (is_op(")")) break;
        tup->args.push_back(parse_expr());
      }
      expect_op(")");
      return tup;
    }
    if (is_op("[")) {
      advance();
      auto list = node(ExprKind::kList, at);
      while (!is_op("]")) {
        list->args.push_back(parse_expr());
        if (!is_op(",")) break;
        advance();
      }
      expect_op("]");
      return list;
    }
    if (is_op("{")) {
      advance();
      auto dict = node(ExprKind::kDict, at);
      while (!is_op("}")) {
        dict->args.push_back(parse_expr());
        expect_op(":");
        dict->args.push_back(parse_expr());
        if (!is_op(",")) break;
        advance();
      }
      expect_op("}");
      return dict;
    }
    error(at, "unexpected " + describe(at));
  }

  void parse_call_args(MutExpr& call) {
    expect_op("(");
    while (!is_op(")")) {
      if (cur().type == Tok::kName && peek().type == Tok::kOp && peek().text == "=") {
        std::string key = cur().text;
        advance();
        advance();
        call->kwargs.emplace_back(key, parse_expr());
      } else {
        if (!call->kwargs.empty()) error(cur(), "positional argument follows keyword argument");
        call->args.push_back(parse_expr());
      }
      if (!is_op(",")) break;
      advance();
    }
    expect_op(")");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      const Token at = cur();
      if (is_op(".")) {
        advance();
        if (cur().type == Tok::kInt) {
          auto n = node(ExprKind::kIndex, at);
          auto lit = node(ExprKind::kLiteral, cur());
          lit->literal = Value::integer(cur().i);
          advance();
          n->args = {e, lit};
          e = n;
          continue;
        }
        auto n = node(ExprKind::kAttr, at);
        n->name = expect_name();
        n->args = {e};
        e = n;
      } else if (is_op("[")) {
        advance();
        e = parse_subscript(at, e);
      } else if (is_op("(")) {
        auto n = node(ExprKind::kCall, at);
        n->args.push_back(e);
        parse_call_args(n);
        e = n;
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(const Token& at, ExprPtr obj) {
    std::vector<ExprPtr> parts;
    bool slice = false;
    ExprPtr current;
    while (true) {
      if (is_op(":")) {
        slice = true;
        parts.push_back(current);
        current = nullptr;
        advance();
        continue;
      }
      if (is_op("]")) break;
      current = parse_expr();
    }
    parts.push_back(current);
    advance();
    if (!slice) {
      if (!parts[0]) error(at, "expected a subscript");
      auto n = node(ExprKind::kIndex, at);
      n->args = {obj, parts[0]};
      return n;
    }
    if (parts.size() > 3) error(at, "invalid slice");
    auto n = node(ExprKind::kSlice, at);
    n->args = {obj};
    for (size_t k = 0; k < 3; ++k) n->args.push_back(k < parts.size() ? parts[k] : nullptr);
    return n;
  }

  ExprPtr parse_filters(ExprPtr e) {
    while (true) {
      const Token at = cur();
      if (is_op("|")) {
        advance();
        auto n = node(ExprKind::kFilter, at);
        n->name = expect_name();
        n->args.push_back(e);
        if (is_op("(")) parse_call_args(n);
        e = n;
      } else if (is_name("is")) {
        advance();
        auto n = node(ExprKind::kTest, at);
        if (is_name("not")) {
          n->negated = true;
          advance();
        }
        n->name = expect_name();
        n->args.push_back(e);
        if (is_op("(")) {
          parse_call_args(n);
        } else if (cur().type == Tok::kString || cur().type == Tok::kInt ||
                   cur().type == Tok::kFloat || is_op("[") || is_op("{") ||
                   (cur().type == Tok::kName && cur().text != "else" && cur().text != "or" &&
                    cur().text != "and" && cur().text != "if" && cur().text != "is" &&
                    cur().text != "not" && cur().text != "in")) {
          n->args.push_back(parse_postfix(parse_primary()));
        }
        e = n;
      } else if (is_op("(")) {
        auto n = node(ExprKind::kCall, at);
        n->args.push_back(e);
        parse_call_args(n);
        e = n;
      } else {
        return e;
      }
    }
  }

  std::vector<Token> t_;
  size_t p_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse_template(const std::string& source) { return Parser(tokenize(source)).parse_all(); }

}  // namespace yun::jinja
