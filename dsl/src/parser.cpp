// The parser: the PEGTL grammar records a flat tree of the rules listed in `grammar::node_kind`
// (kind, byte range, end of subtree); the builder below turns that tree into the AST. Failed
// alternatives drop the nodes they recorded, so backtracking never leaves stale nodes behind.

#include "teamflow/dsl/parser.hpp"

#include "grammar.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace teamflow::dsl {

namespace {

namespace pegtl = tao::pegtl;
namespace g = grammar;
using g::NodeKind;

/// Deepest nesting of expressions (parentheses, lists, calls, operator chains).
constexpr int max_expression_depth = 256;
constexpr std::uint32_t incomplete = std::numeric_limits<std::uint32_t>::max();
constexpr const char* too_deep_message = "expression is nested too deeply (more than 256 levels)";

/// One recorded rule match: [begin, end) in the file; its descendants are (index, next).
struct Node {
    NodeKind kind = NodeKind::None;
    std::uint32_t begin = 0;
    std::uint32_t end = incomplete;
    std::uint32_t next = 0;
};

struct ParseState {
    std::vector<Node> nodes;
    const char* base = nullptr;
    int depth = 0;
};

template <typename Input> std::uint32_t offset_of(const Input& in, const ParseState& st) {
    return static_cast<std::uint32_t>(in.current() - st.base);
}

/// A syntax error at a byte offset. Thrown instead of `pegtl::parse_error`, whose position
/// would be computed by rescanning the input from its start.
struct SyntaxError {
    std::uint32_t offset = 0;
    const char* message = "";
};

/// Raises the grammar's error messages, records tree nodes and caps the expression depth.
template <typename Rule> struct control : pegtl::normal<Rule> {
    using base = pegtl::normal<Rule>;
    static constexpr const char* message = g::error_message<Rule>;

    template <typename ParseInput, typename... States>
    static void failure(const ParseInput& in, States&&... st) {
        if constexpr (message != nullptr) {
            raise(in, st...);
        }
    }

    template <typename ParseInput, typename... States>
    [[noreturn]] static void raise(const ParseInput& in, States&&... /*unused*/) {
        static_assert(message != nullptr, "every rule under must<> needs an error_message");
        throw SyntaxError{static_cast<std::uint32_t>(in.current() - in.begin()), message};
    }

    template <pegtl::apply_mode A, pegtl::rewind_mode M, template <typename...> class Action,
              template <typename...> class Control, typename ParseInput>
    [[nodiscard]] static bool match(ParseInput& in, ParseState& st) {
        // A rule that raises rewinds first, so the error points where it started.
        constexpr pegtl::rewind_mode mode = message != nullptr ? pegtl::rewind_mode::required : M;
        if constexpr (std::is_same_v<Rule, g::expr>) {
            if (st.depth >= max_expression_depth) {
                throw SyntaxError{offset_of(in, st), too_deep_message};
            }
            ++st.depth;
            const bool ok = record<A, mode, Action, Control>(in, st);
            --st.depth;
            return ok;
        } else {
            return record<A, mode, Action, Control>(in, st);
        }
    }

    template <pegtl::apply_mode A, pegtl::rewind_mode M, template <typename...> class Action,
              template <typename...> class Control, typename ParseInput>
    [[nodiscard]] static bool record(ParseInput& in, ParseState& st) {
        constexpr NodeKind kind = g::node_kind<Rule>;
        if constexpr (g::is_wrapper<Rule>) {
            // A precedence level (or a name with members) is recorded only when it holds more
            // than one subtree: `a` alone is not wrapped seven times.
            const auto first = static_cast<std::uint32_t>(st.nodes.size());
            const std::uint32_t begin = offset_of(in, st);
            if (!base::template match<A, M, Action, Control>(in, st)) {
                st.nodes.resize(first);
                return false;
            }
            const auto size = static_cast<std::uint32_t>(st.nodes.size());
            if (first < size && st.nodes[first].next != size) {
                for (std::uint32_t j = first; j < size; ++j) {
                    ++st.nodes[j].next;
                }
                st.nodes.insert(st.nodes.begin() + first,
                                Node{kind, begin, offset_of(in, st), size + 1});
            }
            return true;
        } else if constexpr (kind != NodeKind::None) {
            const auto index = static_cast<std::uint32_t>(st.nodes.size());
            st.nodes.push_back(Node{kind, offset_of(in, st), incomplete, 0});
            if (base::template match<A, M, Action, Control>(in, st)) {
                Node& n = st.nodes[index];
                n.end = offset_of(in, st);
                n.next = static_cast<std::uint32_t>(st.nodes.size());
                return true;
            }
            st.nodes.resize(index);
            return false;
        } else {
            return base::template match<A, M, Action, Control>(in, st);
        }
    }
};

/// A problem found while building the AST from a tree that parsed (e.g. an invalid date).
struct BuildError {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
    std::string message;
};

// ---------------------------------------------------------------------------------------------
// Literal helpers
// ---------------------------------------------------------------------------------------------

bool is_ident_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/// Unescapes the inside of a string token (quotes excluded); escapes were checked by the grammar.
std::string unescape(std::string_view raw) {
    if (raw.find('\\') == std::string_view::npos) {
        return std::string(raw);
    }
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '\\' && i + 1 < raw.size()) {
            ++i;
            switch (raw[i]) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            default:
                c = raw[i];
                break;
            }
        }
        out.push_back(c);
    }
    return out;
}

int digits_value(std::string_view s, std::size_t pos, std::size_t count) {
    int v = 0;
    for (std::size_t i = 0; i < count; ++i) {
        v = v * 10 + (s[pos + i] - '0');
    }
    return v;
}

bool is_leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
    static constexpr std::array<int, 12> days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[static_cast<std::size_t>(m - 1)];
}

