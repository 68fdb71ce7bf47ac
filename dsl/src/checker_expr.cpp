// Type inference of expressions, conditions and assignments (see dsl/README.md, "Types").

#include "checker_impl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace teamflow::dsl::checker_detail {

namespace {

const char* op_str(Op op) { return op_text(op); }

Type of_kind(TypeKind kind) {
    Type t;
    t.kind = kind;
    return t;
}

bool silent(TypeKind kind) { return kind == TypeKind::Unknown || kind == TypeKind::Empty; }

/// A type in a message, with the name it comes from when the operand is one
/// (`number (amount)`, `text (deal.name)`).
std::string operand(const Expr& e) {
    const std::string d = describe(e.type);
    if (e.kind == ExprKind::Name) {
        return fmt::format("{} ({})", d, e.text);
    }
    if (e.kind == ExprKind::Member && !e.args.empty() && e.args[0]->kind == ExprKind::Name) {
        return fmt::format("{} ({}.{})", d, e.args[0]->text, e.member.text);
    }
    return d;
}

/// `==`/`!=`: same type; text with user; anything with empty; date with datetime.
bool equatable(const Type& a, const Type& b) {
    if (silent(a.kind) || silent(b.kind)) {
        return true;
    }
    if (a.kind == b.kind) {
        if (a.kind == TypeKind::Record) {
            return a.module.empty() || b.module.empty() || a.module == b.module;
        }
        return a.kind != TypeKind::List;
    }
    const auto pair = [&](TypeKind x, TypeKind y) {
        return (a.kind == x && b.kind == y) || (a.kind == y && b.kind == x);
    };
    return pair(TypeKind::Text, TypeKind::User) || pair(TypeKind::Date, TypeKind::DateTime);
}

bool ordered_kind(TypeKind k) {
    return k == TypeKind::Number || k == TypeKind::Text || k == TypeKind::Date ||
           k == TypeKind::DateTime || k == TypeKind::Duration;
}

/// `<`, `<=`, `>`, `>=`: number, text, date, datetime (date with datetime), duration.
bool orderable(const Type& a, const Type& b) {
    if (a.kind == TypeKind::Unknown || b.kind == TypeKind::Unknown) {
        return true;
    }
    if (a.kind == TypeKind::Empty) {
        return b.kind == TypeKind::Empty || ordered_kind(b.kind);
    }
    if (b.kind == TypeKind::Empty) {
        return ordered_kind(a.kind);
    }
    if (!ordered_kind(a.kind) || !ordered_kind(b.kind)) {
        return false;
    }
    if (a.kind == b.kind) {
        return true;
    }
    return (a.kind == TypeKind::Date && b.kind == TypeKind::DateTime) ||
           (a.kind == TypeKind::DateTime && b.kind == TypeKind::Date);
}

/// The result kind of an arithmetic operator, or Unknown when the operands do not fit (`ok`
/// false) or one of them is unknown (`ok` true).
TypeKind arithmetic(Op op, TypeKind a, TypeKind b, bool& ok) {
    using K = TypeKind;
    ok = true;
    if (op == Op::Add && (a == K::Text || b == K::Text)) {
        return K::Text;
    }
    if (a == K::Unknown || b == K::Unknown) {
        return K::Unknown;
    }
    if (a == K::Empty || b == K::Empty) {
        const K other = a == K::Empty ? b : a;
        if (other == K::Empty || other == K::Number || other == K::Duration ||
            ((op == Op::Add || op == Op::Sub) && (other == K::Date || other == K::DateTime))) {
            return other;
        }
        ok = false;
        return K::Unknown;
    }
    if (a == K::Number && b == K::Number) {
        return K::Number;
    }
    switch (op) {
    case Op::Add:
        if ((a == K::Date && b == K::Duration) || (a == K::Duration && b == K::Date)) {
            return K::Date;
        }
        if ((a == K::DateTime && b == K::Duration) || (a == K::Duration && b == K::DateTime)) {
            return K::DateTime;
        }
        if (a == K::Duration && b == K::Duration) {
            return K::Duration;
        }
        break;
    case Op::Sub:
        if ((a == K::Date || a == K::DateTime || a == K::Duration) && b == K::Duration) {
            return a;
        }
        break;
    case Op::Mul:
        if ((a == K::Duration && b == K::Number) || (a == K::Number && b == K::Duration)) {
            return K::Duration;
        }
        break;
    default:
        break;
    }
    ok = false;
    return K::Unknown;
}

enum class Arg { Text, Date };

struct Function {
    std::string_view name;
    std::size_t arity;
    TypeKind result;
    std::array<Arg, 2> args;
};

constexpr std::array<Function, 8> kFunctions{{
    {"today", 0, TypeKind::Date, {Arg::Text, Arg::Text}},
    {"now", 0, TypeKind::DateTime, {Arg::Text, Arg::Text}},
    {"lower", 1, TypeKind::Text, {Arg::Text, Arg::Text}},
    {"upper", 1, TypeKind::Text, {Arg::Text, Arg::Text}},
    {"len", 1, TypeKind::Number, {Arg::Text, Arg::Text}},
    {"contains", 2, TypeKind::Boolean, {Arg::Text, Arg::Text}},
    {"starts_with", 2, TypeKind::Boolean, {Arg::Text, Arg::Text}},
    {"days_between", 2, TypeKind::Number, {Arg::Date, Arg::Date}},
}};

} // namespace

