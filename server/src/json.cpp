#include "teamflow/server/json.hpp"

#include <boost/json/serialize.hpp>

namespace teamflow::server {

namespace json = boost::json;

namespace {

const char* severity_name(dsl::Severity s) {
    switch (s) {
    case dsl::Severity::Error:
        return "error";
    case dsl::Severity::Warning:
        return "warning";
    case dsl::Severity::Note:
        return "note";
    }
    return "error";
}

void put_location(json::object& o, const dsl::SourceManager& sources, dsl::SourceRange range) {
    if (range.file >= sources.size()) {
        return;
    }
    const dsl::SourceFile& file = sources.file(range.file);
    const dsl::LineColumn begin = file.line_column(range.begin);
    const dsl::LineColumn end = file.line_column(std::max(range.end, range.begin));
    o["file"] = file.path();
    o["line"] = begin.line;
    o["column"] = begin.column;
    o["end_line"] = end.line;
    o["end_column"] = range.end > range.begin ? end.column : begin.column + 1;
}

} // namespace

json::object diagnostic_to_json(const dsl::SourceManager& sources, const dsl::Diagnostic& d) {
    json::object o;
    put_location(o, sources, d.range);
    o["severity"] = severity_name(d.severity);
    o["code"] = d.code;
    o["message"] = d.message;
    if (!d.notes.empty()) {
        json::array notes;
        for (const dsl::DiagnosticNote& n : d.notes) {
            json::object no;
            if (n.has_range) {
                put_location(no, sources, n.range);
            }
            no["message"] = n.message;
            notes.push_back(std::move(no));
        }
        o["notes"] = std::move(notes);
    }
    return o;
}

json::object check_result_to_json(const dsl::DefinitionSet& set) {
    json::object o;
    o["ok"] = set.ok();
    json::array diagnostics;
    for (const dsl::Diagnostic& d : set.diagnostics.diagnostics()) {
        diagnostics.push_back(diagnostic_to_json(set.sources, d));
    }
    o["diagnostics"] = std::move(diagnostics);
    json::array blueprints;
    for (const dsl::Blueprint& b : set.ast.blueprints) {
        blueprints.push_back(json::string(b.name.text));
    }
    o["blueprints"] = std::move(blueprints);
    return o;
}

std::string to_string(const json::value& v) { return json::serialize(v); }

} // namespace teamflow::server
