// Blueprint diagrams. The DOT text is generated here, deterministically (AST order, no hashing);
// Graphviz only lays it out and renders it, behind one mutex since it is not reentrant.
//
// Graphviz plugins: `gvContext()` finds its plugins through the `config6a` file that `dot -c`
// writes; without that file it knows no layout and no renderer at all. We do not depend on it: the
// plugin libraries are opened here (the folder of the loaded libgvc, or GVBINDIR, or the folder
// pkg-config gave at build time) and handed to `gvContextPlugins` as built-ins, with demand loading
// off. core (SVG) and dot_layout are required; pango (cairo PNG, real font metrics) or gd (PNG) are
// optional, and PNG output says which library it could not load.
//
// Labels are DOT quoted strings, not HTML-like labels: Graphviz 2.42 leaks memory on every HTML
// label it parses (about 10 KB per rendering of a small blueprint, measured), which a long-running
// server cannot afford; quoted labels do not leak.

#include "teamflow/engine/diagram.hpp"

#include "teamflow/dsl/parser.hpp"

#include <fmt/format.h>

#include <gvc.h>
#include <gvplugin.h>

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#ifndef TEAMFLOW_GRAPHVIZ_PLUGIN_DIR
#define TEAMFLOW_GRAPHVIZ_PLUGIN_DIR "/usr/lib/x86_64-linux-gnu/graphviz"
#endif
#ifndef TEAMFLOW_GRAPHVIZ_PLUGIN_ABI
#define TEAMFLOW_GRAPHVIZ_PLUGIN_ABI "6"
#endif