Type Checker::infer(Expr& e, const Scope& scope) {
    Type t;
    switch (e.kind) {
    case ExprKind::Number:
        t.kind = TypeKind::Number;
        break;
    case ExprKind::String:
        t.kind = TypeKind::Text;
        break;
    case ExprKind::Message:
        check_message(e.parts, scope);
        t.kind = TypeKind::Text;
        break;
    case ExprKind::Bool:
        t.kind = TypeKind::Boolean;
        break;
    case ExprKind::Empty:
        t.kind = TypeKind::Empty;
        break;
    case ExprKind::Date:
        t.kind = TypeKind::Date;
        break;
    case ExprKind::DateTime:
        t.kind = TypeKind::DateTime;
        break;
    case ExprKind::Duration:
        t.kind = TypeKind::Duration;
        break;
    case ExprKind::List:
        t = infer_list(e, scope);
        break;
    case ExprKind::Name:
        t = infer_name(e, scope);
        break;
    case ExprKind::Member:
        t = infer_member(e, scope);
        break;
    case ExprKind::Call:
        t = infer_call(e, scope);
        break;
    case ExprKind::Unary:
        t = infer_unary(e, scope);
        break;
    case ExprKind::Binary:
        t = infer_binary(e, scope);
        break;
    case ExprKind::IsEmpty:
        for (ExprPtr& arg : e.args) {
            infer(*arg, scope);
        }
        t.kind = TypeKind::Boolean;
        break;
    case ExprKind::In:
        t = infer_in(e, scope);
        break;
    }
    e.type = t;
    return e.type;
}

Type Checker::infer_name(Expr& e, const Scope& scope) {
    const std::string_view name = e.text;
    if (scope.module != nullptr) {
        if (const FieldInfo* field = scope.module->field(name)) {
            return type_of_field(*field->decl);
        }
    }
    if (scope.module != nullptr || scope.opaque) {
        if (const BuiltinField* builtin = find_builtin(name)) {
            Type t = of_kind(builtin->type);
            if (t.kind == TypeKind::Record && scope.module != nullptr) {
                t.module = scope.module->name();
            }
            return t;
        }
    }
    if (name == "current_user") {
        return of_kind(TypeKind::User);
    }
    if (scope.records != nullptr) {
        const auto it = scope.records->find(name);
        if (it != scope.records->end()) {
            if (it->second == nullptr) {
                return of_kind(TypeKind::Unknown);
            }
            Type t = of_kind(TypeKind::Record);
            t.module = it->second->name();
            return t;
        }
    }
    if (is_user(name)) {
        return of_kind(TypeKind::User);
    }
    if (scope.opaque || (scope.module != nullptr && scope.module->partial)) {
        return of_kind(TypeKind::Unknown);
    }
    std::vector<std::string_view> candidates;
    if (scope.records != nullptr) {
        candidates = keys_of(*scope.records);
    }
    if (scope.module != nullptr) {
        for (const auto& [field, info] : scope.module->fields) {
            candidates.push_back(field);
        }
        for (const BuiltinField& b : builtin_fields()) {
            candidates.emplace_back(b.name);
        }
        unknown("unknown-field", e.range,
                fmt::format("unknown field {} in module {}", quote(name), scope.module->name()),
                name, candidates);
    } else {
        unknown("unknown-record", e.range, fmt::format("unknown record {}", quote(name)), name,
                candidates);
    }
    return of_kind(TypeKind::Unknown);
}