/// Days since 1970-01-01 of a valid civil date (proleptic Gregorian).
std::int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2 ? 1 : 0;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const int yoe = y - era * 400;
    const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

// ---------------------------------------------------------------------------------------------
// The builder
// ---------------------------------------------------------------------------------------------

class Builder {
public:
    Builder(const std::vector<Node>& nodes, std::string_view text, FileId file)
        : nodes_(nodes), text_(text), file_(file) {}

    // -- tree navigation ------------------------------------------------------------------

    const Node& node(std::uint32_t i) const { return nodes_[i]; }
    NodeKind kind(std::uint32_t i) const { return nodes_[i].kind; }
    std::uint32_t first_child(std::uint32_t i) const { return i + 1; }
    std::uint32_t end_children(std::uint32_t i) const { return nodes_[i].next; }
    std::uint32_t next_sibling(std::uint32_t i) const { return nodes_[i].next; }

    /// Calls `f(child)` for each direct child.
    template <typename F> void each_child(std::uint32_t i, F&& f) const {
        for (std::uint32_t c = first_child(i); c < end_children(i); c = next_sibling(c)) {
            f(c);
        }
    }

    std::size_t child_count(std::uint32_t i) const {
        std::size_t n = 0;
        each_child(i, [&](std::uint32_t) { ++n; });
        return n;
    }

    std::size_t count(std::uint32_t i, NodeKind k) const {
        std::size_t n = 0;
        each_child(i, [&](std::uint32_t c) { n += kind(c) == k ? 1 : 0; });
        return n;
    }

    std::string_view token(std::uint32_t i) const {
        return text_.substr(nodes_[i].begin, nodes_[i].end - nodes_[i].begin);
    }

    SourceRange range(std::uint32_t i) const {
        return SourceRange{file_, nodes_[i].begin, nodes_[i].end};
    }

    SourceRange span(const SourceRange& a, const SourceRange& b) const {
        return SourceRange{file_, a.begin, b.end};
    }

    static bool is_name(NodeKind k) {
        return k == NodeKind::IdentName || k == NodeKind::QuotedName;
    }

    [[noreturn]] void fail(std::uint32_t i, std::string message) const {
        throw BuildError{nodes_[i].begin, nodes_[i].end, std::move(message)};
    }

    // -- names and strings ----------------------------------------------------------------

    Name name(std::uint32_t i) const {
        Name n;
        n.range = range(i);
        const std::string_view t = token(i);
        if (kind(i) == NodeKind::QuotedName) {
            n.text = unescape(t.substr(1, t.size() - 2));
            n.quoted = true;
        } else {
            n.text = std::string(t);
        }
        return n;
    }

    /// A name or a string node as a string literal.
    StringLit string_lit(std::uint32_t i) const {
        const std::string_view t = token(i);
        if (kind(i) == NodeKind::IdentName) {
            return StringLit{std::string(t), range(i)};
        }
        return StringLit{unescape(t.substr(1, t.size() - 2)), range(i)};
    }

    std::vector<Name> names(std::uint32_t i) const {
        std::vector<Name> out;
        each_child(i, [&](std::uint32_t c) {
            if (is_name(kind(c))) {
                out.push_back(name(c));
            }
        });
        return out;
    }

    std::int64_t duration_seconds(std::uint32_t i) const {
        const std::string_view t = token(i);
        std::int64_t total = 0;
        std::int64_t value = 0;
        constexpr std::int64_t limit = std::int64_t{1} << 52;
        for (const char c : t) {
            if (c >= '0' && c <= '9') {
                value = value * 10 + (c - '0');
                if (value > limit) {
                    fail(i, "duration is too large");
                }
                continue;
            }
            std::int64_t unit = 1;
            switch (c) {
            case 'w':
                unit = 7 * 86400;
                break;
            case 'd':
                unit = 86400;
                break;
            case 'h':
                unit = 3600;
                break;
            case 'm':
                unit = 60;
                break;
            default:
                break;
            }
            if (value > limit / unit) {
                fail(i, "duration is too large");
            }
            total += value * unit;
            if (total > limit) {
                fail(i, "duration is too large");
            }
            value = 0;
        }
        return total;
    }

    Duration duration(std::uint32_t i) const { return Duration{duration_seconds(i), range(i)}; }

    Message message(std::uint32_t i, int depth) const {
        Message m;
        m.range = range(i);
        std::string pending;
        each_child(i, [&](std::uint32_t c) {
            switch (kind(c)) {
            case NodeKind::MsgText:
                pending.append(token(c));
                break;
            case NodeKind::MsgEscape:
                pending.append(unescape(token(c)));
                break;
            case NodeKind::MsgInterp: {
                if (!pending.empty()) {
                    m.parts.push_back(MessagePart{std::move(pending), nullptr});
                    pending.clear();
                }
                MessagePart part;
                part.expr = expr(first_child(c), depth + 1);
                m.parts.push_back(std::move(part));
                break;
            }
            default:
                break;
            }
        });
        if (!pending.empty()) {
            m.parts.push_back(MessagePart{std::move(pending), nullptr});
        }
        return m;
    }

    // -- expressions ----------------------------------------------------------------------

    ExprPtr make(ExprKind k, SourceRange r) const {
        auto e = std::make_unique<Expr>();
        e->kind = k;
        e->range = r;
        return e;
    }

    static bool is_level(NodeKind k) {
        switch (k) {
        case NodeKind::Or:
        case NodeKind::And:
        case NodeKind::Not:
        case NodeKind::Cmp:
        case NodeKind::Add:
        case NodeKind::Mul:
        case NodeKind::Unary:
            return true;
        default:
            return false;
        }
    }