namespace teamflow::engine {

namespace {

// ---------------------------------------------------------------------------------------------
// Text: UTF-8 decoding, wrapping and escaping
// ---------------------------------------------------------------------------------------------

constexpr std::size_t label_width = 40; // code points per label line
constexpr char32_t replacement_char = 0xFFFD;
constexpr char32_t ellipsis = 0x2026;

/// Decodes UTF-8; every invalid or overlong sequence becomes U+FFFD.
std::u32string decode_utf8(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        if (b0 < 0x80) {
            out.push_back(b0);
            ++i;
            continue;
        }
        std::size_t len = 0;
        char32_t cp = 0;
        char32_t min = 0;
        if ((b0 & 0xE0) == 0xC0) {
            len = 2, cp = b0 & 0x1F, min = 0x80;
        } else if ((b0 & 0xF0) == 0xE0) {
            len = 3, cp = b0 & 0x0F, min = 0x800;
        } else if ((b0 & 0xF8) == 0xF0) {
            len = 4, cp = b0 & 0x07, min = 0x10000;
        }
        bool ok = len != 0 && i + len <= s.size();
        for (std::size_t k = 1; ok && k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            ok = (b & 0xC0) == 0x80;
            cp = (cp << 6) | (b & 0x3F);
        }
        ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        out.push_back(ok ? cp : replacement_char);
        i += ok ? len : 1;
    }
    return out;
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

bool is_line_break(char32_t c) {
    return c == '\n' || c == 0x2028 || c == 0x2029;
}

/// Control characters (C0, DEL, C1) shown as a space.
bool is_control(char32_t c) {
    return c < 0x20 || (c >= 0x7F && c < 0xA0);
}

/// Splits text into lines of at most `width` code points: at newlines, then at spaces (runs of
/// spaces collapse), cutting words longer than a line. Past `max_lines`, the last line ends in "…".
std::vector<std::u32string> wrap(std::string_view text, std::size_t width, std::size_t max_lines) {
    std::vector<std::u32string> lines;
    std::u32string line;
    bool open = false; // `line` holds the start of a paragraph, even if empty
    auto flush = [&] {
        lines.push_back(std::move(line));
        line.clear();
    };
    auto add_word = [&](std::u32string word) {
        if (!line.empty() && line.size() + 1 + word.size() <= width) {
            line.push_back(' ');
            line += word;
            return;
        }
        if (!line.empty()) {
            flush();
        }
        while (word.size() > width) {
            line = word.substr(0, width);
            flush();
            word.erase(0, width);
        }
        line = std::move(word);
    };
    std::u32string word;
    const std::u32string cps = decode_utf8(text);
    for (std::size_t i = 0; i < cps.size(); ++i) {
        char32_t c = cps[i];
        if (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') {
            continue;
        }
        if (c == '\r' || is_line_break(c)) {
            if (!word.empty()) {
                add_word(std::move(word));
                word.clear();
            }
            flush();
            open = false;
            continue;
        }
        open = true;
        if (is_control(c)) {
            c = ' ';
        }
        if (c == ' ') {
            if (!word.empty()) {
                add_word(std::move(word));
                word.clear();
            }
            continue;
        }
        word.push_back(c);
    }
    if (!word.empty()) {
        add_word(std::move(word));
    }
    if (open || !line.empty() || lines.empty()) {
        flush();
    }
    if (lines.size() > max_lines) {
        lines.resize(max_lines);
        std::u32string& last = lines.back();
        if (last.size() + 1 > width) {
            last.resize(width - 1);
        }
        while (!last.empty() && last.back() == ' ') {
            last.pop_back();
        }
        last.push_back(ellipsis);
    }
    return lines;
}

/// Appends a code point to a DOT double-quoted string. Graphviz reads such strings as escStrings
/// (`\\` and `\"` escapes, `\N`-style macros) and then decodes HTML entities in labels and in
/// SVG titles, so `&` is written `&amp;` for it to stay literal.
void append_quoted(std::string& out, char32_t c) {
    switch (c) {
    case '"':
        out += "\\\"";
        break;
    case '\\':
        out += "\\\\";
        break;
    case '&':
        out += "&amp;";
        break;
    default:
        if (is_line_break(c)) {
            out += "\\n";
        } else if (is_control(c)) {
            out += ' ';
        } else {
            append_utf8(out, c);
        }
    }
}

/// Label text for a DOT quoted string (without the quotes): wrapped, escaped, lines joined by
/// `\n`, at most `max_lines` lines (the last ends in an ellipsis when text was cut).
std::string label_text(std::string_view text, std::size_t max_lines,
                       std::size_t width = label_width) {
    std::string out;
    const auto lines = wrap(text, width, max_lines);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i > 0) {
            out += "\\n";
        }
        for (char32_t c : lines[i]) {
            append_quoted(out, c);
        }
    }
    return out;
}

/// A DOT double-quoted string of `text` as is (newlines kept), at most `max` code points. Used for
/// tooltips, which show the whole text that labels may shorten, and for the graph's name.
std::string quoted(std::string_view text, std::size_t max = 1000) {
    std::string out = "\"";
    std::size_t n = 0;
    for (char32_t c : decode_utf8(text)) {
        if (++n > max) {
            append_utf8(out, ellipsis);
            break;
        }
        append_quoted(out, c);
    }
    out += '"';
    return out;
}

/// Joins label parts (already escaped) into a quoted label, one part per line.
std::string label_of(const std::vector<std::string>& parts) {
    std::string out = "\"";
    for (std::size_t i = 0; i < parts.size(); ++i) {
        out += (i > 0 ? "\\n" : "") + parts[i];
    }
    return out + '"';
}

// ---------------------------------------------------------------------------------------------
// Words of the diagram
// ---------------------------------------------------------------------------------------------

/// `30d`, `4h`, `90m`, `20s`: the largest unit that divides the duration.
std::string duration_text(std::int64_t seconds) {
    if (seconds != 0 && seconds % 86400 == 0) {
        return fmt::format("{}d", seconds / 86400);
    }
    if (seconds != 0 && seconds % 3600 == 0) {
        return fmt::format("{}h", seconds / 3600);
    }
    if (seconds != 0 && seconds % 60 == 0) {
        return fmt::format("{}m", seconds / 60);
    }
    return fmt::format("{}s", seconds);
}

