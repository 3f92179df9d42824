// jinja AST: expressions and statements produced by the parser (jinja_parser.h)
// and walked by the renderer (jinja_renderer.h). Nodes are immutable after parsing.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "yun/text/jinja_value.h"

namespace yun::jinja {

enum class ExprKind : uint8_t {
  kLiteral,  // literal
  kName,     // name
  kList,     // args = items
  kTuple,    // args = items
  kDict,     // args = key0, value0, key1, value1, ...
  kAttr,     // args[0].name
  kIndex,    // args[0][args[1]]
  kSlice,    // args[0][args[1]:args[2]:args[3]] (null parts allowed)
  kCall,     // args[0](args[1..], kwargs)
  kFilter,   // args[0] | name(args[1..], kwargs)
  kTest,     // args[0] is [not] name(args[1..], kwargs)
  kUnary,    // name in {"-", "+"} applied to args[0]
  kBinary,   // args[0] name args[1]; name in + - * / // % ** ~
  kCompare,  // args[0] ops[0] args[1] ops[1] args[2] ... (chained)
  kAnd,
  kOr,
  kNot,
  kCond,     // args[0] if args[1] else args[2] (args[2] may be null)
};

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  ExprKind kind;
  int line = 0, col = 0;
  std::string name;
  Value literal;
  bool negated = false;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
};

enum class StmtKind : uint8_t {
  kText,      // text
  kOutput,    // {{ expr }}
  kIf,        // branches (null condition = else)
  kFor,       // targets in expr [if filter]: body [else else_body]
  kSet,       // targets (or targets[0].attr) = expr, or block set of body
  kMacro,     // name(params): body
  kBreak,
  kContinue,
  kBlock,     // body rendered as is ({% generation %})
};

struct Stmt;
using StmtPtr = std::shared_ptr<const Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  StmtKind kind;
  int line = 0, col = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<std::string> targets;
  std::string attr;  // kSet: `set targets[0].attr = expr`
  Body body, else_body;
  std::string name;
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro (default may be null)
};

}  // namespace yun::jinja