    /// Skips precedence levels that hold a single operand.
    std::uint32_t skip_levels(std::uint32_t i) const {
        while (is_level(kind(i)) && next_sibling(i + 1) == end_children(i)) {
            i = i + 1;
        }
        return i;
    }

    ExprPtr binary(Op op, ExprPtr lhs, ExprPtr rhs) const {
        auto e = make(ExprKind::Binary, span(lhs->range, rhs->range));
        e->op = op;
        e->args.push_back(std::move(lhs));
        e->args.push_back(std::move(rhs));
        return e;
    }

    /// Left-folds `operand (op operand)*`; `fixed` is the operator of and/or levels (no op nodes).
    ExprPtr fold(std::uint32_t i, int depth, Op fixed) const {
        int chain = -1;
        each_child(i, [&](std::uint32_t c) {
            if (kind(c) != NodeKind::AddOp && kind(c) != NodeKind::MulOp) {
                ++chain;
            }
        });
        if (depth + chain > max_expression_depth) {
            fail(i, too_deep_message);
        }
        std::uint32_t c = first_child(i);
        ExprPtr acc = expr(c, depth + chain);
        Op op = fixed;
        for (c = next_sibling(c); c < end_children(i); c = next_sibling(c)) {
            if (kind(c) == NodeKind::AddOp) {
                op = token(c) == "+" ? Op::Add : Op::Sub;
            } else if (kind(c) == NodeKind::MulOp) {
                op = token(c) == "*" ? Op::Mul : Op::Div;
            } else {
                acc = binary(op, std::move(acc), expr(c, depth + chain));
            }
        }
        return acc;
    }

    ExprPtr expr(std::uint32_t i, int depth) const {
        if (depth > max_expression_depth) {
            fail(i, too_deep_message);
        }
        i = skip_levels(i);
        switch (kind(i)) {
        case NodeKind::Or:
            return fold(i, depth, Op::Or);
        case NodeKind::And:
            return fold(i, depth, Op::And);
        case NodeKind::Add:
        case NodeKind::Mul:
            return fold(i, depth, Op::None);
        case NodeKind::Not:
        case NodeKind::Unary: {
            // Prefix operators, then the operand (the last child); apply them innermost first.
            int chain = 0;
            std::uint32_t operand = first_child(i);
            for (std::uint32_t c = first_child(i); c < end_children(i); c = next_sibling(c)) {
                if (kind(c) == NodeKind::NotOp || kind(c) == NodeKind::Neg) {
                    ++chain;
                } else {
                    operand = c;
                }
            }
            if (depth + chain > max_expression_depth) {
                fail(i, too_deep_message);
            }
            ExprPtr acc = expr(operand, depth + chain);
            // Prefix nodes are consecutive single nodes before the operand: walk them backwards.
            for (std::uint32_t c = operand; c > first_child(i);) {
                --c;
                auto e = make(ExprKind::Unary, SourceRange{file_, node(c).begin, acc->range.end});
                e->op = kind(c) == NodeKind::NotOp ? Op::Not : Op::Neg;
                e->args.push_back(std::move(acc));
                acc = std::move(e);
            }
            return acc;
        }
        case NodeKind::Cmp:
            return comparison(i, depth);
        case NodeKind::Paren: {
            ExprPtr inner = expr(first_child(i), depth);
            inner->range = range(i);
            return inner;
        }
        default:
            return primary(i, depth);
        }
    }

    ExprPtr comparison(std::uint32_t i, int depth) const {
        const std::uint32_t lhs_node = first_child(i);
        const std::uint32_t op_node = next_sibling(lhs_node);
        ExprPtr lhs = expr(lhs_node, depth + 1);
        const NodeKind op_kind = kind(op_node);
        if (op_kind == NodeKind::IsEmpty || op_kind == NodeKind::IsNotEmpty) {
            auto e =
                make(ExprKind::IsEmpty, SourceRange{file_, lhs->range.begin, node(op_node).end});
            e->negated = op_kind == NodeKind::IsNotEmpty;
            e->args.push_back(std::move(lhs));
            return e;
        }
        ExprPtr rhs = expr(next_sibling(op_node), depth + 1);
        if (op_kind == NodeKind::InOp || op_kind == NodeKind::NotInOp) {
            auto e = make(ExprKind::In, span(lhs->range, rhs->range));
            e->negated = op_kind == NodeKind::NotInOp;
            e->args.push_back(std::move(lhs));
            e->args.push_back(std::move(rhs));
            return e;
        }
        const std::string_view op = token(op_node);
        Op o = Op::Eq;
        if (op == "!=") {
            o = Op::Ne;
        } else if (op == "<") {
            o = Op::Lt;
        } else if (op == "<=") {
            o = Op::Le;
        } else if (op == ">") {
            o = Op::Gt;
        } else if (op == ">=") {
            o = Op::Ge;
        }
        return binary(o, std::move(lhs), std::move(rhs));
    }