std::string owner_text(const dsl::Owner& o) {
    switch (o.kind) {
    case dsl::OwnerKind::Owner:
        return "owner";
    case dsl::OwnerKind::Assignee:
        return "assignee";
    case dsl::OwnerKind::Requester:
        return "requester";
    case dsl::OwnerKind::User:
        return "user " + o.name.text;
    case dsl::OwnerKind::Role:
        return "role " + o.name.text;
    case dsl::OwnerKind::Team:
        return "team " + o.name.text;
    case dsl::OwnerKind::Anyone:
        return "anyone";
    }
    return "owner";
}

/// `by owner, role SalesManager`; no owners means the record's owner, or nobody for automatic ones.
std::string owners_text(const dsl::Transition& t) {
    if (t.owners.empty()) {
        return t.after ? std::string() : "by owner";
    }
    std::string s = "by ";
    for (std::size_t i = 0; i < t.owners.size(); ++i) {
        s += (i > 0 ? ", " : "") + owner_text(t.owners[i]);
    }
    return s;
}

/// The before-criteria (`when` lines, and-ed), or "" when there are none.
std::string criteria_text(const std::vector<dsl::ExprPtr>& when) {
    std::string s;
    for (const auto& e : when) {
        if (!e) {
            continue;
        }
        std::string part = dsl::print_expr(*e);
        if (when.size() > 1 && e->kind == dsl::ExprKind::Binary && e->op == dsl::Op::Or) {
            part = "(" + part + ")";
        }
        s += (s.empty() ? "" : " and ") + part;
    }
    return s;
}

/// The label of a transition edge: the name, the owners, the delay, the criteria.
std::string transition_label(const dsl::Transition& t) {
    std::vector<std::string> parts{label_text(t.name.text, 3)};
    if (const std::string owners = owners_text(t); !owners.empty()) {
        parts.push_back(label_text(owners, 2));
    }
    if (t.after) {
        parts.push_back(label_text("after " + duration_text(t.after->seconds), 1));
    }
    if (const std::string when = criteria_text(t.when); !when.empty()) {
        parts.push_back(label_text("if " + when, 3));
    }
    return label_of(parts);
}

/// The tooltip of a transition: its full name, owners, delay and criteria, unwrapped.
std::string transition_tooltip(const dsl::Transition& t) {
    std::string s = t.name.text;
    if (const std::string owners = owners_text(t); !owners.empty()) {
        s += "\n" + owners;
    }
    if (t.after) {
        s += "\nafter " + duration_text(t.after->seconds);
    }
    if (const std::string when = criteria_text(t.when); !when.empty()) {
        s += "\nif " + when;
    }
    return quoted(s);
}

// ---------------------------------------------------------------------------------------------
// DOT generation
// ---------------------------------------------------------------------------------------------

struct StateNode {
    std::string name;
    std::string id;
    bool listed = false; ///< a value of the field (not only named by a transition)
    bool initial = false;
    bool has_exit = false;
    std::vector<std::int64_t> slas;
};

class DotBuilder {
public:
    DotBuilder(const dsl::Blueprint& bp, const dsl::Module& module) : bp_(bp), module_(module) {}

    DotGraph build() {
        collect_states();
        for (std::size_t i = 0; i < bp_.transitions.size(); ++i) {
            add_transition(bp_.transitions[i], i);
        }
        for (std::size_t i = 0; i < bp_.parallels.size(); ++i) {
            add_parallel(bp_.parallels[i], i);
        }
        std::string states;
        emit_states(states);
        add_legend();
        DotGraph g;
        g.nodes = nodes_;
        g.edges = edges_;
        g.text = header() + states + body_ + "}\n";
        return g;
    }

private:
    const dsl::Field* state_field() const {
        for (const auto& f : module_.fields) {
            if (f.name.text == bp_.field.text) {
                return &f;
            }
        }
        return nullptr;
    }

