#include "teamflow/dsl/diagnostics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace teamflow::dsl {

Diagnostic& DiagnosticSink::error(std::string code, SourceRange range, std::string message) {
    add(Diagnostic{Severity::Error, std::move(code), std::move(message), range, {}});
    return diagnostics_.back();
}

Diagnostic& DiagnosticSink::warning(std::string code, SourceRange range, std::string message) {
    add(Diagnostic{Severity::Warning, std::move(code), std::move(message), range, {}});
    return diagnostics_.back();
}

void DiagnosticSink::add(Diagnostic d) {
    if (d.severity == Severity::Error) {
        ++errors_;
    } else if (d.severity == Severity::Warning) {
        ++warnings_;
    }
    diagnostics_.push_back(std::move(d));
}

void DiagnosticSink::sort() {
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                         if (a.range.file != b.range.file) {
                             return a.range.file < b.range.file;
                         }
                         return a.range.begin < b.range.begin;
                     });
}

namespace {

struct Style {
    bool on;
    const char* bold() const { return on ? "\x1b[1m" : ""; }
    const char* reset() const { return on ? "\x1b[0m" : ""; }
    const char* green() const { return on ? "\x1b[1;32m" : ""; }
    const char* severity(Severity s) const {
        if (!on) {
            return "";
        }
        switch (s) {
        case Severity::Error:
            return "\x1b[1;31m";
        case Severity::Warning:
            return "\x1b[1;35m";
        case Severity::Note:
            return "\x1b[1;36m";
        }
        return "";
    }
};

const char* severity_text(Severity s) {
    switch (s) {
    case Severity::Error:
        return "error";
    case Severity::Warning:
        return "warning";
    case Severity::Note:
        return "note";
    }
    return "error";
}

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

/// Appends the source line and a caret line marking [begin, end) of that line.
void render_snippet(std::string& out, const SourceFile& file, SourceRange range, const Style& st) {
    const LineColumn lc = file.line_column(range.begin);
    const std::string_view line = file.line_text(lc.line);
    out += line;
    out += '\n';
    // Marker: the same whitespace as the source up to the start (tabs stay tabs), then ^~~~.
    std::string marker;
    const std::size_t line_start = static_cast<std::size_t>(line.data() - file.text().data());
    const std::size_t start = range.begin - line_start;
    for (std::size_t i = 0; i < start && i < line.size(); ++i) {
        if (is_continuation(line[i])) {
            continue;
        }
        marker += line[i] == '\t' ? '\t' : ' ';
    }
    marker += '^';
    const std::size_t end = std::min<std::size_t>(range.end > range.begin ? range.end - line_start : 0,
                                                  line.size());
    for (std::size_t i = start + 1; i < end; ++i) {
        if (!is_continuation(line[i])) {
            marker += '~';
        }
    }
    out += st.green();
    out += marker;
    out += st.reset();
    out += '\n';
}

void render_one(std::string& out, const SourceManager& sources, Severity severity,
                const std::string& message, SourceRange range, bool has_range, const Style& st) {
    if (has_range && range.file < sources.size()) {
        const SourceFile& file = sources.file(range.file);
        const LineColumn lc = file.line_column(range.begin);
        out += fmt::format("{}{}:{}:{}: {}{}:{} {}{}\n", st.bold(), file.path(), lc.line,
                           lc.column, st.severity(severity), severity_text(severity), st.reset(),
                           st.bold(), message);
        out += st.reset();
        render_snippet(out, file, range, st);
    } else {
        out += fmt::format("{}{}:{} {}{}{}\n", st.severity(severity), severity_text(severity),
                           st.reset(), st.bold(), message, st.reset());
    }
}

} // namespace

std::string render_diagnostic(const SourceManager& sources, const Diagnostic& d, bool color) {
    const Style st{color};
    std::string out;
    render_one(out, sources, d.severity, d.message, d.range, true, st);
    for (const DiagnosticNote& note : d.notes) {
        render_one(out, sources, Severity::Note, note.message, note.range, note.has_range, st);
    }
    return out;
}

std::string render_diagnostics(const SourceManager& sources, const std::vector<Diagnostic>& ds,
                               bool color) {
    std::string out;
    std::size_t errors = 0;
    std::size_t warnings = 0;
    for (const Diagnostic& d : ds) {
        out += render_diagnostic(sources, d, color);
        errors += d.severity == Severity::Error ? 1 : 0;
        warnings += d.severity == Severity::Warning ? 1 : 0;
    }
    if (errors + warnings > 0) {
        auto plural = [](std::size_t n, const char* word) {
            return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
        };
        if (errors > 0 && warnings > 0) {
            out += fmt::format("{} and {} generated.\n", plural(errors, "error"),
                               plural(warnings, "warning"));
        } else if (errors > 0) {
            out += fmt::format("{} generated.\n", plural(errors, "error"));
        } else {
            out += fmt::format("{} generated.\n", plural(warnings, "warning"));
        }
    }
    return out;
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit) {
    // Levenshtein on lower-cased bytes, one row at a time, with an early exit past `limit`.
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t prev = row[0];
        row[0] = i;
        std::size_t best = row[0];
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cur = row[j];
            const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                              std::tolower(static_cast<unsigned char>(b[j - 1]));
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (same ? 0 : 1)});
            prev = cur;
            best = std::min(best, row[j]);
        }
        if (best > limit) {
            return limit + 1;
        }
    }
    return row[b.size()];
}

} // namespace

std::string closest_name(std::string_view name, const std::vector<std::string_view>& candidates) {
    const std::size_t limit = std::max<std::size_t>(1, (name.size() + 2) / 3);
    std::size_t best = limit + 1;
    std::string_view found;
    for (std::string_view c : candidates) {
        if (c == name) {
            continue;
        }
        const std::size_t longer = std::max(c.size(), name.size());
        const std::size_t shorter = std::min(c.size(), name.size());
        if (longer - shorter > limit) {
            continue;
        }
        const std::size_t d = edit_distance(name, c, limit);
        if (d < best && d < std::max<std::size_t>(name.size(), 2)) {
            best = d;
            found = c;
        }
    }
    return std::string(found);
}

std::string quote(std::string_view name) {
    std::string out;
    out.reserve(name.size() + 2);
    out += '"';
    for (char c : name) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '"';
    return out;
}

} // namespace teamflow::dsl