    ExprPtr primary(std::uint32_t i, int depth) const {
        const std::string_view t = token(i);
        switch (kind(i)) {
        case NodeKind::Number: {
            auto e = make(ExprKind::Number, range(i));
            e->text = std::string(t);
            return e;
        }
        case NodeKind::String: {
            auto e = make(ExprKind::String, range(i));
            e->text = unescape(t.substr(1, t.size() - 2));
            return e;
        }
        case NodeKind::True:
        case NodeKind::False: {
            auto e = make(ExprKind::Bool, range(i));
            e->boolean = kind(i) == NodeKind::True;
            return e;
        }
        case NodeKind::Empty:
            return make(ExprKind::Empty, range(i));
        case NodeKind::Date: {
            auto e = make(ExprKind::Date, range(i));
            e->text = std::string(t);
            e->int_value = date_days(i);
            return e;
        }
        case NodeKind::DateTime: {
            auto e = make(ExprKind::DateTime, range(i));
            e->text = std::string(t);
            e->int_value = datetime_seconds(i);
            return e;
        }
        case NodeKind::Duration: {
            auto e = make(ExprKind::Duration, range(i));
            e->text = std::string(t);
            e->int_value = duration_seconds(i);
            return e;
        }
        case NodeKind::List: {
            auto e = make(ExprKind::List, range(i));
            each_child(i, [&](std::uint32_t c) { e->args.push_back(expr(c, depth + 1)); });
            return e;
        }
        case NodeKind::Call: {
            auto e = make(ExprKind::Call, range(i));
            std::size_t n = 0;
            while (n < t.size() && is_ident_char(t[n])) {
                ++n;
            }
            e->text = std::string(t.substr(0, n));
            each_child(i, [&](std::uint32_t c) { e->args.push_back(expr(c, depth + 1)); });
            return e;
        }
        case NodeKind::IdentName: {
            auto e = make(ExprKind::Name, range(i));
            e->text = std::string(t);
            return e;
        }
        case NodeKind::NameRef: {
            const std::uint32_t base = first_child(i);
            ExprPtr acc = make(ExprKind::Name, range(base));
            acc->text = std::string(token(base));
            int level = depth;
            for (std::uint32_t c = next_sibling(base); c < end_children(i); c = next_sibling(c)) {
                if (++level > max_expression_depth) {
                    fail(i, too_deep_message);
                }
                auto m = make(ExprKind::Member, SourceRange{file_, acc->range.begin, node(c).end});
                m->member = name(c);
                m->args.push_back(std::move(acc));
                acc = std::move(m);
            }
            return acc;
        }
        default:
            fail(i, "unexpected syntax in an expression");
        }
    }

