// The canonical printer: AST → `.flow` text that parses back to the same AST (ranges aside).
// Layout: declarations in a fixed order (roles, users, org modules, teamspaces with their team
// modules, blueprints, tests), one statement per line, 4-space indentation.

#include "teamflow/dsl/parser.hpp"

#include <array>
#include <cstdio>
#include <string_view>
#include <utility>

namespace teamflow::dsl {

namespace {

bool is_identifier(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    const auto first = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    };
    if (!first(s[0])) {
        return false;
    }
    for (const char c : s) {
        if (!first(c) && !(c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

/// Words that a bare name would be mistaken for where a name may follow a keyword choice
/// (`from any`, `assign role …`, `assign round robin members`, `assign least loaded …`).
bool needs_quotes(std::string_view s) {
    static constexpr std::array<std::string_view, 5> words{"any", "role", "round", "least",
                                                           "members"};
    for (const std::string_view w : words) {
        if (s == w) {
            return true;
        }
    }
    return !is_identifier(s);
}

/// Role lists end where a top-level declaration starts, so such role names are quoted.
bool is_top_level_keyword(std::string_view s) {
    return s == "role" || s == "user" || s == "module" || s == "teamspace" || s == "blueprint" ||
           s == "test";
}

void append_escaped(std::string& out, std::string_view s, bool message) {
    for (const char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '{':
            out += message ? "\\{" : "{";
            break;
        default:
            out.push_back(c);
            break;
        }
    }
}

std::string quoted(std::string_view s) {
    std::string out = "\"";
    append_escaped(out, s, false);
    out += '"';
    return out;
}

std::string name_text(const Name& n) {
    return n.quoted || needs_quotes(n.text) ? quoted(n.text) : n.text;
}

std::string duration_text(std::int64_t seconds) {
    if (seconds <= 0) {
        return "0s";
    }
    static constexpr std::array<std::pair<std::int64_t, char>, 5> units{
        {{7 * 86400, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}}};
    for (const auto& [size, unit] : units) {
        if (seconds % size == 0) {
            return std::to_string(seconds / size) + unit;
        }
    }
    return "0s";
}

/// Civil date of a day count since 1970-01-01.
std::string date_text(std::int64_t days) {
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const std::int64_t doe = days - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y),
                  static_cast<long long>(m), static_cast<long long>(d));
    return buf;
}

std::string datetime_text(std::int64_t seconds) {
    std::int64_t days = seconds / 86400;
    std::int64_t rest = seconds % 86400;
    if (rest < 0) {
        rest += 86400;
        --days;
    }
    char buf[96];
    std::snprintf(buf, sizeof buf, "T%02lld:%02lld:%02lldZ", static_cast<long long>(rest / 3600),
                  static_cast<long long>(rest / 60 % 60), static_cast<long long>(rest % 60));
    return date_text(days) + buf;
}

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

int precedence(const Expr& e) {
    switch (e.kind) {
    case ExprKind::Binary:
        switch (e.op) {
        case Op::Or:
            return 1;
        case Op::And:
            return 2;
        case Op::Add:
        case Op::Sub:
            return 5;
        case Op::Mul:
        case Op::Div:
            return 6;
        default:
            return 4;
        }
    case ExprKind::Unary:
        return e.op == Op::Not ? 3 : 7;
    case ExprKind::In:
    case ExprKind::IsEmpty:
        return 4;
    default:
        return 8;
    }
}

void print_message_parts(std::string& out, const std::vector<MessagePart>& parts);

void print_expr_to(std::string& out, const Expr& e, int min_prec) {
    const int prec = precedence(e);
    const bool parens = prec < min_prec;
    if (parens) {
        out += '(';
    }
    const auto arg = [&](std::size_t i, int p) {
        if (i < e.args.size() && e.args[i]) {
            print_expr_to(out, *e.args[i], p);
        } else {
            out += "empty";
        }
    };
    switch (e.kind) {
    case ExprKind::Number:
        out += e.text.empty() ? "0" : e.text;
        break;
    case ExprKind::String:
        out += quoted(e.text);
        break;
    case ExprKind::Message:
        print_message_parts(out, e.parts);
        break;
    case ExprKind::Bool:
        out += e.boolean ? "true" : "false";
        break;
    case ExprKind::Empty:
        out += "empty";
        break;
    case ExprKind::Date:
        out += e.text.empty() ? date_text(e.int_value) : e.text;
        break;
    case ExprKind::DateTime:
        out += e.text.empty() ? datetime_text(e.int_value) : e.text;
        break;
    case ExprKind::Duration:
        out += e.text.empty() ? duration_text(e.int_value) : e.text;
        break;
    case ExprKind::List:
    case ExprKind::Call:
        if (e.kind == ExprKind::Call) {
            out += e.text;
            out += '(';
        } else {
            out += '[';
        }
        for (std::size_t i = 0; i < e.args.size(); ++i) {
            if (i > 0) {
                out += ", ";
            }
            arg(i, 0);
        }
        out += e.kind == ExprKind::Call ? ')' : ']';
        break;
    case ExprKind::Name:
        out += e.text;
        break;
    case ExprKind::Member:
        arg(0, 8);
        out += '.';
        out += name_text(e.member);
        break;
    case ExprKind::Unary:
        if (e.op == Op::Not) {
            out += "not ";
            arg(0, 3);
        } else {
            out += '-';
            arg(0, 7);
        }
        break;
    case ExprKind::Binary: {
        const bool logical = e.op == Op::Or || e.op == Op::And;
        const bool arithmetic = prec == 5 || prec == 6;
        arg(0, logical || arithmetic ? prec : 5);
        out += ' ';
        out += op_text(e.op);
        out += ' ';
        arg(1, logical || arithmetic ? prec + 1 : 5);
        break;
    }
    case ExprKind::IsEmpty:
        arg(0, 5);
        out += e.negated ? " is not empty" : " is empty";
        break;
    case ExprKind::In:
        arg(0, 5);
        out += e.negated ? " not in " : " in ";
        arg(1, 5);
        break;
    }
    if (parens) {
        out += ')';
    }
}

void print_message_parts(std::string& out, const std::vector<MessagePart>& parts) {
    out += '"';
    for (const MessagePart& p : parts) {
        if (p.expr) {
            out += '{';
            print_expr_to(out, *p.expr, 0);
            out += '}';
        } else {
            append_escaped(out, p.text, true);
        }
    }
    out += '"';
}

// ---------------------------------------------------------------------------------------------
// Declarations
// ---------------------------------------------------------------------------------------------

class Printer {
public:
    std::string out;