    std::size_t state_index(const std::string& name) {
        auto it = index_.find(name);
        if (it != index_.end()) {
            return it->second;
        }
        const std::size_t i = states_.size();
        states_.push_back({name, fmt::format("s{}", i), false, false, false, {}});
        index_.emplace(name, i);
        return i;
    }

    void collect_states() {
        if (const dsl::Field* f = state_field()) {
            for (const auto& v : f->type.values) {
                states_[state_index(v.value)].listed = true;
            }
            if (!states_.empty()) {
                std::size_t initial = 0;
                const dsl::Expr* d = f->default_value.get();
                if (d != nullptr && d->kind == dsl::ExprKind::String) {
                    auto it = index_.find(d->text);
                    initial = it != index_.end() ? it->second : 0;
                }
                states_[initial].initial = true;
            }
        }
        // States named only by transitions (an unchecked set) still get a node, in AST order.
        auto touch_from = [&](const dsl::FromSpec& from) {
            for (const auto& s : from.states) {
                state_index(s.text);
            }
        };
        for (const auto& t : bp_.transitions) {
            touch_from(t.from);
            for (const auto& target : t.targets) {
                state_index(target.state.text);
            }
        }
        for (const auto& p : bp_.parallels) {
            touch_from(p.from);
            state_index(p.to.text);
        }
        for (const auto& sla : bp_.slas) {
            states_[state_index(sla.state.text)].slas.push_back(sla.within.seconds);
        }
    }

    /// Marks the states a transition leaves; `from any` leaves every state but its only target.
    void mark_exits(const dsl::FromSpec& from, const std::string* only_target) {
        if (from.any) {
            for (auto& s : states_) {
                if (only_target == nullptr || s.name != *only_target) {
                    s.has_exit = true;
                }
            }
            any_used_ = true;
            return;
        }
        for (const auto& s : from.states) {
            states_[index_.at(s.text)].has_exit = true;
        }
    }

    /// The source node ids of a `from`: its states, or the "any state" node.
    std::vector<std::string> sources(const dsl::FromSpec& from) {
        std::vector<std::string> ids;
        if (from.any) {
            ids.emplace_back("any");
        }
        for (const auto& s : from.states) {
            ids.push_back(states_[index_.at(s.text)].id);
        }
        return ids;
    }

    void node(const std::string& id, const std::string& attrs) {
        body_ += "  " + id + " [" + attrs + "];\n";
        ++nodes_;
    }

    void edge(const std::string& from, const std::string& to, const std::string& attrs) {
        body_ += "  " + from + " -> " + to + (attrs.empty() ? "" : " [" + attrs + "]") + ";\n";
        ++edges_;
    }

    void add_transition(const dsl::Transition& t, std::size_t i) {
        const bool plain = t.targets.size() == 1 && !t.targets[0].when && !t.targets[0].otherwise;
        mark_exits(t.from, t.targets.size() == 1 ? &t.targets[0].state.text : nullptr);
        const std::string dashed = t.after ? ", style=dashed" : "";
        if (t.after) {
            used_automatic_ = true;
        }
        const std::string label =
            "label=" + transition_label(t) + ", tooltip=" + transition_tooltip(t) + dashed;
        if (plain) {
            const std::string& to = states_[index_.at(t.targets[0].state.text)].id;
            for (const auto& from : sources(t.from)) {
                edge(from, to, label);
            }
            return;
        }
        if (t.targets.empty()) {
            return;
        }
        used_conditional_ = true;
        const std::string decision = fmt::format("c{}", i);
        node(decision, "shape=diamond, style=solid, label=\"\", width=0.3, height=0.3, tooltip=" +
                           quoted(t.name.text + ": the first matching condition wins"));
        for (const auto& from : sources(t.from)) {
            edge(from, decision, label + ", arrowhead=none");
        }
        std::size_t n = 0;
        for (const auto& target : t.targets) {
            std::string text;
            if (target.otherwise) {
                text = "otherwise";
            } else if (target.when) {
                text = fmt::format("{}. when {}", ++n, dsl::print_expr(*target.when));
            }
            std::string attrs = dashed.empty() ? "" : dashed.substr(2);
            if (!text.empty()) {
                attrs = "label=" + label_of({label_text(text, 3)}) + ", tooltip=" + quoted(text) +
                        (dashed.empty() ? "" : dashed);
            }
            edge(decision, states_[index_.at(target.state.text)].id, attrs);
        }
    }