Type Checker::infer_member(Expr& e, const Scope& scope) {
    if (e.args.empty()) {
        return of_kind(TypeKind::Unknown);
    }
    Expr& base = *e.args[0];
    const Type bt = infer(base, scope);
    if (bt.kind == TypeKind::Unknown) {
        return of_kind(TypeKind::Unknown);
    }
    if (base.kind == ExprKind::Member) {
        sink_.error("type-mismatch", e.range,
                    fmt::format("only one hop through a lookup is allowed; cannot read {} "
                                "through {}",
                                quote(e.member.text), operand(base)));
        return of_kind(TypeKind::Unknown);
    }
    if (bt.kind != TypeKind::Record) {
        sink_.error("type-mismatch", base.range,
                    fmt::format("{} is not a lookup or a record; cannot read {} through it",
                                operand(base), quote(e.member.text)));
        return of_kind(TypeKind::Unknown);
    }
    const ModuleInfo* module = find_module(bt.module);
    if (module == nullptr) {
        return of_kind(TypeKind::Unknown);
    }
    if (const FieldInfo* field = module->field(e.member.text)) {
        return type_of_field(*field->decl);
    }
    if (const BuiltinField* builtin = find_builtin(e.member.text)) {
        Type t = of_kind(builtin->type);
        if (t.kind == TypeKind::Record) {
            t.module = module->name();
        }
        return t;
    }
    if (module->partial) {
        return of_kind(TypeKind::Unknown);
    }
    std::vector<std::string_view> candidates = keys_of(module->fields);
    for (const BuiltinField& b : builtin_fields()) {
        candidates.emplace_back(b.name);
    }
    unknown("unknown-field", e.member.range,
            fmt::format("unknown field {} in module {}", quote(e.member.text), module->name()),
            e.member.text, candidates);
    return of_kind(TypeKind::Unknown);
}

Type Checker::infer_call(Expr& e, const Scope& scope) {
    for (ExprPtr& arg : e.args) {
        infer(*arg, scope);
    }
    const auto fn = std::find_if(kFunctions.begin(), kFunctions.end(),
                                 [&](const Function& f) { return f.name == e.text; });
    if (fn == kFunctions.end()) {
        SourceRange at = e.range;
        at.end = std::min<std::uint32_t>(at.end,
                                         at.begin + static_cast<std::uint32_t>(e.text.size()));
        std::vector<std::string_view> candidates;
        for (const Function& f : kFunctions) {
            candidates.push_back(f.name);
        }
        unknown("unknown-function", at, fmt::format("unknown function {}", quote(e.text)), e.text,
                candidates);
        return of_kind(TypeKind::Unknown);
    }
    if (e.args.size() != fn->arity) {
        sink_.error("wrong-arity", e.range,
                    fmt::format("function {} takes {} argument{}, not {}", quote(fn->name),
                                fn->arity, fn->arity == 1 ? "" : "s", e.args.size()));
        return of_kind(fn->result);
    }
    for (std::size_t i = 0; i < e.args.size(); ++i) {
        const Expr& arg = *e.args[i];
        const TypeKind k = arg.type.kind;
        if (silent(k)) {
            continue;
        }
        if (fn->args[i] == Arg::Text && k != TypeKind::Text) {
            sink_.error("type-mismatch", arg.range,
                        fmt::format("function {} expects text, not {}", quote(fn->name),
                                    operand(arg)));
        } else if (fn->args[i] == Arg::Date && k != TypeKind::Date && k != TypeKind::DateTime) {
            sink_.error("type-mismatch", arg.range,
                        fmt::format("function {} expects a date or a datetime, not {}",
                                    quote(fn->name), operand(arg)));
        }
    }
    return of_kind(fn->result);
}

Type Checker::infer_unary(Expr& e, const Scope& scope) {
    if (e.args.empty()) {
        return of_kind(TypeKind::Unknown);
    }
    Expr& arg = *e.args[0];
    const Type t = infer(arg, scope);
    if (e.op == Op::Not) {
        if (!silent(t.kind) && t.kind != TypeKind::Boolean) {
            sink_.error("type-mismatch", arg.range,
                        fmt::format("operator \"not\" needs a boolean, not {}", operand(arg)));
        }
        return of_kind(TypeKind::Boolean);
    }
    // Negation.
    if (silent(t.kind) || t.kind == TypeKind::Number || t.kind == TypeKind::Duration) {
        return of_kind(t.kind);
    }
    sink_.error("type-mismatch", e.range,
                fmt::format("operator \"-\" needs a number or a duration, not {}", operand(arg)));
    return of_kind(TypeKind::Unknown);
}

