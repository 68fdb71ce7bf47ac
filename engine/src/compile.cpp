// Compiling a checked AST into immutable Definitions: name resolution to indices, expressions to
// postfix programs, blueprints to dense per-state tables.

#include "teamflow/dsl/frontend.hpp"
#include "teamflow/engine/definitions.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace teamflow::engine {

// --- lookups ---------------------------------------------------------------------------------

namespace {

template <class Map>
std::uint32_t find_in(const Map& map, std::string_view name) {
    // The key goes through a reused buffer: no allocation for names longer than the SSO.
    thread_local std::string key;
    key.assign(name.data(), name.size());
    const auto it = map.find(key);
    return it == map.end() ? npos32 : it->second;
}

} // namespace

std::int32_t FieldDef::value_index(std::string_view v) const {
    for (std::size_t k = 0; k < values.size(); ++k) {
        if (values[k] == v) {
            return static_cast<std::int32_t>(k);
        }
    }
    return -1;
}

std::uint32_t ModuleDef::find_field(std::string_view n) const { return find_in(field_index, n); }

std::uint32_t ModuleDef::find_assignable(std::string_view n) const {
    const std::uint32_t f = find_field(n);
    if (f != npos32) {
        return f;
    }
    if (n == "owner") {
        return builtin_field | static_cast<std::uint32_t>(Builtin::Owner);
    }
    if (n == "assignee") {
        return builtin_field | static_cast<std::uint32_t>(Builtin::Assignee);
    }
    if (n == "requester") {
        return builtin_field | static_cast<std::uint32_t>(Builtin::Requester);
    }
    return npos32;
}

std::uint32_t BlueprintDef::find_transition(std::string_view n) const {
    return find_in(transition_index, n);
}

std::uint32_t BlueprintDef::find_state(std::string_view n) const {
    for (std::size_t k = 0; k < states.size(); ++k) {
        if (states[k] == n) {
            return static_cast<std::uint32_t>(k);
        }
    }
    return npos32;
}

std::uint32_t Definitions::find_module(std::string_view n) const { return find_in(module_index, n); }
std::uint32_t Definitions::find_user(std::string_view n) const { return find_in(user_index, n); }
std::uint32_t Definitions::find_role(std::string_view n) const { return find_in(role_index, n); }
std::uint32_t Definitions::find_teamspace(std::string_view n) const {
    return find_in(teamspace_index, n);
}
std::uint32_t Definitions::find_blueprint(std::string_view n) const {
    return find_in(blueprint_index, n);
}

bool Definitions::has_role(UserId user, std::uint32_t role) const {
    if (user >= users.size()) {
        return false;
    }
    const auto& r = users[user].roles;
    return std::find(r.begin(), r.end(), role) != r.end();
}

bool Definitions::is_member(UserId user, std::uint32_t team) const {
    if (team >= teamspaces.size()) {
        return false;
    }
    const auto& t = teamspaces[team];
    return std::find(t.members.begin(), t.members.end(), user) != t.members.end() ||
           std::find(t.admins.begin(), t.admins.end(), user) != t.admins.end();
}

bool Definitions::is_team_admin(UserId user, std::uint32_t team) const {
    if (team >= teamspaces.size()) {
        return false;
    }
    const auto& a = teamspaces[team].admins;
    return std::find(a.begin(), a.end(), user) != a.end();
}

std::string_view Definitions::user_name(UserId user) const {
    if (user == system_user) {
        return "system";
    }
    if (user >= users.size()) {
        return "";
    }
    return users[user].id;
}

// --- expression text ---------------------------------------------------------------------------

namespace {

int precedence(const dsl::Expr& e) {
    switch (e.kind) {
    case dsl::ExprKind::Binary:
        switch (e.op) {
        case dsl::Op::Or: return 1;
        case dsl::Op::And: return 2;
        case dsl::Op::Eq:
        case dsl::Op::Ne:
        case dsl::Op::Lt:
        case dsl::Op::Le:
        case dsl::Op::Gt:
        case dsl::Op::Ge: return 4;
        case dsl::Op::Add:
        case dsl::Op::Sub: return 5;
        case dsl::Op::Mul:
        case dsl::Op::Div: return 6;
        default: return 9;
        }
    case dsl::ExprKind::Unary: return e.op == dsl::Op::Not ? 3 : 7;
    case dsl::ExprKind::IsEmpty:
    case dsl::ExprKind::In: return 4;
    default: return 9;
    }
}

const char* op_str(dsl::Op op) {
    switch (op) {
    case dsl::Op::Or: return "or";
    case dsl::Op::And: return "and";
    case dsl::Op::Not: return "not";
    case dsl::Op::Eq: return "==";
    case dsl::Op::Ne: return "!=";
    case dsl::Op::Lt: return "<";
    case dsl::Op::Le: return "<=";
    case dsl::Op::Gt: return ">";
    case dsl::Op::Ge: return ">=";
    case dsl::Op::Add: return "+";
    case dsl::Op::Sub: return "-";
    case dsl::Op::Mul: return "*";
    case dsl::Op::Div: return "/";
    case dsl::Op::Neg: return "-";
    case dsl::Op::None: return "";
    }
    return "";
}

void quote_into(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '{': out += "\\{"; break;
        default: out += c;
        }
    }
    out += '"';
}