    std::int64_t date_days(std::uint32_t i) const {
        const std::string_view t = token(i);
        const int y = digits_value(t, 0, 4);
        const int m = digits_value(t, 5, 2);
        const int d = digits_value(t, 8, 2);
        if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
            fail(i, "invalid date");
        }
        return days_from_civil(y, m, d);
    }

    std::int64_t datetime_seconds(std::uint32_t i) const {
        const std::string_view t = token(i);
        const std::int64_t days = date_days(i);
        const int hh = digits_value(t, 11, 2);
        const int mm = digits_value(t, 14, 2);
        std::size_t p = 16;
        int ss = 0;
        if (p < t.size() && t[p] == ':') {
            ss = digits_value(t, p + 1, 2);
            p += 3;
            if (p < t.size() && t[p] == '.') {
                ++p;
                while (p < t.size() && t[p] >= '0' && t[p] <= '9') {
                    ++p;
                }
            }
        }
        if (hh > 23 || mm > 59 || ss > 59) {
            fail(i, "invalid time of day");
        }
        std::int64_t zone = 0;
        if (p < t.size() && (t[p] == '+' || t[p] == '-')) {
            const int zh = digits_value(t, p + 1, 2);
            const std::size_t q = t[p + 3] == ':' ? p + 4 : p + 3;
            const int zm = digits_value(t, q, 2);
            if (zh > 23 || zm > 59) {
                fail(i, "invalid time zone offset");
            }
            zone = (zh * 3600 + zm * 60) * (t[p] == '-' ? -1 : 1);
        }
        return days * 86400 + hh * 3600 + mm * 60 + ss - zone;
    }

    // -- declarations ---------------------------------------------------------------------

    std::vector<Role> role(std::uint32_t i) const {
        std::vector<Role> out;
        for (Name& n : names(i)) {
            out.push_back(Role{std::move(n)});
        }
        return out;
    }

    User user(std::uint32_t i) const {
        User u;
        u.range = range(i);
        each_child(i, [&](std::uint32_t c) {
            switch (kind(c)) {
            case NodeKind::IdentName:
            case NodeKind::QuotedName:
                u.id = name(c);
                break;
            case NodeKind::UserName:
                u.display_name = string_lit(first_child(c));
                break;
            case NodeKind::UserEmail:
                u.email = string_lit(first_child(c));
                break;
            case NodeKind::UserRoles:
                for (Name& n : names(c)) {
                    u.roles.push_back(std::move(n));
                }
                break;
            default:
                break;
            }
        });
        return u;
    }

    FieldType field_type(std::uint32_t i) const {
        FieldType ft;
        ft.range = range(i);
        switch (kind(i)) {
        case NodeKind::TypePicklist:
            ft.kind = FieldKind::Picklist;
            each_child(i, [&](std::uint32_t c) { ft.values.push_back(string_lit(c)); });
            break;
        case NodeKind::TypeLookup:
            ft.kind = FieldKind::Lookup;
            ft.target = name(first_child(i));
            break;
        default: {
            static constexpr std::array<std::pair<std::string_view, FieldKind>, 11> simple{{
                {"text", FieldKind::Text},
                {"number", FieldKind::Number},
                {"currency", FieldKind::Currency},
                {"percent", FieldKind::Percent},
                {"boolean", FieldKind::Boolean},
                {"date", FieldKind::Date},
                {"datetime", FieldKind::DateTime},
                {"email", FieldKind::Email},
                {"phone", FieldKind::Phone},
                {"url", FieldKind::Url},
                {"user", FieldKind::User},
            }};
            const std::string_view t = token(i);
            for (const auto& [word, k] : simple) {
                if (t == word) {
                    ft.kind = k;
                }
            }
            break;
        }
        }
        return ft;
    }

    Field field(std::uint32_t i) const {
        Field f;
        f.range = range(i);
        each_child(i, [&](std::uint32_t c) {
            switch (kind(c)) {
            case NodeKind::IdentName:
            case NodeKind::QuotedName:
                f.name = name(c);
                break;
            case NodeKind::TypeSimple:
            case NodeKind::TypePicklist:
            case NodeKind::TypeLookup:
                f.type = field_type(c);
                break;
            case NodeKind::Required:
                f.required = true;
                break;
            case NodeKind::Unique:
                f.unique = true;
                break;
            case NodeKind::Default:
                f.default_value = expr(first_child(c), 0);
                break;
            case NodeKind::Label:
                f.label = string_lit(first_child(c));
                break;
            default:
                break;
            }
        });
        return f;
    }

    Assign assign(std::uint32_t i) const {
        Assign a;
        a.range = range(i);
        const std::uint32_t t = first_child(i);
        switch (kind(t)) {
        case NodeKind::AssignRole:
            a.kind = AssignKind::Role;
            break;
        case NodeKind::AssignRoundRobinMembers:
            a.kind = AssignKind::RoundRobinMembers;
            break;
        case NodeKind::AssignRoundRobinUsers:
            a.kind = AssignKind::RoundRobinUsers;
            break;
        case NodeKind::AssignLeast:
            a.kind = AssignKind::LeastLoadedMembers;
            break;
        default:
            a.kind = AssignKind::User;
            break;
        }
        a.names = names(t);
        return a;
    }

    Route route(std::uint32_t i) const {
        Route r;
        r.range = range(i);
        each_child(i, [&](std::uint32_t c) {
            RouteRule rule;
            rule.range = range(c);
            each_child(c, [&](std::uint32_t d) {
                if (kind(d) == NodeKind::Assign) {
                    rule.assign = assign(d);
                } else {
                    rule.when = expr(d, 0);
                }
            });
            r.rules.push_back(std::move(rule));
        });
        return r;
    }

    Accepts accepts(std::uint32_t i) const {
        Accepts a;
        a.range = range(i);
        each_child(i, [&](std::uint32_t c) {
            if (kind(c) == NodeKind::AcceptsFields) {
                for (Name& n : names(c)) {
                    a.fields.push_back(std::move(n));
                }
            } else if (is_name(kind(c))) {
                a.teams.push_back(name(c));
            }
        });
        return a;
    }

    Module module(std::uint32_t i) const {
        Module m;
        m.range = range(i);
        m.fields.reserve(count(i, NodeKind::Field));
        each_child(i, [&](std::uint32_t c) {
            switch (kind(c)) {
            case NodeKind::IdentName:
            case NodeKind::QuotedName:
                m.name = name(c);
                break;
            case NodeKind::Label:
                m.label = string_lit(first_child(c));
                break;
            case NodeKind::Field:
                m.fields.push_back(field(c));
                break;
            case NodeKind::Accepts:
                m.accepts = accepts(c);
                break;
            case NodeKind::Route:
                m.route = route(c);
                break;
            default:
                break;
            }
        });
        return m;
    }

    void append(std::vector<Name>& to, std::uint32_t i) const {
        for (Name& n : names(i)) {
            to.push_back(std::move(n));
        }
    }

    Teamspace teamspace(std::uint32_t i, std::vector<Module>& team_modules) const {
        Teamspace t;
        t.range = range(i);
        each_child(i, [&](std::uint32_t c) {
            switch (kind(c)) {
            case NodeKind::IdentName:
            case NodeKind::QuotedName:
                t.name = name(c);
                break;
            case NodeKind::Label:
                t.label = string_lit(first_child(c));
                break;
            case NodeKind::Members:
                append(t.members, c);
                break;
            case NodeKind::Admins:
                append(t.admins, c);
                break;
            case NodeKind::Modules:
                append(t.shown_modules, c);
                break;
            case NodeKind::Module:
                team_modules.push_back(module(c));
                break;
            default:
                break;
            }
        });
        return t;
    }

    Owner owner(std::uint32_t i) const {
        Owner o;
        o.range = range(i);
        const std::string_view t = token(i);
        const auto starts = [&](std::string_view kw) {
            return t.size() >= kw.size() && t.substr(0, kw.size()) == kw &&
                   (t.size() == kw.size() || !is_ident_char(t[kw.size()]));
        };
        if (starts("owner")) {
            o.kind = OwnerKind::Owner;
        } else if (starts("assignee")) {
            o.kind = OwnerKind::Assignee;
        } else if (starts("requester")) {
            o.kind = OwnerKind::Requester;
        } else if (starts("anyone")) {
            o.kind = OwnerKind::Anyone;
        } else if (starts("user")) {
            o.kind = OwnerKind::User;
        } else if (starts("role")) {
            o.kind = OwnerKind::Role;
        } else {
            o.kind = OwnerKind::Team;
        }
        if (first_child(i) < end_children(i)) {
            o.name = name(first_child(i));
        }
        return o;
    }

    std::vector<Assignment> assignments(std::uint32_t i) const {
        std::vector<Assignment> out;
        out.reserve(count(i, NodeKind::Assignment));
        each_child(i, [&](std::uint32_t c) {
            if (kind(c) == NodeKind::Assignment) {
                Assignment a;
                a.range = range(c);
                a.field = name(first_child(c));
                a.value = expr(next_sibling(first_child(c)), 0);
                out.push_back(std::move(a));
            }
        });
        return out;
    }

    /// `request T.M [as n] {…}` / `create M [as n] {…}`: fills team, module, as, assignments.
    template <typename T> void record_action(std::uint32_t i, T& target) const {
        std::vector<std::uint32_t> plain_names;
        each_child(i, [&](std::uint32_t c) {
            if (is_name(kind(c))) {
                plain_names.push_back(c);
            } else if (kind(c) == NodeKind::As) {
                target.as = name(first_child(c));
            }
        });
        if (kind(i) == NodeKind::RequestAction) {
            target.team = name(plain_names.at(0));
            target.module = name(plain_names.at(1));
        } else {
            target.module = name(plain_names.at(0));
        }
        target.assignments = assignments(i);
    }

    Action action(std::uint32_t then_node) const {
        Action a;
        a.range = range(then_node);
        const std::uint32_t i = first_child(then_node);
        switch (kind(i)) {
        case NodeKind::SetAction:
            a.kind = ActionKind::Set;
            a.field = name(first_child(i));
            a.value = expr(next_sibling(first_child(i)), 0);
            break;
        case NodeKind::NotifyAction:
            a.kind = ActionKind::Notify;
            a.recipient = owner(first_child(i));
            a.message = message(next_sibling(first_child(i)), 0);
            break;
        case NodeKind::WebhookAction:
            a.kind = ActionKind::Webhook;
            a.url = string_lit(first_child(i));
            break;
        case NodeKind::RequestAction:
            a.kind = ActionKind::Request;
            record_action(i, a);
            break;
        default:
            a.kind = ActionKind::Create;
            record_action(i, a);
            break;
        }
        return a;
    }

    FromSpec from(std::uint32_t i) const {
        FromSpec f;
        f.range = range(i);
        each_child(i, [&](std::uint32_t c) {
            if (kind(c) == NodeKind::FromAny) {
                f.any = true;
            } else if (is_name(kind(c))) {
                f.states.push_back(name(c));
            }
        });
        return f;
    }

    Transition transition(std::uint32_t i) const {
        Transition t;
        t.range = range(i);
        t.actions.reserve(count(i, NodeKind::Then));
        bool named = false;
        each_child(i, [&](std::uint32_t c) {
            switch (kind(c)) {
            case NodeKind::IdentName:
            case NodeKind::QuotedName:
                if (!named) {
                    t.name = name(c);
                    named = true;
                }
                break;
            case NodeKind::From:
                t.from = from(c);
                break;
            case NodeKind::HeaderTarget:
            case NodeKind::Target: {
                Target target;
                target.range = range(c);
                target.state = name(first_child(c));
                const std::uint32_t extra = next_sibling(first_child(c));
                if (extra < end_children(c)) {
                    if (kind(extra) == NodeKind::Otherwise) {
                        target.otherwise = true;
                    } else {
                        target.when = expr(extra, 0);
                    }
                }
                t.targets.push_back(std::move(target));
                break;
            }
            case NodeKind::After:
                t.after = duration(first_child(c));
                break;
            case NodeKind::By:
                each_child(c, [&](std::uint32_t o) { t.owners.push_back(owner(o)); });
                break;
            case NodeKind::When:
                t.when.push_back(expr(first_child(c), 0));
                break;
            case NodeKind::Require:
                append(t.require, c);
                break;
            case NodeKind::Validate: {
                Validation v;
                v.range = range(c);
                v.condition = expr(first_child(c), 0);
                v.message = message(next_sibling(first_child(c)), 0);
                t.validations.push_back(std::move(v));
                break;
            }
            case NodeKind::Checklist:
                each_child(c, [&](std::uint32_t s) { t.checklist.push_back(string_lit(s)); });
                break;
            case NodeKind::NoteRequired:
                t.note_required = true;
                break;
            case NodeKind::Then:
                t.actions.push_back(action(c));
                break;
            default:
                break;
            }
        });
        return t;
    }

    Parallel parallel(std::uint32_t i) const {
        Parallel p;
        p.range = range(i);
        bool named = false;
        each_child(i, [&](std::uint32_t c) {
            switch (kind(c)) {
            case NodeKind::IdentName:
            case NodeKind::QuotedName:
                if (!named) {
                    p.name = name(c);
                    named = true;
                } else {
                    p.to = name(c);
                }
                break;
            case NodeKind::From:
                p.from = from(c);
                break;
            case NodeKind::SubTransition:
                p.transitions.push_back(transition(c));
                break;
            case NodeKind::Then:
                p.actions.push_back(action(c));
                break;
            default:
                break;
            }
        });
        return p;
    }

    Sla sla(std::uint32_t i) const {
        Sla s;
        s.range = range(i);
        each_child(i, [&](std::uint32_t c) {
            switch (kind(c)) {
            case NodeKind::IdentName:
            case NodeKind::QuotedName:
                s.state = name(c);
                break;
            case NodeKind::Duration:
                s.within = duration(c);
                break;
            case NodeKind::When:
                s.when.push_back(expr(first_child(c), 0));
                break;
            case NodeKind::Then:
                s.actions.push_back(action(c));
                break;
            default:
                break;
            }
        });
        return s;
    }

    Blueprint blueprint(std::uint32_t i) const {
        Blueprint b;
        b.range = range(i);
        b.transitions.reserve(count(i, NodeKind::Transition));
        int names_seen = 0;
        each_child(i, [&](std::uint32_t c) {
            switch (kind(c)) {
            case NodeKind::IdentName:
            case NodeKind::QuotedName:
                (names_seen == 0 ? b.name : names_seen == 1 ? b.module : b.field) = name(c);
                ++names_seen;
                break;
            case NodeKind::When:
                b.when = expr(first_child(c), 0);
                break;
            case NodeKind::Transition:
                b.transitions.push_back(transition(c));
                break;
            case NodeKind::Parallel:
                b.parallels.push_back(parallel(c));
                break;
            case NodeKind::Sla:
                b.slas.push_back(sla(c));
                break;
            case NodeKind::Migrate: {
                Migrate m;
                m.range = range(c);
                m.from = name(first_child(c));
                m.to = name(next_sibling(first_child(c)));
                b.migrations.push_back(std::move(m));
                break;
            }
            default:
                break;
            }
        });
        return b;
    }

    /// `on`, `with`, `checklist`, `note "…"` and the refusal text of a transition step.
    void step_options(std::uint32_t c, Step& s) const {
        switch (kind(c)) {
        case NodeKind::On:
            s.on = name(first_child(c));
            break;
        case NodeKind::With:
            s.has_with = true;
            s.assignments = assignments(c);
            break;
        case NodeKind::Checklist:
            each_child(c, [&](std::uint32_t x) { s.checklist.push_back(string_lit(x)); });
            break;
        case NodeKind::NoteText:
            s.note = string_lit(first_child(c));
            break;
        case NodeKind::String:
            s.text = string_lit(c);
            break;
        default:
            break;
        }
    }

    Step step(std::uint32_t i) const {
        Step s;
        s.range = range(i);
        switch (kind(i)) {
        case NodeKind::StepAs:
            s.kind = StepKind::As;
            s.user = name(first_child(i));
            break;
        case NodeKind::CreateAction:
            s.kind = StepKind::Create;
            record_action(i, s);
            break;
        case NodeKind::RequestAction:
            s.kind = StepKind::Request;
            record_action(i, s);
            break;
        case NodeKind::StepUpdate:
            s.kind = StepKind::Update;
            if (is_name(kind(first_child(i)))) {
                s.on = name(first_child(i));
            }
            s.assignments = assignments(i);
            break;
        case NodeKind::StepTransition:
            s.kind = StepKind::Transition;
            s.transition = name(first_child(i));
            each_child(i, [&](std::uint32_t c) { step_options(c, s); });
            break;
        case NodeKind::StepExpect: {
            const std::uint32_t body = first_child(i);
            switch (kind(body)) {
            case NodeKind::ExpectRefused:
                s.kind = StepKind::ExpectRefused;
                s.transition = name(first_child(body));
                each_child(body, [&](std::uint32_t c) { step_options(c, s); });
                break;
            case NodeKind::ExpectNotified:
                s.kind = StepKind::ExpectNotified;
                s.user = name(first_child(body));
                each_child(body, [&](std::uint32_t c) { step_options(c, s); });
                break;
            case NodeKind::ExpectAssigned:
                s.kind = StepKind::ExpectAssigned;
                s.user = name(first_child(body));
                break;
            case NodeKind::ExpectWebhook:
                s.kind = StepKind::ExpectWebhook;
                s.text = string_lit(first_child(body));
                break;
            case NodeKind::ExpectState:
                s.kind = StepKind::ExpectState;
                s.text = string_lit(first_child(body));
                break;
            default:
                s.kind = StepKind::Expect;
                s.expr = expr(body, 0);
                break;
            }
            break;
        }
        case NodeKind::StepAdvance:
            s.kind = StepKind::Advance;
            s.duration = duration(first_child(i));
            break;
        default:
            s.kind = StepKind::Clock;
            s.expr = primary(first_child(i), 0);
            break;
        }
        return s;
    }

    Test test(std::uint32_t i) const {
        Test t;
        t.range = range(i);
        t.steps.reserve(child_count(i));
        bool named = false;
        each_child(i, [&](std::uint32_t c) {
            if (!named) {
                t.name = string_lit(c);
                named = true;
            } else {
                t.steps.push_back(step(c));
            }
        });
        return t;
    }

    /// Builds the declaration at node 0 into `ast` (all or nothing).
    void declaration(Ast& ast) const {
        const std::uint32_t i = 0;
        switch (kind(i)) {
        case NodeKind::Role: {
            std::vector<Role> roles = role(i);
            for (Role& r : roles) {
                ast.roles.push_back(std::move(r));
            }
            break;
        }
        case NodeKind::User:
            ast.users.push_back(user(i));
            break;
        case NodeKind::Module:
            ast.modules.push_back(module(i));
            break;
        case NodeKind::Teamspace: {
            std::vector<Module> team_modules;
            Teamspace t = teamspace(i, team_modules);
            for (Module& m : team_modules) {
                m.teamspace = t.name.text;
                t.team_modules.push_back(ast.modules.size());
                ast.modules.push_back(std::move(m));
            }
            ast.teamspaces.push_back(std::move(t));
            break;
        }
        case NodeKind::Blueprint:
            ast.blueprints.push_back(blueprint(i));
            break;
        case NodeKind::Test:
            ast.tests.push_back(test(i));
            break;
        default:
            break;
        }
    }

