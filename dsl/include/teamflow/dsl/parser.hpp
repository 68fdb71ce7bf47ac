#pragma once
/// The PEGTL parser of `.flow` files.

#include "teamflow/dsl/ast.hpp"
#include "teamflow/dsl/diagnostics.hpp"

namespace teamflow::dsl {

/// Parses file `file` of `sources` and appends its declarations to `ast`.
/// Syntax errors are reported to `sink` (code `syntax-error`, saying what was expected); after an
/// error the parser resumes at the next top-level declaration, so one run reports an error per
/// broken declaration. Returns false when any syntax error was found.
bool parse_file(const SourceManager& sources, FileId file, Ast& ast, DiagnosticSink& sink);

/// Parses a single expression (used by tests and tools). Returns null on a syntax error.
ExprPtr parse_expression(const SourceManager& sources, FileId file, DiagnosticSink& sink);

/// Prints the AST back as `.flow` source in a canonical layout; parsing the output gives the same AST
/// (ranges aside).
std::string print_ast(const Ast& ast);

/// Prints one expression in canonical form (fully parenthesised only where precedence needs it).
std::string print_expr(const Expr& expr);

} // namespace teamflow::dsl