bool is_identifier(std::string_view s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

void print_into(std::string& out, const dsl::Expr& e);

void print_child(std::string& out, const dsl::Expr& child, int parent_prec, bool right) {
    const int p = precedence(child);
    const bool paren = p < parent_prec || (right && p == parent_prec && p != 9);
    if (paren) {
        out += '(';
    }
    print_into(out, child);
    if (paren) {
        out += ')';
    }
}

void print_into(std::string& out, const dsl::Expr& e) {
    switch (e.kind) {
    case dsl::ExprKind::Number:
    case dsl::ExprKind::Date:
    case dsl::ExprKind::DateTime:
    case dsl::ExprKind::Duration: out += e.text; break;
    case dsl::ExprKind::String: quote_into(out, e.text); break;
    case dsl::ExprKind::Message:
        out += '"';
        for (const auto& part : e.parts) {
            if (part.expr) {
                out += '{';
                print_into(out, *part.expr);
                out += '}';
            } else {
                std::string q;
                quote_into(q, part.text);
                out.append(q, 1, q.size() - 2);
            }
        }
        out += '"';
        break;
    case dsl::ExprKind::Bool: out += e.boolean ? "true" : "false"; break;
    case dsl::ExprKind::Empty: out += "empty"; break;
    case dsl::ExprKind::List:
        out += '[';
        for (std::size_t k = 0; k < e.args.size(); ++k) {
            if (k != 0) {
                out += ", ";
            }
            print_into(out, *e.args[k]);
        }
        out += ']';
        break;
    case dsl::ExprKind::Name:
        if (is_identifier(e.text)) {
            out += e.text;
        } else {
            quote_into(out, e.text);
        }
        break;
    case dsl::ExprKind::Member:
        print_child(out, *e.args[0], 9, false);
        out += '.';
        out += e.member.text;
        break;
    case dsl::ExprKind::Call:
        out += e.text;
        out += '(';
        for (std::size_t k = 0; k < e.args.size(); ++k) {
            if (k != 0) {
                out += ", ";
            }
            print_into(out, *e.args[k]);
        }
        out += ')';
        break;
    case dsl::ExprKind::Unary:
        out += e.op == dsl::Op::Not ? "not " : "-";
        print_child(out, *e.args[0], precedence(e), false);
        break;
    case dsl::ExprKind::Binary:
        print_child(out, *e.args[0], precedence(e), false);
        out += ' ';
        out += op_str(e.op);
        out += ' ';
        print_child(out, *e.args[1], precedence(e), true);
        break;
    case dsl::ExprKind::IsEmpty:
        print_child(out, *e.args[0], 5, false);
        out += e.negated ? " is not empty" : " is empty";
        break;
    case dsl::ExprKind::In:
        print_child(out, *e.args[0], 5, false);
        out += e.negated ? " not in " : " in ";
        print_into(out, *e.args[1]);
        break;
    }
}

} // namespace

std::string expression_text(const dsl::Expr& expr) {
    std::string s;
    print_into(s, expr);
    return s;
}

// --- expression compiler -------------------------------------------------------------------------

namespace {

struct BuiltinName {
    const char* name;
    Builtin builtin;
};
constexpr BuiltinName builtin_names[] = {
    {"id", Builtin::Id},
    {"owner", Builtin::Owner},
    {"created_by", Builtin::CreatedBy},
    {"created_at", Builtin::CreatedAt},
    {"updated_at", Builtin::UpdatedAt},
    {"version", Builtin::Version},
    {"requester", Builtin::Requester},
    {"assignee", Builtin::Assignee},
};

int find_builtin(std::string_view n) {
    for (const auto& b : builtin_names) {
        if (n == b.name) {
            return static_cast<int>(b.builtin);
        }
    }
    return -1;
}

class ExprCompiler {
public:
    ExprCompiler(const Definitions& defs, const Scope& scope, Program& prog)
        : defs_(defs), scope_(scope), prog_(prog) {}

    bool run(const dsl::Expr& e) {
        emit_expr(e);
        return error_.empty();
    }
    std::string& error() { return error_; }

private:
    void emit(OpCode op, std::uint32_t a = 0, std::uint8_t b = 0, std::int32_t c = 0) {
        Instr in;
        in.op = op;
        in.a = a;
        in.b = b;
        in.c = c;
        prog_.code.push_back(in);
    }
    void push(int n) {
        depth_ += n;
        if (depth_ > static_cast<int>(prog_.max_stack)) {
            prog_.max_stack = static_cast<std::uint16_t>(depth_);
        }
    }
    void push_const(Value v, std::string_view text = {}, bool is_text = false) {
        Const c;
        c.value = v;
        if (is_text) {
            c.str = static_cast<std::int32_t>(prog_.strings.size());
            prog_.strings.emplace_back(text);
            c.value.kind = ValueKind::Text;
        }
        emit(OpCode::PushConst, static_cast<std::uint32_t>(prog_.consts.size()));
        prog_.consts.push_back(c);
        push(1);
    }
    void note_field(const std::string& name) {
        if (prog_.first_field.empty()) {
            prog_.first_field = name;
        }
    }

