#pragma once
/// Loading a definition set from disk or memory: read, validate encoding, parse, check.

#include "teamflow/dsl/ast.hpp"
#include "teamflow/dsl/diagnostics.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace teamflow::dsl {

/// Largest `.flow` file accepted (bytes).
inline constexpr std::size_t max_file_bytes = 64u * 1024u * 1024u;

/// A parsed and checked definition set.
struct DefinitionSet {
    SourceManager sources;
    Ast ast;
    DiagnosticSink diagnostics;
    bool ok() const { return !diagnostics.has_errors(); }
};

/// A problem with the paths themselves (missing, unreadable, no `.flow` file): bad usage.
struct LoadError {
    std::string message;
};

/// Parses and checks in-memory files (path → source), in the given order.
std::unique_ptr<DefinitionSet> compile_sources(std::vector<std::pair<std::string, std::string>> files);

/// Collects the `.flow` files under `paths` (folders recursively, sorted; files as given), reads
/// them and compiles them. Missing paths or an empty set fill `error` and return null; encoding
/// problems and oversize files are diagnostics of the set.
std::unique_ptr<DefinitionSet> load_definition_set(const std::vector<std::string>& paths,
                                                   LoadError& error);

} // namespace teamflow::dsl