    void add_parallel(const dsl::Parallel& p, std::size_t i) {
        used_parallel_ = true;
        mark_exits(p.from, &p.to.text);
        const std::string fork = fmt::format("p{}_fork", i);
        const std::string join = fmt::format("p{}_join", i);
        const std::string bar = "shape=box, style=filled, color=black, fillcolor=black, "
                                "label=\"\", width=1.2, height=0.05, fixedsize=true, tooltip=";
        node(fork, bar + quoted(p.name.text + ": every sub-transition, in any order"));
        node(join, bar + quoted(p.name.text + ": done when all are done"));
        const std::string label =
            "label=" + label_of({label_text(p.name.text, 3), "all of, in any order"}) +
            ", tooltip=" + quoted(p.name.text) + ", arrowhead=none";
        for (const auto& from : sources(p.from)) {
            edge(from, fork, label);
        }
        for (const auto& t : p.transitions) {
            edge(fork, join,
                 "label=" + transition_label(t) + ", tooltip=" + transition_tooltip(t) +
                     (t.after ? ", style=dashed" : ""));
        }
        if (p.transitions.empty()) {
            edge(fork, join, "");
        }
        edge(join, states_[index_.at(p.to.text)].id, "");
    }

    void emit_states(std::string& out) {
        out += "  start [shape=point, width=0.12, label=\"\", tooltip=\"start\"];\n";
        ++nodes_;
        std::string initial;
        for (const auto& s : states_) {
            std::vector<std::string> label{label_text(s.name, 3)};
            std::string tooltip = s.name;
            if (!s.slas.empty()) {
                used_sla_ = true;
                std::string sla = "SLA";
                for (std::size_t k = 0; k < s.slas.size(); ++k) {
                    sla += (k > 0 ? ", " : " ") + duration_text(s.slas[k]);
                }
                label.push_back(label_text(sla, 1));
                tooltip += "\n" + sla;
            }
            const bool sla = !s.slas.empty();
            std::string attrs = "label=" + label_of(label) + ", tooltip=" + quoted(tooltip);
            if (s.initial) {
                attrs += ", style=\"rounded,bold\", penwidth=2";
                initial = s.id;
            }
            if (!s.has_exit) {
                attrs += ", peripheries=2";
            }
            if (sla) {
                attrs += ", color=\"#b03a2e\"";
            }
            if (!s.listed) {
                attrs += ", style=\"rounded,dotted\""; // not a value of the field (unchecked sets)
            }
            out += "  " + s.id + " [" + attrs + "];\n";
            ++nodes_;
        }
        if (any_used_) {
            out += "  any [label=\"any state\", style=\"rounded,dashed\", color=\"#666666\", "
                   "tooltip=\"from every state but the target\"];\n";
            ++nodes_;
        }
        if (!initial.empty()) {
            out += "  start -> " + initial + " [arrowsize=0.6];\n";
            ++edges_;
        }
    }