    std::int32_t find_slot(std::string_view n) const {
        if (scope_.slot_names == nullptr) {
            return -1;
        }
        for (std::size_t k = 0; k < scope_.slot_names->size(); ++k) {
            if ((*scope_.slot_names)[k] == n) {
                return static_cast<std::int32_t>(k);
            }
        }
        return -1;
    }

    void emit_name(const dsl::Expr& e) {
        const std::string& n = e.text;
        if (scope_.module != npos32) {
            const ModuleDef& m = defs_.modules[scope_.module];
            const std::uint32_t f = m.find_field(n);
            if (f != npos32) {
                emit(OpCode::LoadField, f);
                push(1);
                note_field(n);
                if (m.fields[f].min_fraction > 0) {
                    fraction_ = m.fields[f].min_fraction;
                }
                return;
            }
            const int b = find_builtin(n);
            if (b >= 0) {
                emit(OpCode::LoadBuiltin, static_cast<std::uint32_t>(b));
                push(1);
                return;
            }
        }
        if (n == "current_user") {
            emit(OpCode::LoadCurrentUser);
            push(1);
            return;
        }
        const std::int32_t slot = find_slot(n);
        if (slot >= 0) {
            emit(OpCode::LoadNamed, static_cast<std::uint32_t>(slot));
            push(1);
            return;
        }
        const std::uint32_t u = defs_.find_user(n);
        if (u != npos32) {
            push_const(Value::user(u));
            return;
        }
        error_ = fmt::format("unknown name \"{}\"", n);
        push(1);
    }

    void emit_member(const dsl::Expr& e) {
        const dsl::Expr& base = *e.args[0];
        if (base.kind != dsl::ExprKind::Name) {
            error_ = "only one hop through a lookup is allowed";
            push(1);
            return;
        }
        std::uint32_t target = npos32;
        std::uint8_t via = 0;
        std::uint32_t a = 0;
        bool found = false;
        if (scope_.module != npos32) {
            const ModuleDef& m = defs_.modules[scope_.module];
            const std::uint32_t f = m.find_field(base.text);
            if (f != npos32 && m.fields[f].kind == dsl::FieldKind::Lookup) {
                target = m.fields[f].lookup_module;
                a = f;
                found = true;
                note_field(base.text);
            }
        }
        if (!found) {
            const std::int32_t slot = find_slot(base.text);
            if (slot >= 0 && scope_.slot_modules != nullptr) {
                target = (*scope_.slot_modules)[static_cast<std::size_t>(slot)];
                via = 1;
                a = static_cast<std::uint32_t>(slot);
                found = true;
            }
        }
        if (!found || target == npos32) {
            error_ = fmt::format("\"{}\" is not a lookup field nor a named record", base.text);
            push(1);
            return;
        }
        const ModuleDef& tm = defs_.modules[target];
        std::int32_t c = 0;
        const std::uint32_t tf = tm.find_field(e.member.text);
        if (tf != npos32) {
            c = static_cast<std::int32_t>(tf);
            if (tm.fields[tf].min_fraction > 0) {
                fraction_ = tm.fields[tf].min_fraction;
            }
        } else {
            const int b = find_builtin(e.member.text);
            if (b < 0) {
                error_ = fmt::format("module {} has no field \"{}\"", tm.name, e.member.text);
                push(1);
                return;
            }
            c = -b - 1;
        }
        emit(OpCode::LoadMember, a, via, c);
        push(1);
    }

    void emit_call(const dsl::Expr& e) {
        struct Fn {
            const char* name;
            OpCode op;
            std::size_t arity;
        };
        static constexpr Fn fns[] = {
            {"today", OpCode::Today, 0},        {"now", OpCode::Now, 0},
            {"lower", OpCode::Lower, 1},        {"upper", OpCode::Upper, 1},
            {"len", OpCode::Len, 1},            {"contains", OpCode::Contains, 2},
            {"starts_with", OpCode::StartsWith, 2}, {"days_between", OpCode::DaysBetween, 2},
        };
        for (const Fn& f : fns) {
            if (e.text == f.name) {
                if (e.args.size() != f.arity) {
                    error_ = fmt::format("{} takes {} arguments", f.name, f.arity);
                }
                for (const auto& a : e.args) {
                    emit_expr(*a);
                }
                emit(f.op);
                push(1 - static_cast<int>(e.args.size()));
                return;
            }
        }
        error_ = fmt::format("unknown function {}", e.text);
        push(1);
    }

