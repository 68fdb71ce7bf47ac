#pragma once
/// JSON shapes shared by the HTTP API and the command line (Boost.JSON).

#include "teamflow/dsl/diagnostics.hpp"
#include "teamflow/dsl/frontend.hpp"

#include <boost/json/value.hpp>

#include <string>

namespace teamflow::server {

/// One diagnostic as the API shows it: file, line, column, end_line, end_column, severity, code,
/// message (and notes, when any).
boost::json::object diagnostic_to_json(const dsl::SourceManager& sources, const dsl::Diagnostic& d);

/// `{"ok": bool, "diagnostics": [...], "blueprints": [...]}` for a compiled set.
boost::json::object check_result_to_json(const dsl::DefinitionSet& set);

/// Serialises a JSON value compactly.
std::string to_string(const boost::json::value& v);

} // namespace teamflow::server
