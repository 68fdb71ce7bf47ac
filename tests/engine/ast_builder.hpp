#pragma once
// Small helpers to build ASTs by hand in engine tests (no parser needed).

#include "teamflow/dsl/ast.hpp"
#include "teamflow/engine/value.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace teamflow::testing {

using dsl::ExprPtr;

inline ExprPtr node(dsl::ExprKind kind) {
    auto e = std::make_unique<dsl::Expr>();
    e->kind = kind;
    return e;
}
inline ExprPtr num(const std::string& text) {
    auto e = node(dsl::ExprKind::Number);
    e->text = text;
    return e;
}
inline ExprPtr str(const std::string& text) {
    auto e = node(dsl::ExprKind::String);
    e->text = text;
    return e;
}
inline ExprPtr boolean(bool b) {
    auto e = node(dsl::ExprKind::Bool);
    e->boolean = b;
    e->text = b ? "true" : "false";
    return e;
}
inline ExprPtr empty() {
    auto e = node(dsl::ExprKind::Empty);
    e->text = "empty";
    return e;
}
inline ExprPtr date(const std::string& text) {
    auto e = node(dsl::ExprKind::Date);
    e->text = text;
    e->int_value = *engine::parse_date(text);
    return e;
}
inline ExprPtr datetime(const std::string& text) {
    auto e = node(dsl::ExprKind::DateTime);
    e->text = text;
    e->int_value = *engine::parse_datetime(text);
    return e;
}
inline ExprPtr duration(const std::string& text) {
    auto e = node(dsl::ExprKind::Duration);
    e->text = text;
    e->int_value = *engine::parse_duration(text);
    return e;
}
inline ExprPtr name(const std::string& n) {
    auto e = node(dsl::ExprKind::Name);
    e->text = n;
    return e;
}
inline ExprPtr member(ExprPtr base, const std::string& field) {
    auto e = node(dsl::ExprKind::Member);
    e->member.text = field;
    e->args.push_back(std::move(base));
    return e;
}
inline ExprPtr bin(dsl::Op op, ExprPtr a, ExprPtr b) {
    auto e = node(dsl::ExprKind::Binary);
    e->op = op;
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
}
inline ExprPtr unary(dsl::Op op, ExprPtr a) {
    auto e = node(dsl::ExprKind::Unary);
    e->op = op;
    e->args.push_back(std::move(a));
    return e;
}
inline ExprPtr is_empty(ExprPtr a, bool negated = false) {
    auto e = node(dsl::ExprKind::IsEmpty);
    e->negated = negated;
    e->args.push_back(std::move(a));
    return e;
}
inline ExprPtr call(const std::string& fn, std::vector<ExprPtr> args = {}) {
    auto e = node(dsl::ExprKind::Call);
    e->text = fn;
    e->args = std::move(args);
    return e;
}
inline std::vector<ExprPtr> args(ExprPtr a) {
    std::vector<ExprPtr> v;
    v.push_back(std::move(a));
    return v;
}
inline std::vector<ExprPtr> args(ExprPtr a, ExprPtr b) {
    std::vector<ExprPtr> v;
    v.push_back(std::move(a));
    v.push_back(std::move(b));
    return v;
}
inline ExprPtr in(ExprPtr x, std::vector<ExprPtr> elements, bool negated = false) {
    auto list = node(dsl::ExprKind::List);
    list->args = std::move(elements);
    auto e = node(dsl::ExprKind::In);
    e->negated = negated;
    e->args.push_back(std::move(x));
    e->args.push_back(std::move(list));
    return e;
}
inline dsl::Name nm(const std::string& n) {
    dsl::Name out;
    out.text = n;
    return out;
}
inline dsl::StringLit lit(const std::string& s) {
    dsl::StringLit out;
    out.value = s;
    return out;
}
inline dsl::Field field(const std::string& n, dsl::FieldKind kind, bool required = false) {
    dsl::Field f;
    f.name = nm(n);
    f.type.kind = kind;
    f.required = required;
    return f;
}
inline dsl::Field picklist(const std::string& n, std::vector<std::string> values,
                           const std::string& def) {
    dsl::Field f = field(n, dsl::FieldKind::Picklist);
    for (auto& v : values) {
        f.type.values.push_back(lit(v));
    }
    if (!def.empty()) {
        f.default_value = str(def);
    }
    return f;
}
inline dsl::Message message(std::vector<std::pair<std::string, ExprPtr>> parts) {
    dsl::Message m;
    for (auto& [text, e] : parts) {
        dsl::MessagePart p;
        p.text = text;
        p.expr = std::move(e);
        m.parts.push_back(std::move(p));
    }
    return m;
}
inline dsl::Owner owner(dsl::OwnerKind kind, const std::string& n = {}) {
    dsl::Owner o;
    o.kind = kind;
    o.name = nm(n);
    return o;
}
inline dsl::FromSpec from(std::vector<std::string> states) {
    dsl::FromSpec f;
    for (auto& s : states) {
        f.states.push_back(nm(s));
    }
    return f;
}
inline dsl::FromSpec from_any() {
    dsl::FromSpec f;
    f.any = true;
    return f;
}
inline dsl::Target to(const std::string& s, ExprPtr when = nullptr, bool otherwise = false) {
    dsl::Target t;
    t.state = nm(s);
    t.when = std::move(when);
    t.otherwise = otherwise;
    return t;
}
inline dsl::Action set(const std::string& f, ExprPtr v) {
    dsl::Action a;
    a.kind = dsl::ActionKind::Set;
    a.field = nm(f);
    a.value = std::move(v);
    return a;
}
inline dsl::Action notify(dsl::Owner who, dsl::Message m) {
    dsl::Action a;
    a.kind = dsl::ActionKind::Notify;
    a.recipient = std::move(who);
    a.message = std::move(m);
    return a;
}
inline dsl::Assignment assign(const std::string& f, ExprPtr v) {
    dsl::Assignment a;
    a.field = nm(f);
    a.value = std::move(v);
    return a;
}

/// The spec's Acme sales set (Accounts, Deals, Marketing.SalesMaterials, DealPipeline), by hand.
std::unique_ptr<dsl::Ast> acme_ast();

} // namespace teamflow::testing