    void emit_expr(const dsl::Expr& e) {
        switch (e.kind) {
        case dsl::ExprKind::Number: {
            const auto v = parse_decimal(e.text);
            if (!v) {
                error_ = fmt::format("number {} cannot be represented exactly", e.text);
            }
            push_const(Value::number_scaled(v.value_or(0)));
            return;
        }
        case dsl::ExprKind::String: push_const({}, e.text, true); return;
        case dsl::ExprKind::Message: {
            push_const({}, "", true);
            for (const auto& part : e.parts) {
                if (part.expr) {
                    emit_expr(*part.expr);
                } else {
                    push_const({}, part.text, true);
                }
                emit(OpCode::Add);
                push(-1);
            }
            return;
        }
        case dsl::ExprKind::Bool: push_const(Value::boolean(e.boolean)); return;
        case dsl::ExprKind::Empty: push_const(Value::none()); return;
        case dsl::ExprKind::Date: push_const(Value::date(e.int_value)); return;
        case dsl::ExprKind::DateTime: push_const(Value::datetime(e.int_value)); return;
        case dsl::ExprKind::Duration: push_const(Value::duration(e.int_value)); return;
        case dsl::ExprKind::List:
            error_ = "a list may only follow `in`";
            push(1);
            return;
        case dsl::ExprKind::Name: emit_name(e); return;
        case dsl::ExprKind::Member: emit_member(e); return;
        case dsl::ExprKind::Call: emit_call(e); return;
        case dsl::ExprKind::Unary:
            emit_expr(*e.args[0]);
            emit(e.op == dsl::Op::Not ? OpCode::Not : OpCode::Neg);
            return;
        case dsl::ExprKind::IsEmpty:
            emit_expr(*e.args[0]);
            emit(e.negated ? OpCode::IsNotEmpty : OpCode::IsEmpty);
            return;
        case dsl::ExprKind::In: {
            emit_expr(*e.args[0]);
            const dsl::Expr& list = *e.args[1];
            if (list.kind != dsl::ExprKind::List) {
                error_ = "`in` needs a list";
                return;
            }
            for (const auto& el : list.args) {
                emit_expr(*el);
            }
            emit(OpCode::In, static_cast<std::uint32_t>(list.args.size()), e.negated ? 1 : 0);
            push(-static_cast<int>(list.args.size()));
            return;
        }
        case dsl::ExprKind::Binary: emit_binary(e); return;
        }
    }

    void emit_binary(const dsl::Expr& e) {
        if (e.op == dsl::Op::And || e.op == dsl::Op::Or) {
            emit_expr(*e.args[0]);
            emit(OpCode::ToBool);
            const std::size_t jump = prog_.code.size();
            emit(e.op == dsl::Op::And ? OpCode::JumpIfFalse : OpCode::JumpIfTrue);
            push(-1);
            emit_expr(*e.args[1]);
            emit(OpCode::ToBool);
            prog_.code[jump].a = static_cast<std::uint32_t>(prog_.code.size());
            return;
        }
        const int saved = fraction_;
        emit_expr(*e.args[0]);
        emit_expr(*e.args[1]);
        OpCode op = OpCode::Eq;
        switch (e.op) {
        case dsl::Op::Eq: op = OpCode::Eq; break;
        case dsl::Op::Ne: op = OpCode::Ne; break;
        case dsl::Op::Lt: op = OpCode::Lt; break;
        case dsl::Op::Le: op = OpCode::Le; break;
        case dsl::Op::Gt: op = OpCode::Gt; break;
        case dsl::Op::Ge: op = OpCode::Ge; break;
        case dsl::Op::Add: op = OpCode::Add; break;
        case dsl::Op::Sub: op = OpCode::Sub; break;
        case dsl::Op::Mul: op = OpCode::Mul; break;
        case dsl::Op::Div: op = OpCode::Div; break;
        default: error_ = fmt::format("unexpected operator {}", op_str(e.op)); break;
        }
        if (op == OpCode::Eq || op == OpCode::Ne || op == OpCode::Lt || op == OpCode::Le ||
            op == OpCode::Gt || op == OpCode::Ge) {
            fraction_ = saved;
        }
        emit(op);
        push(-1);
    }

public:
    int fraction_ = 0;

private:
    const Definitions& defs_;
    const Scope& scope_;
    Program& prog_;
    int depth_ = 0;
    std::string error_;
};

} // namespace

Result<Program> compile_expression(const Definitions& defs, const dsl::Expr& expr,
                                   const Scope& scope) {
    Program prog;
    prog.range = expr.range;
    prog.source = expression_text(expr);
    ExprCompiler c(defs, scope, prog);
    if (!c.run(expr)) {
        return make_error(ErrorCode::Invalid,
                          fmt::format("cannot compile `{}`: {}", prog.source, c.error()));
    }
    if (prog.max_stack > 64) {
        return make_error(ErrorCode::Invalid,
                          fmt::format("`{}` is too deeply nested", prog.source));
    }
    prog.min_fraction = c.fraction_;
    return prog;
}