    void add_legend() {
        std::vector<std::pair<const char*, const char*>> rows = {
            {"initial state", "bold border, start point"},
            {"terminal state", "double border (no way out)"},
            {"transition", "name, owners (by ...), criteria (if ...)"},
        };
        if (used_sla_) {
            rows.emplace_back("SLA <delay>", "red border; escalation after that long in the state");
        }
        if (used_automatic_) {
            rows.emplace_back("automatic transition", "dashed, after its delay");
        }
        if (used_conditional_) {
            rows.emplace_back("conditional", "diamond; the first matching when wins");
        }
        if (used_parallel_) {
            rows.emplace_back("parallel", "bars; every sub-transition, in any order");
        }
        if (any_used_) {
            rows.emplace_back("any state", "from every state but the target");
        }
        // Left-justified lines (`\l`): the key, then what it means.
        std::string text = "Legend\\l";
        for (const auto& [what, meaning] : rows) {
            text += label_text(std::string(what) + ": " + meaning, 1, 80) + "\\l";
        }
        node("legend", "shape=note, style=solid, fontsize=8, color=\"#888888\", "
                       "tooltip=\"legend\", label=\"" +
                           text + "\"");
    }

    std::string header() const {
        const std::string title = label_of(
            {label_text(bp_.name.text, 2, 60),
             label_text("on " + bp_.module.text + "." + bp_.field.text, 2, 60),
             bp_.when ? label_text("for records where " + dsl::print_expr(*bp_.when), 4, 60)
                      : std::string("for every record")});
        std::string out = "digraph " + quoted(bp_.name.text, 200) + " {\n";
        out += "  graph [label=" + title +
               ", labelloc=t, fontname=\"Helvetica\", fontsize=14, "
               "rankdir=TB, nodesep=0.35, ranksep=0.45, pad=0.2, tooltip=" +
               quoted(bp_.name.text) + "];\n";
        // Less layout effort as graphs grow. Spline routing dominates on dense graphs (measured:
        // 120 states with 3 labelled edges each take 21 s with splines, 0.5 s with lines), then
        // network simplex and crossing minimisation.
        const std::size_t size = nodes_ + edges_;
        if (size > 600) {
            out += "  graph [nslimit=1, nslimit1=1, mclimit=0.1, searchsize=10, remincross=false, "
                   "splines=line];\n";
        } else if (size > 200) {
            out += "  graph [nslimit=4, nslimit1=4, mclimit=0.5, searchsize=30, "
                   "splines=polyline];\n";
        }
        out += "  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=11, "
               "height=0.4, margin=\"0.12,0.05\"];\n";
        out += "  edge [fontname=\"Helvetica\", fontsize=9, arrowsize=0.7, color=\"#404040\"];\n";
        return out;
    }

    const dsl::Blueprint& bp_;
    const dsl::Module& module_;
    std::vector<StateNode> states_;
    std::map<std::string, std::size_t> index_;
    std::string body_;
    std::size_t nodes_ = 0;
    std::size_t edges_ = 0;
    bool any_used_ = false;
    bool used_sla_ = false;
    bool used_automatic_ = false;
    bool used_conditional_ = false;
    bool used_parallel_ = false;
};

std::string too_big(std::size_t size, std::size_t max) {
    return fmt::format("the diagram is too big to draw: {} nodes and edges, the limit is {}; "
                       "render it as DOT instead",
                       size, max);
}

// ---------------------------------------------------------------------------------------------
// Graphviz, in process
// ---------------------------------------------------------------------------------------------

/// Where agerr messages go while a rendering holds the lock.
std::string* captured_errors = nullptr;

int capture_error(char* message) {
    if (captured_errors != nullptr && message != nullptr) {
        captured_errors->append(message);
    }
    return 0;
}

/// The folder holding the loaded libgvc, where its `graphviz/` plugin folder sits.
std::string libgvc_folder() {
    std::string folder;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* data) -> int {
            const char* name = info->dlpi_name;
            const char* hit = name != nullptr ? std::strstr(name, "/libgvc.so") : nullptr;
            if (hit == nullptr) {
                return 0;
            }
            *static_cast<std::string*>(data) = std::string(name, hit);
            return 1;
        },
        &folder);
    return folder;
}

