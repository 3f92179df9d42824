// jinja renderer: walks a parsed template (jinja_parser.h) and produces text.
//
// Scoping follows Jinja2: a for loop body has its own scope (a `set` inside it
// does not leak out; use namespace()), if-blocks do not; macros see the
// template's top-level scope plus their parameters. Limits (RenderLimits)
// bound output size, macro recursion and loop iterations, so hostile templates
// fail with an error instead of exhausting memory or time.
//
// The Result-returning entry points catch every interpreter error: nothing is
// thrown out of them.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "yun/base/status.h"
#include "yun/text/jinja_ast.h"
#include "yun/text/jinja_builtins.h"

namespace yun::jinja {

// Renders `body` with the variables of `vars` (a dict Value) on top of the
// globals (range, namespace, ...). Throws jinja::Error.
std::string render_body(const Body& body, const Value& vars, const RenderLimits& limits);

// Parses; kInvalidArgument "line L, column C: ..." on syntax errors.
Result<std::shared_ptr<const Body>> parse(const std::string& source);
// Renders with the keys of `context` (a JSON object) as variables;
// kInvalidArgument with the message on render errors.
Result<std::string> render(const Body& body, const nlohmann::ordered_json& context,
                           const RenderLimits& limits = RenderLimits());
// Renders with an already built variables dict.
Result<std::string> render(const Body& body, const Value& vars, const RenderLimits& limits = RenderLimits());

}  // namespace yun::jinja