// --- definitions -----------------------------------------------------------------------------------

namespace {

class DefCompiler {
public:
    DefCompiler(const dsl::Ast& ast, Definitions& defs) : ast_(ast), d_(defs) {}

    bool run() {
        declare();
        if (!ok()) {
            return false;
        }
        for (std::size_t m = 0; m < ast_.modules.size(); ++m) {
            compile_module_fields(static_cast<std::uint32_t>(m), ast_.modules[m]);
        }
        for (std::size_t m = 0; m < ast_.modules.size(); ++m) {
            compile_module_requests(static_cast<std::uint32_t>(m), ast_.modules[m]);
        }
        for (const auto& bp : ast_.blueprints) {
            compile_blueprint(bp);
        }
        return ok();
    }
    bool ok() const { return error_.items.empty(); }
    Error take_error() {
        error_.code = ErrorCode::Invalid;
        error_.detail = "the definitions do not compile";
        return std::move(error_);
    }

private:
    void fail(std::string msg) { error_.add("", std::move(msg)); }

    Program expr(const dsl::Expr* e, const Scope& scope) {
        if (e == nullptr) {
            return {};
        }
        auto r = compile_expression(d_, *e, scope);
        if (!r) {
            fail(r.error().detail);
            return {};
        }
        return std::move(r.value());
    }

    void declare() {
        for (const auto& r : ast_.roles) {
            d_.role_index.emplace(r.name.text, static_cast<std::uint32_t>(d_.roles.size()));
            d_.roles.push_back(r.name.text);
        }
        for (const auto& u : ast_.users) {
            d_.user_index.emplace(u.id.text, static_cast<std::uint32_t>(d_.users.size()));
            UserDef ud;
            ud.id = u.id.text;
            ud.name = u.display_name ? u.display_name->value : u.id.text;
            ud.email = u.email ? u.email->value : std::string();
            d_.users.push_back(std::move(ud));
            d_.user_ids.push_back(u.id.text);
        }
        for (std::size_t k = 0; k < ast_.users.size(); ++k) {
            for (const auto& r : ast_.users[k].roles) {
                const std::uint32_t ri = d_.find_role(r.text);
                if (ri == npos32) {
                    fail(fmt::format("unknown role {}", r.text));
                } else {
                    d_.users[k].roles.push_back(ri);
                }
            }
        }
        for (const auto& t : ast_.teamspaces) {
            d_.teamspace_index.emplace(t.name.text,
                                       static_cast<std::uint32_t>(d_.teamspaces.size()));
            TeamspaceDef td;
            td.name = t.name.text;
            td.label = t.label ? t.label->value : t.name.text;
            d_.teamspaces.push_back(std::move(td));
        }
        for (const auto& m : ast_.modules) {
            d_.module_index.emplace(m.name.text, static_cast<std::uint32_t>(d_.modules.size()));
            ModuleDef md;
            md.name = m.name.text;
            md.label = m.label ? m.label->value : m.name.text;
            if (!m.teamspace.empty()) {
                md.teamspace = d_.find_teamspace(m.teamspace);
            }
            for (const auto& f : m.fields) {
                md.field_index.emplace(f.name.text, static_cast<std::uint32_t>(md.fields.size()));
                FieldDef fd;
                fd.name = f.name.text;
                fd.label = f.label ? f.label->value : f.name.text;
                fd.kind = f.type.kind;
                fd.required = f.required;
                fd.unique = f.unique;
                for (const auto& v : f.type.values) {
                    fd.values.push_back(v.value);
                }
                switch (f.type.kind) {
                case dsl::FieldKind::Number:
                case dsl::FieldKind::Percent: fd.value_kind = ValueKind::Number; break;
                case dsl::FieldKind::Currency:
                    fd.value_kind = ValueKind::Number;
                    fd.min_fraction = 2;
                    break;
                case dsl::FieldKind::Boolean: fd.value_kind = ValueKind::Boolean; break;
                case dsl::FieldKind::Date: fd.value_kind = ValueKind::Date; break;
                case dsl::FieldKind::DateTime: fd.value_kind = ValueKind::DateTime; break;
                case dsl::FieldKind::Lookup: fd.value_kind = ValueKind::Record; break;
                case dsl::FieldKind::User: fd.value_kind = ValueKind::User; break;
                default: fd.value_kind = ValueKind::Text; break;
                }
                md.fields.push_back(std::move(fd));
            }
            d_.modules.push_back(std::move(md));
        }
        for (std::size_t k = 0; k < ast_.teamspaces.size(); ++k) {
            const auto& t = ast_.teamspaces[k];
            auto& td = d_.teamspaces[k];
            for (const auto& u : t.members) {
                push_user(td.members, u.text);
            }
            for (const auto& u : t.admins) {
                push_user(td.admins, u.text);
            }
            td.everyone = td.members;
            for (UserId a : td.admins) {
                if (std::find(td.everyone.begin(), td.everyone.end(), a) == td.everyone.end()) {
                    td.everyone.push_back(a);
                }
            }
            for (const auto& m : t.shown_modules) {
                const std::uint32_t mi = d_.find_module(m.text);
                if (mi == npos32) {
                    fail(fmt::format("unknown module {}", m.text));
                } else {
                    td.shown_modules.push_back(mi);
                }
            }
        }
        for (std::size_t m = 0; m < d_.modules.size(); ++m) {
            if (d_.modules[m].teamspace != npos32) {
                d_.teamspaces[d_.modules[m].teamspace].team_modules.push_back(
                    static_cast<std::uint32_t>(m));
            }
        }
    }