private:
    const std::vector<Node>& nodes_;
    std::string_view text_;
    FileId file_;
};

// ---------------------------------------------------------------------------------------------
// Recovery
// ---------------------------------------------------------------------------------------------

bool is_declaration_name_owner(NodeKind k) {
    switch (k) {
    case NodeKind::User:
    case NodeKind::Module:
    case NodeKind::Teamspace:
    case NodeKind::Blueprint:
    case NodeKind::Test:
    case NodeKind::Transition:
    case NodeKind::SubTransition:
    case NodeKind::Parallel:
        return true;
    default:
        return false;
    }
}

/// Names of declarations (and nested modules and transitions) read before an error.
void collect_partial_names(const std::vector<Node>& nodes, std::string_view text, Ast& ast) {
    const auto complete_name = [&](std::size_t j) {
        return j < nodes.size() && nodes[j].end != incomplete &&
               (nodes[j].kind == NodeKind::IdentName || nodes[j].kind == NodeKind::QuotedName);
    };
    const auto add = [&](std::size_t j) {
        const std::string_view t = text.substr(nodes[j].begin, nodes[j].end - nodes[j].begin);
        std::string n = nodes[j].kind == NodeKind::QuotedName ? unescape(t.substr(1, t.size() - 2))
                                                              : std::string(t);
        if (std::find(ast.partial_declarations.begin(), ast.partial_declarations.end(), n) ==
            ast.partial_declarations.end()) {
            ast.partial_declarations.push_back(std::move(n));
        }
    };
    if (!nodes.empty() && nodes[0].kind == NodeKind::Role) {
        for (std::size_t j = 1; j < nodes.size(); ++j) {
            if (complete_name(j)) {
                add(j);
            }
        }
        return;
    }
    for (std::size_t j = 0; j < nodes.size(); ++j) {
        if (is_declaration_name_owner(nodes[j].kind) && complete_name(j + 1)) {
            add(j + 1);
        }
    }
}