class Graphviz {
public:
    static Graphviz& instance() {
        // Never destroyed: Graphviz and its plugins are not meant to be torn down and reloaded.
        static Graphviz* g = new Graphviz();
        return *g;
    }

    DiagramResult render(const std::string& dot, DiagramFormat format, std::size_t max) {
        DiagramResult r;
        const char* renderer = format == DiagramFormat::Png ? "png" : "svg";
        std::lock_guard lock(mutex_);
        if (gvc_ == nullptr) {
            r.error = "Graphviz is not usable: " + problems_;
            return r;
        }
        if (format == DiagramFormat::Png && !png_) {
            r.error = "PNG output needs the Graphviz pango (cairo) or gd plugin: " + problems_;
            return r;
        }
        std::string messages;
        captured_errors = &messages;
        const agusererrf previous = agseterrf(capture_error);
        struct Restore {
            agusererrf f;
            ~Restore() {
                agseterrf(f);
                captured_errors = nullptr;
            }
        } restore{previous};

        Agraph_t* g = agmemread(dot.c_str());
        if (g == nullptr) {
            r.error = "Graphviz could not read the DOT text: " + trimmed(messages);
            return r;
        }
        const auto size =
            static_cast<std::size_t>(agnnodes(g)) + static_cast<std::size_t>(agnedges(g));
        if (size > max) {
            agclose(g);
            r.error = too_big(size, max);
            return r;
        }
        if (gvLayout(gvc_, g, "dot") != 0) {
            agclose(g);
            r.error = "Graphviz could not lay out the diagram: " + trimmed(messages);
            return r;
        }
        char* data = nullptr;
        unsigned int length = 0;
        const int rc = gvRenderData(gvc_, g, renderer, &data, &length);
        if (rc == 0 && data != nullptr) {
            r.ok = true;
            r.data.assign(data, length);
        } else {
            r.error = fmt::format("Graphviz could not render {}: {}", renderer, trimmed(messages));
        }
        if (data != nullptr) {
            gvFreeRenderData(data);
        }
        gvFreeLayout(gvc_, g);
        agclose(g);
        return r;
    }

    std::string status() {
        std::lock_guard lock(mutex_);
        std::string s = "loaded: " + (loaded_.empty() ? std::string("none") : loaded_);
        if (!problems_.empty()) {
            s += "; " + problems_;
        }
        return s;
    }

private:
    Graphviz() {
        std::vector<std::string> folders;
        if (const char* env = std::getenv("GVBINDIR"); env != nullptr && *env != '\0') {
            folders.emplace_back(env); // Graphviz's own override of its plugin folder
        }
        if (const std::string lib = libgvc_folder(); !lib.empty()) {
            folders.push_back(lib + "/graphviz");
        }
        folders.emplace_back(TEAMFLOW_GRAPHVIZ_PLUGIN_DIR);

        const bool core = load(folders, "core");
        const bool layout = load(folders, "dot_layout");
        const bool pango = load(folders, "pango");
        const bool gd = load(folders, "gd");
        png_ = pango || gd;
        if (pango || gd) {
            png_problem_.clear();
        }
        if (!core || !layout) {
            return;
        }
        problems_ = png_ ? std::string() : png_problem_;
        builtins_.push_back({nullptr, nullptr});
        gvc_ = gvContextPlugins(builtins_.data(), 0);
        if (gvc_ == nullptr) {
            problems_ = "gvContextPlugins failed";
        }
    }

