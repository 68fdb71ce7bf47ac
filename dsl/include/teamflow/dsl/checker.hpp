#pragma once
/// Name resolution and type checking of a whole definition set.

#include "teamflow/dsl/ast.hpp"
#include "teamflow/dsl/diagnostics.hpp"

namespace teamflow::dsl {

/// Resolves every name across all files of the set, type-checks every expression against the field
/// types (filling `Expr::type`), and reports every error and warning to `sink`. Never stops at the
/// first error.
void check(Ast& ast, const SourceManager& sources, DiagnosticSink& sink);

/// The built-in fields every record has, and their types.
struct BuiltinField {
    const char* name;
    TypeKind type;
    bool writable_on_create; ///< e.g. `owner` may be set when creating
};
const std::vector<BuiltinField>& builtin_fields();

} // namespace teamflow::dsl