bool starts_with_word(std::string_view text, std::size_t p, std::string_view word) {
    return text.size() - p >= word.size() && text.compare(p, word.size(), word) == 0 &&
           (p + word.size() == text.size() || !is_ident_char(text[p + word.size()]));
}

bool starts_top_level_keyword(std::string_view text, std::size_t p) {
    static constexpr std::array<std::string_view, 6> keywords{"role",      "user",      "module",
                                                              "teamspace", "blueprint", "test"};
    return std::any_of(keywords.begin(), keywords.end(),
                       [&](std::string_view k) { return starts_with_word(text, p, k); });
}

/// Brace depth change over [from, to): strings and comments skipped, one line at a time.
int brace_delta(std::string_view text, std::size_t from, std::size_t to) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t p = from; p < to; ++p) {
        const char c = text[p];
        if (in_string) {
            if (c == '\\') {
                ++p;
            } else if (c == '"' || c == '\n') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '#') {
            while (p < to && text[p] != '\n') {
                ++p;
            }
        } else if (c == '{') {
            ++depth;
        } else if (c == '}') {
            --depth;
        }
    }
    return depth;
}

/// Where to resume after an error at `error` in the declaration starting at `start`: the next line
/// starting with a top-level keyword, in column 1 or outside the braces of the broken declaration.
std::size_t resync_point(std::string_view text, std::size_t start, std::size_t error) {
    std::size_t line = text.find('\n', std::min(error, text.size()));
    if (line == std::string_view::npos) {
        return text.size();
    }
    ++line;
    int depth = brace_delta(text, std::min(start, line), line);
    while (line < text.size()) {
        std::size_t p = line;
        while (p < text.size() && (text[p] == ' ' || text[p] == '\t' || text[p] == '\r')) {
            ++p;
        }
        if (starts_top_level_keyword(text, p) && (p == line || depth <= 0)) {
            return p;
        }
        std::size_t eol = text.find('\n', line);
        eol = eol == std::string_view::npos ? text.size() : eol + 1;
        depth += brace_delta(text, line, eol);
        line = eol;
    }
    return text.size();
}