    void line(int indent, const std::string& text) {
        out.append(static_cast<std::size_t>(indent) * 4, ' ');
        out += text;
        out += '\n';
    }

    static std::string expr(const ExprPtr& e) {
        std::string s;
        if (e) {
            print_expr_to(s, *e, 0);
        } else {
            s = "empty";
        }
        return s;
    }

    static std::string names(const std::vector<Name>& ns) {
        std::string s;
        for (std::size_t i = 0; i < ns.size(); ++i) {
            s += i > 0 ? ", " : "";
            s += name_text(ns[i]);
        }
        return s;
    }

    static std::string strings(const std::vector<StringLit>& ss) {
        std::string s;
        for (std::size_t i = 0; i < ss.size(); ++i) {
            s += i > 0 ? ", " : "";
            s += quoted(ss[i].value);
        }
        return s;
    }

    static std::string block(const std::vector<Assignment>& as) {
        if (as.empty()) {
            return "{ }";
        }
        std::string s = "{ ";
        for (std::size_t i = 0; i < as.size(); ++i) {
            s += i > 0 ? ", " : "";
            s += name_text(as[i].field) + " = " + expr(as[i].value);
        }
        return s + " }";
    }

    static std::string owner(const Owner& o) {
        switch (o.kind) {
        case OwnerKind::Owner:
            return "owner";
        case OwnerKind::Assignee:
            return "assignee";
        case OwnerKind::Requester:
            return "requester";
        case OwnerKind::Anyone:
            return "anyone";
        case OwnerKind::User:
            return "user " + name_text(o.name);
        case OwnerKind::Role:
            return "role " + name_text(o.name);
        case OwnerKind::Team:
            return "team " + name_text(o.name);
        }
        return "owner";
    }

    static std::string message(const Message& m) {
        std::string s;
        print_message_parts(s, m.parts);
        return s;
    }

    static std::string assign(const Assign& a) {
        switch (a.kind) {
        case AssignKind::User:
            return "assign " + (a.names.empty() ? std::string("\"\"") : name_text(a.names[0]));
        case AssignKind::Role:
            return "assign role " + (a.names.empty() ? std::string("\"\"") : name_text(a.names[0]));
        case AssignKind::RoundRobinMembers:
            return "assign round robin members";
        case AssignKind::RoundRobinUsers:
            return "assign round robin " + names(a.names);
        case AssignKind::LeastLoadedMembers:
            return "assign least loaded members";
        }
        return "assign round robin members";
    }