Type Checker::infer_binary(Expr& e, const Scope& scope) {
    if (e.args.size() != 2) {
        for (ExprPtr& arg : e.args) {
            infer(*arg, scope);
        }
        return of_kind(TypeKind::Unknown);
    }
    Expr& lhs = *e.args[0];
    Expr& rhs = *e.args[1];
    const Type a = infer(lhs, scope);
    const Type b = infer(rhs, scope);
    switch (e.op) {
    case Op::And:
    case Op::Or:
        for (const Expr* side : {&lhs, &rhs}) {
            const TypeKind k = side->type.kind;
            if (!silent(k) && k != TypeKind::Boolean) {
                sink_.error("type-mismatch", side->range,
                            fmt::format("operator {} needs boolean operands, not {}",
                                        quote(op_str(e.op)), operand(*side)));
            }
        }
        return of_kind(TypeKind::Boolean);
    case Op::Eq:
    case Op::Ne:
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge: {
        const bool eq = e.op == Op::Eq || e.op == Op::Ne;
        if (eq ? !equatable(a, b) : !orderable(a, b)) {
            sink_.error("type-mismatch", e.range,
                        fmt::format("operator {} cannot compare {} with {}", quote(op_str(e.op)),
                                    operand(lhs), operand(rhs)));
        } else {
            check_picklist_literal(lhs, rhs, scope);
            check_picklist_literal(rhs, lhs, scope);
        }
        return of_kind(TypeKind::Boolean);
    }
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div: {
        bool ok = true;
        const TypeKind k = arithmetic(e.op, a.kind, b.kind, ok);
        if (!ok) {
            sink_.error("type-mismatch", e.range,
                        fmt::format("operator {} cannot be applied to {} and {}",
                                    quote(op_str(e.op)), operand(lhs), operand(rhs)));
        }
        return of_kind(k);
    }
    case Op::None:
    case Op::Not:
    case Op::Neg:
        break;
    }
    return of_kind(TypeKind::Unknown);
}

Type Checker::infer_in(Expr& e, const Scope& scope) {
    for (ExprPtr& arg : e.args) {
        infer(*arg, scope);
    }
    if (e.args.size() != 2) {
        return of_kind(TypeKind::Boolean);
    }
    const Expr& value = *e.args[0];
    const Expr& list = *e.args[1];
    if (list.type.kind == TypeKind::Unknown) {
        return of_kind(TypeKind::Boolean);
    }
    if (list.type.kind != TypeKind::List) {
        sink_.error("type-mismatch", list.range,
                    fmt::format("operator \"in\" needs a list, not {}", operand(list)));
        return of_kind(TypeKind::Boolean);
    }
    if (!equatable(value.type, of_kind(list.type.element))) {
        sink_.error("type-mismatch", e.range,
                    fmt::format("operator \"in\" cannot compare {} with {}", operand(value),
                                describe(list.type)));
        return of_kind(TypeKind::Boolean);
    }
    const FieldInfo* field = field_of(value, scope);
    if (field != nullptr && field->decl->type.kind == FieldKind::Picklist) {
        for (const ExprPtr& element : list.args) {
            if (element->kind == ExprKind::String) {
                check_literal_value(*field, *element);
            }
        }
    }
    return of_kind(TypeKind::Boolean);
}

Type Checker::infer_list(Expr& e, const Scope& scope) {
    Type list = of_kind(TypeKind::List);
    Type element;
    bool mixed = false;
    for (ExprPtr& arg : e.args) {
        const Type t = infer(*arg, scope);
        if (silent(t.kind)) {
            continue;
        }
        if (element.kind == TypeKind::Unknown) {
            element = t;
        } else if (!equatable(element, t)) {
            sink_.error("type-mismatch", arg->range,
                        fmt::format("list mixes {} and {}", describe(element), describe(t)));
            mixed = true;
        }
    }
    // After a mix the element type is unknown, so that `x in [...]` adds no second error.
    list.element = mixed ? TypeKind::Unknown : element.kind;
    return list;
}

const FieldInfo* Checker::field_of(const Expr& e, const Scope& scope) const {
    if (e.kind == ExprKind::Name) {
        return scope.module != nullptr ? scope.module->field(e.text) : nullptr;
    }
    if (e.kind == ExprKind::Member && !e.args.empty()) {
        const Type& base = e.args[0]->type;
        if (base.kind == TypeKind::Record && e.args[0]->kind == ExprKind::Name) {
            if (const ModuleInfo* module = find_module(base.module)) {
                return module->field(e.member.text);
            }
        }
    }
    return nullptr;
}

