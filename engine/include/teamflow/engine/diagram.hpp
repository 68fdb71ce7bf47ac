#pragma once
/// Blueprint diagrams: a checked blueprint drawn as DOT text (generated here, byte-for-byte
/// stable), then laid out and rendered as SVG or PNG by Graphviz in process (cgraph + gvc, no `dot`
/// command).
///
/// Visual language (also drawn as a legend in every diagram): states are rounded boxes; the initial
/// state has a bold border and a start point; a terminal state (no way out) has a double border; a
/// state's SLAs are noted under its name; transitions are edges labelled with their name and
/// owners; a conditional transition goes through a diamond, one edge per `to … when …` in order and
/// one for `otherwise`; a parallel goes through a fork bar, one edge per sub-transition, and a join
/// bar; `from any` transitions start from one "any state" node; automatic transitions are dashed
/// and say their delay; the entry criteria are in the title.

#include "teamflow/dsl/ast.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace teamflow::engine {

/// The output formats of a diagram.
enum class DiagramFormat { Dot, Svg, Png };

/// Parses a format name: `dot`, `svg` or `png`.
std::optional<DiagramFormat> parse_diagram_format(std::string_view text);

/// The usual file extension of a format, without the dot (`svg`).
const char* diagram_extension(DiagramFormat format);

/// The largest graph (nodes plus edges) that is laid out as SVG or PNG; DOT text has no limit.
inline constexpr std::size_t max_diagram_elements = 2000;

/// The outcome of a rendering: `data` (DOT or SVG text, PNG bytes) when `ok`, else `error`.
struct DiagramResult {
    bool ok = false;
    std::string data;
    std::string error;
};

/// The DOT text of a blueprint and the size of its graph.
struct DotGraph {
    std::string text;
    std::size_t nodes = 0;
    std::size_t edges = 0;
};

/// Generates the DOT text of `blueprint`; its states are the values of its field in `module`.
DotGraph blueprint_to_dot(const dsl::Blueprint& blueprint, const dsl::Module& module);

/// Lays out DOT text with Graphviz's `dot` engine and renders it as SVG or PNG (DOT is returned
/// as given). Graphs of more than `max_elements` nodes plus edges are refused. Thread-safe.
DiagramResult layout_dot(const std::string& dot, DiagramFormat format,
                         std::size_t max_elements = max_diagram_elements);

/// Draws `blueprint` of `module` in `format`. Thread-safe.
DiagramResult render_blueprint(const dsl::Blueprint& blueprint, const dsl::Module& module,
                               DiagramFormat format);

/// Draws the blueprint named `name` of a checked set; an unknown name is an error. Thread-safe.
DiagramResult render_blueprint(const dsl::Ast& ast, std::string_view name, DiagramFormat format);

/// Which Graphviz plugins are loaded (`core, dot_layout, pango, gd`) and why any is missing.
std::string graphviz_status();

} // namespace teamflow::engine