    void push_user(std::vector<UserId>& out, const std::string& id) {
        const std::uint32_t u = d_.find_user(id);
        if (u == npos32) {
            fail(fmt::format("unknown user {}", id));
        } else if (std::find(out.begin(), out.end(), u) == out.end()) {
            out.push_back(u);
        }
    }

    void compile_module_fields(std::uint32_t mi, const dsl::Module& m) {
        Scope scope;
        scope.module = mi;
        for (std::size_t k = 0; k < m.fields.size(); ++k) {
            const auto& f = m.fields[k];
            if (f.type.kind == dsl::FieldKind::Lookup) {
                const std::uint32_t t = d_.find_module(f.type.target.text);
                if (t == npos32) {
                    fail(fmt::format("unknown module {}", f.type.target.text));
                }
                d_.modules[mi].fields[k].lookup_module = t;
            }
        }
        for (std::size_t k = 0; k < m.fields.size(); ++k) {
            if (m.fields[k].default_value) {
                d_.modules[mi].fields[k].default_value = expr(m.fields[k].default_value.get(), scope);
            }
        }
    }

    void compile_module_requests(std::uint32_t mi, const dsl::Module& m) {
        ModuleDef& md = d_.modules[mi];
        md.requestable.assign(md.fields.size(), 0);
        if (m.accepts) {
            md.accepts_requests = true;
            for (const auto& t : m.accepts->teams) {
                const std::uint32_t ti = d_.find_teamspace(t.text);
                if (ti == npos32) {
                    fail(fmt::format("unknown teamspace {}", t.text));
                } else {
                    md.accepts_from.push_back(ti);
                }
            }
            for (const auto& f : m.accepts->fields) {
                const std::uint32_t fi = md.find_field(f.text);
                if (fi == npos32) {
                    fail(fmt::format("unknown field {} in {}", f.text, md.name));
                } else {
                    md.requestable[fi] = 1;
                }
            }
        }
        if (m.route) {
            Scope scope;
            scope.module = mi;
            std::size_t k = 0;
            for (const auto& rule : m.route->rules) {
                RouteRuleDef rd;
                rd.when = expr(rule.when.get(), scope);
                rd.kind = rule.assign.kind;
                rd.cursor_key = fmt::format("route:{}:{}", md.name, k++);
                if (rule.assign.kind == dsl::AssignKind::Role) {
                    if (!rule.assign.names.empty()) {
                        rd.role = d_.find_role(rule.assign.names[0].text);
                        if (rd.role == npos32) {
                            fail(fmt::format("unknown role {}", rule.assign.names[0].text));
                        }
                    }
                } else if (rule.assign.kind == dsl::AssignKind::User ||
                           rule.assign.kind == dsl::AssignKind::RoundRobinUsers) {
                    for (const auto& n : rule.assign.names) {
                        push_user(rd.users, n.text);
                    }
                }
                md.routes.push_back(std::move(rd));
            }
        }
    }

    OwnerDef owner(const dsl::Owner& o) {
        OwnerDef od;
        od.kind = o.kind;
        switch (o.kind) {
        case dsl::OwnerKind::User:
            od.index = d_.find_user(o.name.text);
            if (od.index == npos32) {
                fail(fmt::format("unknown user {}", o.name.text));
            }
            break;
        case dsl::OwnerKind::Role:
            od.index = d_.find_role(o.name.text);
            if (od.index == npos32) {
                fail(fmt::format("unknown role {}", o.name.text));
            }
            break;
        case dsl::OwnerKind::Team:
            od.index = d_.find_teamspace(o.name.text);
            if (od.index == npos32) {
                fail(fmt::format("unknown teamspace {}", o.name.text));
            }
            break;
        default: break;
        }
        return od;
    }

    MessageDef message(const std::vector<dsl::MessagePart>& parts, const Scope& scope) {
        MessageDef md;
        for (const auto& p : parts) {
            MessageDef::Part part;
            if (p.expr) {
                part.expr = expr(p.expr.get(), scope);
            } else {
                part.text = p.text;
            }
            md.parts.push_back(std::move(part));
        }
        return md;
    }