/// The token at a syntax error: an identifier, or one UTF-8 character.
SourceRange error_range(std::string_view text, FileId file, std::size_t at) {
    at = std::min(at, text.size());
    std::size_t end = at;
    if (end < text.size() && is_ident_char(text[end])) {
        while (end < text.size() && is_ident_char(text[end])) {
            ++end;
        }
    } else if (end < text.size()) {
        ++end;
        while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
            ++end;
        }
    }
    return SourceRange{file, static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(end)};
}

using Input = pegtl::memory_input<pegtl::tracking_mode::lazy, pegtl::eol::lf_crlf, std::string>;

std::size_t skip_bom(std::string_view text) {
    return text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
}

} // namespace

bool parse_file(const SourceManager& sources, FileId file, Ast& ast, DiagnosticSink& sink) {
    const std::string_view text = sources.file(file).text();
    Input in(text.data(), text.data() + text.size(), std::string());
    ParseState st;
    st.base = text.data();
    st.nodes.reserve(1024);
    in.bump(skip_bom(text));
    bool ok = true;
    while (true) {
        st.nodes.clear();
        st.depth = 0;
        std::size_t start = static_cast<std::size_t>(in.current() - text.data());
        try {
            if (!pegtl::parse<g::next_declaration, pegtl::nothing, control>(in, st) ||
                st.nodes.empty()) {
                break;
            }
            start = st.nodes[0].begin;
            Builder(st.nodes, text, file).declaration(ast);
        } catch (const BuildError& e) {
            ok = false;
            sink.error("syntax-error", SourceRange{file, e.begin, e.end}, e.message);
            collect_partial_names(st.nodes, text, ast);
        } catch (const SyntaxError& e) {
            ok = false;
            const std::size_t at = std::min<std::size_t>(e.offset, text.size());
            sink.error("syntax-error", error_range(text, file, at), e.message);
            collect_partial_names(st.nodes, text, ast);
            if (!st.nodes.empty()) {
                start = st.nodes[0].begin;
            }
            const std::size_t resume = resync_point(text, start, at);
            in.restart();
            in.bump(resume);
        } catch (const std::exception& e) {
            // Nothing else is expected (e.g. out of memory): report once and stop this file.
            ok = false;
            sink.error("syntax-error", error_range(text, file, start),
                       std::string("cannot parse this file: ") + e.what());
            break;
        }
    }
    return ok;
}

ExprPtr parse_expression(const SourceManager& sources, FileId file, DiagnosticSink& sink) {
    const std::string_view text = sources.file(file).text();
    Input in(text.data(), text.data() + text.size(), std::string());
    ParseState st;
    st.base = text.data();
    try {
        pegtl::parse<g::expression_only, pegtl::nothing, control>(in, st);
        if (st.nodes.empty()) {
            return nullptr;
        }
        return Builder(st.nodes, text, file).expr(0, 0);
    } catch (const BuildError& e) {
        sink.error("syntax-error", SourceRange{file, e.begin, e.end}, e.message);
    } catch (const SyntaxError& e) {
        const std::size_t at = std::min<std::size_t>(e.offset, text.size());
        sink.error("syntax-error", error_range(text, file, at), e.message);
    } catch (const std::exception& e) {
        sink.error("syntax-error", error_range(text, file, 0),
                   std::string("cannot parse this expression: ") + e.what());
    }
    return nullptr;
}

} // namespace teamflow::dsl