void Checker::check_picklist_literal(const Expr& maybe_field, const Expr& maybe_literal,
                                     const Scope& scope) {
    if (maybe_literal.kind != ExprKind::String) {
        return;
    }
    const FieldInfo* field = field_of(maybe_field, scope);
    if (field != nullptr && field->decl->type.kind == FieldKind::Picklist) {
        check_literal_value(*field, maybe_literal);
    }
}

void Checker::check_literal_value(const FieldInfo& field, const Expr& literal) {
    if (field.has_value(literal.text)) {
        return;
    }
    unknown("unknown-value", literal.range,
            fmt::format("unknown value {} for picklist field {}", quote(literal.text),
                        quote(field.decl->name.text)),
            literal.text, field.values);
}

void Checker::check_condition(Expr& expr, const Scope& scope) {
    const Type t = infer(expr, scope);
    if (!silent(t.kind) && t.kind != TypeKind::Boolean) {
        sink_.error("type-mismatch", expr.range,
                    fmt::format("condition must be boolean, not {}", operand(expr)));
    }
}

void Checker::check_message(std::vector<MessagePart>& parts, const Scope& scope) {
    for (MessagePart& part : parts) {
        if (part.expr) {
            infer(*part.expr, scope);
        }
    }
}

void Checker::check_assignment(const AssignTarget& target, const Name& field, Expr& value,
                               const Scope& scope, bool is_default) {
    const Type t = infer(value, scope);
    if (silent(t.kind)) {
        return;
    }
    std::string field_type;
    bool ok = false;
    const auto user_value = [&] {
        if (t.kind == TypeKind::User) {
            return true;
        }
        if (t.kind == TypeKind::Text && value.kind == ExprKind::String) {
            if (!is_user(value.text)) {
                unknown("unknown-user", value.range,
                        fmt::format("unknown user {}", quote(value.text)), value.text,
                        keys_of(users_));
            }
            return true;
        }
        return false;
    };
    if (target.field != nullptr) {
        const Field& decl = *target.field->decl;
        field_type = describe_field(decl);
        switch (decl.type.kind) {
        case FieldKind::Text:
        case FieldKind::Email:
        case FieldKind::Phone:
        case FieldKind::Url:
            ok = t.kind == TypeKind::Text;
            break;
        case FieldKind::Picklist:
            ok = t.kind == TypeKind::Text;
            if (ok && value.kind == ExprKind::String && !target.field->has_value(value.text)) {
                if (is_default) {
                    std::string message = fmt::format(
                        "default {} is not a value of picklist field {}", quote(value.text),
                        quote(decl.name.text));
                    const std::string near = closest_name(value.text, target.field->values);
                    if (!near.empty()) {
                        message += fmt::format("; did you mean {}?", quote(near));
                    }
                    sink_.error("bad-picklist-default", value.range, std::move(message));
                } else {
                    check_literal_value(*target.field, value);
                }
            }
            break;
        case FieldKind::Number:
        case FieldKind::Currency:
        case FieldKind::Percent:
            ok = t.kind == TypeKind::Number;
            break;
        case FieldKind::Boolean:
            ok = t.kind == TypeKind::Boolean;
            break;
        case FieldKind::Date:
            ok = t.kind == TypeKind::Date;
            break;
        case FieldKind::DateTime:
            ok = t.kind == TypeKind::DateTime || t.kind == TypeKind::Date;
            break;
        case FieldKind::User:
            ok = user_value();
            break;
        case FieldKind::Lookup:
            ok = t.kind == TypeKind::Record &&
                 (t.module.empty() || t.module == decl.type.target.text);
            break;
        }
    } else if (target.builtin != nullptr) {
        Type expected = of_kind(target.builtin->type);
        if (expected.kind == TypeKind::Record) {
            expected.module = std::string(target.module);
        }
        field_type = describe(expected);
        if (expected.kind == TypeKind::User) {
            ok = user_value();
        } else if (expected.kind == TypeKind::DateTime) {
            ok = t.kind == TypeKind::DateTime || t.kind == TypeKind::Date;
        } else if (expected.kind == TypeKind::Record) {
            ok = t.kind == TypeKind::Record && (t.module.empty() || t.module == target.module);
        } else {
            ok = t.kind == expected.kind;
        }
    } else {
        return;
    }
    if (!ok) {
        sink_.error("assignment-type", value.range,
                    fmt::format("field {} is {}; cannot assign {}", quote(field.text), field_type,
                                operand(value)));
    }
}

} // namespace teamflow::dsl::checker_detail