    void module(const Module& m, int indent) {
        line(indent, "module " + name_text(m.name) + " {");
        if (m.label) {
            line(indent + 1, "label " + quoted(m.label->value));
        }
        for (const Field& f : m.fields) {
            std::string s = "field " + name_text(f.name) + ": " + field_kind_name(f.type.kind);
            if (f.type.kind == FieldKind::Picklist) {
                s += " [" + strings(f.type.values) + "]";
            } else if (f.type.kind == FieldKind::Lookup) {
                s += " " + name_text(f.type.target);
            }
            if (f.required) {
                s += " required";
            }
            if (f.unique) {
                s += " unique";
            }
            if (f.default_value) {
                s += " default " + expr(f.default_value);
            }
            if (f.label) {
                s += " label " + quoted(f.label->value);
            }
            line(indent + 1, s);
        }
        if (m.accepts) {
            std::string s = "accepts requests from " + names(m.accepts->teams);
            if (!m.accepts->fields.empty()) {
                s += " { fields " + names(m.accepts->fields) + " }";
            }
            line(indent + 1, s);
        }
        if (m.route) {
            line(indent + 1, "route requests {");
            for (const RouteRule& r : m.route->rules) {
                line(indent + 2,
                     (r.when ? "when " + expr(r.when) + " " : std::string("otherwise ")) +
                         assign(r.assign));
            }
            line(indent + 1, "}");
        }
        line(indent, "}");
    }

    std::string action(const Action& a) {
        switch (a.kind) {
        case ActionKind::Set:
            return "then set " + name_text(a.field) + " = " + expr(a.value);
        case ActionKind::Notify:
            return "then notify " + owner(a.recipient) + " " + message(a.message);
        case ActionKind::Webhook:
            return "then webhook " + quoted(a.url.value);
        case ActionKind::Request:
            return "then request " + name_text(a.team) + "." + name_text(a.module) +
                   (a.as ? " as " + name_text(*a.as) : std::string()) + " " + block(a.assignments);
        case ActionKind::Create:
            return "then create " + name_text(a.module) +
                   (a.as ? " as " + name_text(*a.as) : std::string()) + " " + block(a.assignments);
        }
        return {};
    }

    static std::string from(const FromSpec& f) { return f.any ? "any" : names(f.states); }

    static bool plain_single_target(const Transition& t) {
        return t.targets.size() == 1 && !t.targets[0].when && !t.targets[0].otherwise;
    }

    void transition(const Transition& t, int indent, bool sub) {
        std::string head = "transition " + name_text(t.name);
        if (!sub) {
            head += " from " + from(t.from);
            if (plain_single_target(t)) {
                head += " to " + name_text(t.targets[0].state);
            }
            if (t.after) {
                head += " after " + duration_text(t.after->seconds);
            }
        }
        line(indent, head + " {");
        const int in = indent + 1;
        if (!t.owners.empty()) {
            std::string s = "by ";
            for (std::size_t i = 0; i < t.owners.size(); ++i) {
                s += i > 0 ? ", " : "";
                s += owner(t.owners[i]);
            }
            line(in, s);
        }
        for (const ExprPtr& w : t.when) {
            line(in, "when " + expr(w));
        }
        if (!t.require.empty()) {
            line(in, "require " + names(t.require));
        }
        for (const Validation& v : t.validations) {
            line(in, "validate " + expr(v.condition) + " else " + message(v.message));
        }
        if (!t.checklist.empty()) {
            line(in, "checklist " + strings(t.checklist));
        }
        if (t.note_required) {
            line(in, "note required");
        }
        if (!sub && !plain_single_target(t)) {
            for (const Target& target : t.targets) {
                std::string s = "to " + name_text(target.state);
                if (target.otherwise) {
                    s += " otherwise";
                } else if (target.when) {
                    s += " when " + expr(target.when);
                }
                line(in, s);
            }
        }
        for (const Action& a : t.actions) {
            line(in, action(a));
        }
        line(indent, "}");
    }

    void blueprint(const Blueprint& b) {
        std::string head = "blueprint " + name_text(b.name) + " on " + name_text(b.module) + "." +
                           name_text(b.field);
        if (b.when) {
            head += " when " + expr(b.when);
        }
        line(0, head + " {");
        for (const Transition& t : b.transitions) {
            transition(t, 1, false);
        }
        for (const Parallel& p : b.parallels) {
            line(1, "parallel " + name_text(p.name) + " from " + from(p.from) + " to " +
                        name_text(p.to) + " {");
            for (const Transition& t : p.transitions) {
                transition(t, 2, true);
            }
            for (const Action& a : p.actions) {
                line(2, action(a));
            }
            line(1, "}");
        }
        for (const Sla& s : b.slas) {
            line(1,
                 "sla " + name_text(s.state) + " within " + duration_text(s.within.seconds) + " {");
            for (const ExprPtr& w : s.when) {
                line(2, "when " + expr(w));
            }
            for (const Action& a : s.actions) {
                line(2, action(a));
            }
            line(1, "}");
        }
        for (const Migrate& m : b.migrations) {
            line(1, "migrate " + name_text(m.from) + " to " + name_text(m.to));
        }
        line(0, "}");
    }

