#include "teamflow/dsl/ast.hpp"

namespace teamflow::dsl {

const char* op_text(Op op) {
    switch (op) {
    case Op::None:
        return "";
    case Op::Or:
        return "or";
    case Op::And:
        return "and";
    case Op::Not:
        return "not";
    case Op::Eq:
        return "==";
    case Op::Ne:
        return "!=";
    case Op::Lt:
        return "<";
    case Op::Le:
        return "<=";
    case Op::Gt:
        return ">";
    case Op::Ge:
        return ">=";
    case Op::Add:
        return "+";
    case Op::Sub:
    case Op::Neg:
        return "-";
    case Op::Mul:
        return "*";
    case Op::Div:
        return "/";
    }
    return "";
}

const char* field_kind_name(FieldKind kind) {
    switch (kind) {
    case FieldKind::Text:
        return "text";
    case FieldKind::Number:
        return "number";
    case FieldKind::Currency:
        return "currency";
    case FieldKind::Percent:
        return "percent";
    case FieldKind::Boolean:
        return "boolean";
    case FieldKind::Date:
        return "date";
    case FieldKind::DateTime:
        return "datetime";
    case FieldKind::Email:
        return "email";
    case FieldKind::Phone:
        return "phone";
    case FieldKind::Url:
        return "url";
    case FieldKind::Picklist:
        return "picklist";
    case FieldKind::Lookup:
        return "lookup";
    case FieldKind::User:
        return "user";
    }
    return "text";
}

namespace {

const char* type_kind_name(TypeKind kind) {
    switch (kind) {
    case TypeKind::Unknown:
        return "unknown";
    case TypeKind::Empty:
        return "empty";
    case TypeKind::Text:
        return "text";
    case TypeKind::Number:
        return "number";
    case TypeKind::Boolean:
        return "boolean";
    case TypeKind::Date:
        return "date";
    case TypeKind::DateTime:
        return "datetime";
    case TypeKind::Duration:
        return "duration";
    case TypeKind::User:
        return "user";
    case TypeKind::Record:
        return "record";
    case TypeKind::List:
        return "list";
    }
    return "unknown";
}

} // namespace

std::string type_name(const Type& type) {
    switch (type.kind) {
    case TypeKind::Record:
        return type.module.empty() ? std::string("record") : "record of " + type.module;
    case TypeKind::List:
        if (type.element == TypeKind::Unknown || type.element == TypeKind::Empty) {
            return "list";
        }
        return std::string("list of ") + type_kind_name(type.element);
    default:
        return type_kind_name(type.kind);
    }
}

} // namespace teamflow::dsl