    std::uint32_t state_of(const BlueprintDef& bp, const dsl::Name& n) {
        const std::uint32_t s = bp.find_state(n.text);
        if (s == npos32) {
            fail(fmt::format("unknown state \"{}\" in blueprint {}", n.text, bp.name));
            return 0;
        }
        return s;
    }

    /// Compiles actions; `slot_names`/`slot_modules` collect `create … as` names.
    std::vector<ActionDef> actions(const std::vector<dsl::Action>& in, std::uint32_t module,
                                   std::vector<std::string>& slot_names,
                                   std::vector<std::uint32_t>& slot_modules) {
        std::vector<ActionDef> out;
        for (const auto& a : in) {
            Scope scope;
            scope.module = module;
            scope.slot_names = &slot_names;
            scope.slot_modules = &slot_modules;
            ActionDef ad;
            ad.kind = a.kind;
            switch (a.kind) {
            case dsl::ActionKind::Set:
                ad.field = d_.modules[module].find_assignable(a.field.text);
                if (ad.field == npos32) {
                    fail(fmt::format("unknown field {}", a.field.text));
                }
                ad.value = expr(a.value.get(), scope);
                break;
            case dsl::ActionKind::Notify:
                ad.recipient = owner(a.recipient);
                ad.message = message(a.message.parts, scope);
                break;
            case dsl::ActionKind::Webhook: ad.url = a.url.value; break;
            case dsl::ActionKind::Request:
            case dsl::ActionKind::Create: {
                if (a.kind == dsl::ActionKind::Request) {
                    ad.team = d_.find_teamspace(a.team.text);
                }
                ad.module = d_.find_module(a.module.text);
                if (ad.module == npos32) {
                    fail(fmt::format("unknown module {}", a.module.text));
                    break;
                }
                for (const auto& as : a.assignments) {
                    const std::uint32_t f = d_.modules[ad.module].find_assignable(as.field.text);
                    if (f == npos32) {
                        fail(fmt::format("unknown field {} in {}", as.field.text,
                                         d_.modules[ad.module].name));
                        continue;
                    }
                    ad.assignments.emplace_back(f, expr(as.value.get(), scope));
                }
                if (a.kind == dsl::ActionKind::Create && a.as) {
                    ad.slot = static_cast<std::int32_t>(slot_names.size());
                    slot_names.push_back(a.as->text);
                    slot_modules.push_back(ad.module);
                }
                break;
            }
            }
            out.push_back(std::move(ad));
        }
        return out;
    }

    std::vector<std::uint8_t> from_states(const BlueprintDef& bp, const dsl::FromSpec& from,
                                          std::int64_t except) {
        std::vector<std::uint8_t> out(bp.states.size(), 0);
        if (from.any) {
            for (std::size_t s = 0; s < out.size(); ++s) {
                out[s] = static_cast<std::int64_t>(s) == except ? 0 : 1;
            }
        } else {
            for (const auto& n : from.states) {
                out[state_of(bp, n)] = 1;
            }
        }
        return out;
    }

    TransitionDef transition(const BlueprintDef& bp, const dsl::Transition& t) {
        TransitionDef td;
        td.name = t.name.text;
        Scope scope;
        scope.module = bp.module;
        for (const auto& tg : t.targets) {
            TargetDef tgd;
            tgd.state = state_of(bp, tg.state);
            if (tg.when && !tg.otherwise) {
                tgd.when = expr(tg.when.get(), scope);
            }
            td.targets.push_back(std::move(tgd));
        }
        const std::int64_t except =
            td.targets.size() == 1 ? static_cast<std::int64_t>(td.targets[0].state) : -1;
        td.from = from_states(bp, t.from, except);
        if (t.after) {
            td.after = t.after->seconds;
        }
        for (const auto& o : t.owners) {
            td.owners.push_back(owner(o));
        }
        for (const auto& w : t.when) {
            td.when.push_back(expr(w.get(), scope));
        }
        for (const auto& r : t.require) {
            const std::uint32_t f = d_.modules[bp.module].find_field(r.text);
            if (f == npos32) {
                fail(fmt::format("unknown field {}", r.text));
            } else {
                td.require.push_back(f);
            }
        }
        for (const auto& v : t.validations) {
            ValidationDef vd;
            vd.condition = expr(v.condition.get(), scope);
            vd.message = message(v.message.parts, scope);
            td.validations.push_back(std::move(vd));
        }
        for (const auto& c : t.checklist) {
            td.checklist.push_back(c.value);
        }
        td.note_required = t.note_required;
        td.actions = actions(t.actions, bp.module, td.slot_names, td.slot_modules);
        return td;
    }