    static std::string step_options(const Step& s) {
        std::string o;
        if (s.on) {
            o += " on " + name_text(*s.on);
        }
        if (s.has_with) {
            o += " with " + block(s.assignments);
        }
        if (!s.checklist.empty()) {
            o += " checklist " + strings(s.checklist);
        }
        if (s.note) {
            o += " note " + quoted(s.note->value);
        }
        return o;
    }

    std::string step(const Step& s) {
        const std::string as = s.as ? " as " + name_text(*s.as) : std::string();
        switch (s.kind) {
        case StepKind::As:
            return "as " + name_text(s.user);
        case StepKind::Create:
            return "create " + name_text(s.module) + as + " " + block(s.assignments);
        case StepKind::Request:
            return "request " + name_text(s.team) + "." + name_text(s.module) + as + " " +
                   block(s.assignments);
        case StepKind::Update:
            return "update " + (s.on ? name_text(*s.on) + " " : std::string()) +
                   block(s.assignments);
        case StepKind::Transition:
            return "transition " + name_text(s.transition) + step_options(s);
        case StepKind::Expect:
            return "expect " + expr(s.expr);
        case StepKind::ExpectRefused:
            return "expect refused " + name_text(s.transition) + step_options(s) +
                   (s.text ? " " + quoted(s.text->value) : std::string());
        case StepKind::ExpectNotified:
            return "expect notified " + name_text(s.user) +
                   (s.text ? " " + quoted(s.text->value) : std::string());
        case StepKind::ExpectAssigned:
            return "expect assigned " + name_text(s.user);
        case StepKind::ExpectWebhook:
            return "expect webhook " + quoted(s.text ? s.text->value : std::string());
        case StepKind::ExpectState:
            return "expect state " + quoted(s.text ? s.text->value : std::string());
        case StepKind::Advance:
            return "advance " + duration_text(s.duration.seconds);
        case StepKind::Clock:
            return "clock " + expr(s.expr);
        }
        return {};
    }

    void separator() {
        if (!out.empty()) {
            out += '\n';
        }
    }

    void ast(const Ast& a) {
        if (!a.roles.empty()) {
            std::string s = "role ";
            for (std::size_t i = 0; i < a.roles.size(); ++i) {
                s += i > 0 ? ", " : "";
                const Name& n = a.roles[i].name;
                s += is_top_level_keyword(n.text) ? quoted(n.text) : name_text(n);
            }
            line(0, s);
        }
        if (!a.users.empty()) {
            separator();
        }
        for (const User& u : a.users) {
            std::string s = "user " + name_text(u.id) + " {";
            if (u.display_name) {
                s += " name " + quoted(u.display_name->value);
            }
            if (u.email) {
                s += " email " + quoted(u.email->value);
            }
            if (!u.roles.empty()) {
                s += " roles " + names(u.roles);
            }
            line(0, s + " }");
        }
        for (const Module& m : a.modules) {
            if (m.teamspace.empty()) {
                separator();
                module(m, 0);
            }
        }
        for (const Teamspace& t : a.teamspaces) {
            separator();
            line(0, "teamspace " + name_text(t.name) + " {");
            if (t.label) {
                line(1, "label " + quoted(t.label->value));
            }
            if (!t.members.empty()) {
                line(1, "members " + names(t.members));
            }
            if (!t.admins.empty()) {
                line(1, "admins " + names(t.admins));
            }
            if (!t.shown_modules.empty()) {
                line(1, "modules " + names(t.shown_modules));
            }
            for (const std::size_t index : t.team_modules) {
                if (index < a.modules.size()) {
                    module(a.modules[index], 1);
                }
            }
            line(0, "}");
        }
        for (const Blueprint& b : a.blueprints) {
            separator();
            blueprint(b);
        }
        for (const Test& t : a.tests) {
            separator();
            line(0, "test " + quoted(t.name.value) + " {");
            for (const Step& s : t.steps) {
                line(1, step(s));
            }
            line(0, "}");
        }
    }
};

} // namespace

std::string print_ast(const Ast& ast) {
    Printer p;
    p.ast(ast);
    return std::move(p.out);
}

std::string print_expr(const Expr& expr) {
    std::string out;
    print_expr_to(out, expr, 0);
    return out;
}

} // namespace teamflow::dsl