    /// Opens `libgvplugin_NAME.so.ABI` from the first folder that has it and records its library.
    bool load(const std::vector<std::string>& folders, const char* name) {
        std::string why;
        for (const auto& folder : folders) {
            const std::string path =
                fmt::format("{}/libgvplugin_{}.so.{}", folder, name, TEAMFLOW_GRAPHVIZ_PLUGIN_ABI);
            void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
            if (handle == nullptr) {
                const char* e = dlerror();
                why = e != nullptr ? e : path + ": cannot open";
                continue;
            }
            symbols_.push_back(fmt::format("gvplugin_{}_LTX_library", name));
            void* library = dlsym(handle, symbols_.back().c_str());
            if (library == nullptr) {
                why = path + ": no " + symbols_.back();
                symbols_.pop_back();
                continue;
            }
            builtins_.push_back({symbols_.back().c_str(), library});
            loaded_ += (loaded_.empty() ? "" : ", ") + std::string(name);
            return true;
        }
        const std::string problem = fmt::format("cannot load the {} plugin ({})", name, why);
        if (std::strcmp(name, "pango") == 0 || std::strcmp(name, "gd") == 0) {
            png_problem_ += (png_problem_.empty() ? "" : "; ") + problem;
        } else {
            problems_ += (problems_.empty() ? "" : "; ") + problem;
        }
        return false;
    }

    static std::string trimmed(std::string s) {
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
            s.pop_back();
        }
        std::replace(s.begin(), s.end(), '\n', ' ');
        return s.empty() ? std::string("no detail from Graphviz") : s;
    }

    std::mutex mutex_;
    GVC_t* gvc_ = nullptr;
    std::deque<std::string> symbols_; // stable storage for the names in builtins_
    std::vector<lt_symlist_t> builtins_;
    std::string loaded_;
    std::string problems_;
    std::string png_problem_;
    bool png_ = false;
};

} // namespace

std::optional<DiagramFormat> parse_diagram_format(std::string_view text) {
    if (text == "dot") {
        return DiagramFormat::Dot;
    }
    if (text == "svg") {
        return DiagramFormat::Svg;
    }
    if (text == "png") {
        return DiagramFormat::Png;
    }
    return std::nullopt;
}

const char* diagram_extension(DiagramFormat format) {
    switch (format) {
    case DiagramFormat::Dot:
        return "dot";
    case DiagramFormat::Svg:
        return "svg";
    case DiagramFormat::Png:
        return "png";
    }
    return "dot";
}

DotGraph blueprint_to_dot(const dsl::Blueprint& blueprint, const dsl::Module& module) {
    return DotBuilder(blueprint, module).build();
}

DiagramResult layout_dot(const std::string& dot, DiagramFormat format, std::size_t max_elements) {
    if (format == DiagramFormat::Dot) {
        return {true, dot, {}};
    }
    return Graphviz::instance().render(dot, format, max_elements);
}

DiagramResult render_blueprint(const dsl::Blueprint& blueprint, const dsl::Module& module,
                               DiagramFormat format) {
    DotGraph g = blueprint_to_dot(blueprint, module);
    if (format == DiagramFormat::Dot) {
        return {true, std::move(g.text), {}};
    }
    if (g.nodes + g.edges > max_diagram_elements) {
        return {false, {}, too_big(g.nodes + g.edges, max_diagram_elements)};
    }
    return layout_dot(g.text, format, max_diagram_elements);
}

DiagramResult render_blueprint(const dsl::Ast& ast, std::string_view name, DiagramFormat format) {
    const auto bp = std::find_if(ast.blueprints.begin(), ast.blueprints.end(),
                                 [&](const dsl::Blueprint& b) { return b.name.text == name; });
    if (bp == ast.blueprints.end()) {
        return {false, {}, fmt::format("no blueprint \"{}\"", name)};
    }
    const auto module =
        std::find_if(ast.modules.begin(), ast.modules.end(),
                     [&](const dsl::Module& m) { return m.name.text == bp->module.text; });
    if (module == ast.modules.end()) {
        return {
            false,
            {},
            fmt::format("blueprint \"{}\" is on an unknown module \"{}\"", name, bp->module.text)};
    }
    return render_blueprint(*bp, *module, format);
}

std::string graphviz_status() {
    return Graphviz::instance().status();
}

} // namespace teamflow::engine