    void compile_blueprint(const dsl::Blueprint& b) {
        BlueprintDef bp;
        bp.name = b.name.text;
        bp.module = d_.find_module(b.module.text);
        if (bp.module == npos32) {
            fail(fmt::format("unknown module {}", b.module.text));
            return;
        }
        ModuleDef& md = d_.modules[bp.module];
        bp.field = md.find_field(b.field.text);
        if (bp.field == npos32 || md.fields[bp.field].kind != dsl::FieldKind::Picklist) {
            fail(fmt::format("blueprint {} needs a picklist field", bp.name));
            return;
        }
        const FieldDef& field = md.fields[bp.field];
        bp.states = field.values;
        const auto& ast_field = ast_.modules[bp.module].fields[bp.field];
        if (ast_field.default_value && ast_field.default_value->kind == dsl::ExprKind::String) {
            const std::int32_t s = field.value_index(ast_field.default_value->text);
            bp.initial = s < 0 ? 0 : static_cast<std::uint32_t>(s);
        }
        Scope scope;
        scope.module = bp.module;
        bp.when = expr(b.when.get(), scope);
        for (const auto& t : b.transitions) {
            bp.transitions.push_back(transition(bp, t));
        }
        std::uint32_t bit = 0;
        for (const auto& p : b.parallels) {
            ParallelDef pd;
            pd.name = p.name.text;
            pd.to = state_of(bp, p.to);
            pd.from = from_states(bp, p.from, pd.to);
            for (const auto& sub : p.transitions) {
                TransitionDef td = transition(bp, sub);
                td.from = pd.from;
                td.targets.clear();
                TargetDef tgd;
                tgd.state = pd.to;
                td.targets.push_back(std::move(tgd));
                td.parallel = static_cast<std::uint32_t>(bp.parallels.size());
                if (bit >= 64) {
                    fail(fmt::format("blueprint {} has more than 64 parallel sub-transitions",
                                     bp.name));
                } else {
                    td.parallel_bit = std::uint64_t{1} << bit++;
                }
                pd.mask |= td.parallel_bit;
                pd.subs.push_back(static_cast<std::uint32_t>(bp.transitions.size()));
                bp.transitions.push_back(std::move(td));
            }
            pd.actions = actions(p.actions, bp.module, pd.slot_names, pd.slot_modules);
            bp.parallel_index.emplace(pd.name, static_cast<std::uint32_t>(bp.parallels.size()));
            bp.parallels.push_back(std::move(pd));
        }
        for (const auto& s : b.slas) {
            SlaDef sd;
            sd.state = state_of(bp, s.state);
            sd.within = s.within.seconds;
            for (const auto& w : s.when) {
                sd.when.push_back(expr(w.get(), scope));
            }
            sd.actions = actions(s.actions, bp.module, sd.slot_names, sd.slot_modules);
            bp.slas.push_back(std::move(sd));
        }
        for (const auto& m : b.migrations) {
            bp.migrations.emplace_back(m.from.text, state_of(bp, m.to));
        }
        const std::size_t n = bp.states.size();
        bp.from_state.assign(n, {});
        bp.auto_on_enter.assign(n, {});
        bp.sla_on_enter.assign(n, {});
        bp.terminal.assign(n, 1);
        for (std::size_t t = 0; t < bp.transitions.size(); ++t) {
            const TransitionDef& td = bp.transitions[t];
            bp.transition_index.emplace(td.name, static_cast<std::uint32_t>(t));
            for (std::size_t s = 0; s < n; ++s) {
                if (td.from[s] != 0) {
                    bp.from_state[s].push_back(static_cast<std::uint32_t>(t));
                    bp.terminal[s] = 0;
                    if (td.after >= 0) {
                        bp.auto_on_enter[s].push_back(static_cast<std::uint32_t>(t));
                    }
                }
            }
        }
        for (std::size_t k = 0; k < bp.slas.size(); ++k) {
            bp.sla_on_enter[bp.slas[k].state].push_back(static_cast<std::uint32_t>(k));
        }
        const auto index = static_cast<std::uint32_t>(d_.blueprints.size());
        d_.blueprint_index.emplace(bp.name, index);
        md.blueprint = index;
        d_.blueprints.push_back(std::move(bp));
    }

    const dsl::Ast& ast_;
    Definitions& d_;
    Error error_;
};

} // namespace

Result<std::shared_ptr<const Definitions>> compile_definitions(const dsl::Ast& ast,
                                                               const dsl::SourceManager* sources,
                                                               std::int64_t version) {
    auto defs = std::make_shared<Definitions>();
    defs->version = version;
    defs->sources = sources;
    DefCompiler c(ast, *defs);
    if (!c.run()) {
        return c.take_error();
    }
    return std::shared_ptr<const Definitions>(std::move(defs));
}

Result<std::shared_ptr<const Definitions>> compile_definitions(const dsl::DefinitionSet& set,
                                                               std::int64_t version) {
    if (!set.ok()) {
        return make_error(ErrorCode::Invalid, "the definition set has errors");
    }
    return compile_definitions(set.ast, &set.sources, version);
}

} // namespace teamflow::engine
