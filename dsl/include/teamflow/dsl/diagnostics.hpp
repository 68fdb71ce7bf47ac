#pragma once
/// Diagnostics as data: collected by a sink, rendered once at the end.

#include "teamflow/dsl/source.hpp"

#include <string>
#include <vector>

namespace teamflow::dsl {

enum class Severity { Error, Warning, Note };

/// A note attached to a diagnostic, e.g. "previous declaration is here".
struct DiagnosticNote {
    std::string message;
    SourceRange range;
    bool has_range = false;
};

/// One finding: where, how bad, a stable code and a message (lower-case, names quoted).
struct Diagnostic {
    Severity severity = Severity::Error;
    std::string code;
    std::string message;
    SourceRange range;
    std::vector<DiagnosticNote> notes;
};

/// Collects diagnostics; never stops at the first one.
class DiagnosticSink {
public:
    Diagnostic& error(std::string code, SourceRange range, std::string message);
    Diagnostic& warning(std::string code, SourceRange range, std::string message);
    void add(Diagnostic d);
    bool has_errors() const { return errors_ > 0; }
    std::size_t error_count() const { return errors_; }
    std::size_t warning_count() const { return warnings_; }
    const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
    /// Sorts by file, then position, keeping the order of equal positions.
    void sort();

private:
    std::vector<Diagnostic> diagnostics_;
    std::size_t errors_ = 0;
    std::size_t warnings_ = 0;
};

/// Renders `file:line:col: severity: message`, the source line and a caret line under the range.
/// With `color`, uses ANSI colours as clang does.
std::string render_diagnostic(const SourceManager& sources, const Diagnostic& d, bool color);

/// Renders every diagnostic and a closing summary line ("2 errors, 1 warning generated.") when any.
std::string render_diagnostics(const SourceManager& sources, const std::vector<Diagnostic>& ds,
                               bool color);

/// The closest candidate to `name` by edit distance, or "" when none is near enough.
std::string closest_name(std::string_view name, const std::vector<std::string_view>& candidates);

/// `"x"` quoting used in messages: the name in double quotes.
std::string quote(std::string_view name);

} // namespace teamflow::dsl
