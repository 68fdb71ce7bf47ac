// Unit tests of the checker: type inference of every operator and function, and a clean set.

#include "teamflow/dsl/checker.hpp"
#include "teamflow/dsl/frontend.hpp"
#include "teamflow/dsl/parser.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace teamflow::dsl {
namespace {

constexpr const char* kPrelude = R"(
role Rep
user ann { roles Rep }
module Accounts { field name: text required }
module Deals {
  field name: text
  field mail: email
  field amount: currency
  field pct: percent
  field count: number
  field flag: boolean
  field day: date
  field at: datetime
  field account: lookup Accounts
  field reviewer: user
  field kind: picklist ["A", "B"]
  field stage: picklist ["Open", "Won"]
}
blueprint P on Deals.stage {
  transition Win from "Open" to "Won" {
    by owner
    then notify owner "x"
  }
}
)";

std::vector<std::string> codes_of(const DiagnosticSink& sink) {
    std::vector<std::string> out;
    for (const Diagnostic& d : sink.diagnostics()) {
        out.push_back(d.code);
    }
    return out;
}

struct Inferred {
    Type type;
    std::vector<std::string> codes;
};

/// Checks `text` as an interpolation of a notify message (any type allowed there) in the context
/// of module Deals, and returns its inferred type and the diagnostic codes.
Inferred infer(const std::string& text) {
    auto set = compile_sources({{"prelude.flow", kPrelude}});
    EXPECT_TRUE(set->ok()) << render_diagnostics(set->sources, set->diagnostics.diagnostics(),
                                                 false);
    SourceManager sources;
    const FileId id = sources.add("expr", text);
    DiagnosticSink parse_sink;
    ExprPtr expr = parse_expression(sources, id, parse_sink);
    if (!expr) {
        ADD_FAILURE() << "cannot parse " << text;
        return {};
    }
    const Expr* raw = expr.get();
    auto& parts = set->ast.blueprints.at(0).transitions.at(0).actions.at(0).message.parts;
    parts.clear();
    parts.push_back(MessagePart{"", std::move(expr)});
    DiagnosticSink sink;
    check(set->ast, set->sources, sink);
    return {raw->type, codes_of(sink)};
}

struct Case {
    const char* expr;
    TypeKind kind;
    const char* code; ///< the one expected diagnostic code, or "" for none
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.expr; }

class Inference : public testing::TestWithParam<Case> {};

TEST_P(Inference, InfersTypeAndDiagnostics) {
    const Case& c = GetParam();
    const Inferred r = infer(c.expr);
    EXPECT_EQ(static_cast<int>(r.type.kind), static_cast<int>(c.kind)) << c.expr;
    if (std::string(c.code).empty()) {
        EXPECT_TRUE(r.codes.empty()) << c.expr << ": " << (r.codes.empty() ? "" : r.codes[0]);
    } else {
        ASSERT_EQ(r.codes.size(), 1u) << c.expr;
        EXPECT_EQ(r.codes[0], c.code) << c.expr;
    }
}

using K = TypeKind;

const Case kCases[] = {
    // Literals.
    {"42", K::Number, ""},
    {"12.5", K::Number, ""},
    {"\"text\"", K::Text, ""},
    {"true", K::Boolean, ""},
    {"empty", K::Empty, ""},
    {"2026-03-11", K::Date, ""},
    {"2026-03-11T09:30:00Z", K::DateTime, ""},
    {"30d", K::Duration, ""},
    {"[\"a\", \"b\"]", K::List, ""},
    {"[1, \"b\"]", K::List, "type-mismatch"},
    // Fields, built-ins, names.
    {"name", K::Text, ""},
    {"mail", K::Text, ""},
    {"kind", K::Text, ""},
    {"amount", K::Number, ""},
    {"pct", K::Number, ""},
    {"count", K::Number, ""},
    {"flag", K::Boolean, ""},
    {"day", K::Date, ""},
    {"at", K::DateTime, ""},
    {"account", K::Record, ""},
    {"reviewer", K::User, ""},
    {"id", K::Record, ""},
    {"owner", K::User, ""},
    {"created_by", K::User, ""},
    {"created_at", K::DateTime, ""},
    {"updated_at", K::DateTime, ""},
    {"version", K::Number, ""},
    {"requester", K::User, ""},
    {"assignee", K::User, ""},
    {"current_user", K::User, ""},
    {"ann", K::User, ""},
    {"nmae", K::Unknown, "unknown-field"},
    {"account.name", K::Text, ""},
    {"account.owner", K::User, ""},
    {"account.nam", K::Unknown, "unknown-field"},
    {"amount.name", K::Unknown, "type-mismatch"},
    // Equality.
    {"amount == 3", K::Boolean, ""},
    {"name != \"x\"", K::Boolean, ""},
    {"reviewer == \"ann\"", K::Boolean, ""},
    {"owner == ann", K::Boolean, ""},
    {"day == at", K::Boolean, ""},
    {"amount == empty", K::Boolean, ""},
    {"account == id", K::Boolean, "type-mismatch"},
    {"amount == name", K::Boolean, "type-mismatch"},
    {"flag != 1", K::Boolean, "type-mismatch"},
    {"kind == \"A\"", K::Boolean, ""},
    {"kind == \"C\"", K::Boolean, "unknown-value"},
    {"\"C\" != kind", K::Boolean, "unknown-value"},
    // Ordering.
    {"amount > 3", K::Boolean, ""},
    {"name < \"m\"", K::Boolean, ""},
    {"day <= at", K::Boolean, ""},
    {"30d >= 2h", K::Boolean, ""},
    {"amount > \"big\"", K::Boolean, "type-mismatch"},
    {"flag < true", K::Boolean, "type-mismatch"},
    {"day > 3", K::Boolean, "type-mismatch"},
    {"reviewer > ann", K::Boolean, "type-mismatch"},
    // Arithmetic.
    {"amount + 1", K::Number, ""},
    {"amount - pct * count / 2", K::Number, ""},
    {"name + amount", K::Text, ""},
    {"1 + name", K::Text, ""},
    {"day + 30d", K::Date, ""},
    {"30d + day", K::Date, ""},
    {"day - 1w", K::Date, ""},
    {"at + 4h", K::DateTime, ""},
    {"at - 15m", K::DateTime, ""},
    {"1d + 20s", K::Duration, ""},
    {"2d - 1d", K::Duration, ""},
    {"2d * 3", K::Duration, ""},
    {"3 * 2d", K::Duration, ""},
    {"amount + empty", K::Number, ""},
    {"day - day", K::Unknown, "type-mismatch"},
    {"flag + 1", K::Unknown, "type-mismatch"},
    {"day * 2", K::Unknown, "type-mismatch"},
    {"2d / 2", K::Unknown, "type-mismatch"},
    {"amount + 1d", K::Unknown, "type-mismatch"},
    // Unary.
    {"-amount", K::Number, ""},
    {"-2d", K::Duration, ""},
    {"-name", K::Unknown, "type-mismatch"},
    {"not flag", K::Boolean, ""},
    {"not amount", K::Boolean, "type-mismatch"},
    // Logic, emptiness, membership.
    {"flag and amount > 1", K::Boolean, ""},
    {"flag or not flag", K::Boolean, ""},
    {"flag and name", K::Boolean, "type-mismatch"},
    {"amount or flag", K::Boolean, "type-mismatch"},
    {"name is empty", K::Boolean, ""},
    {"account is not empty", K::Boolean, ""},
    {"kind in [\"A\", \"B\"]", K::Boolean, ""},
    {"kind in [\"A\", \"Z\"]", K::Boolean, "unknown-value"},
    {"amount in [1, 2]", K::Boolean, ""},
    {"amount in [\"a\"]", K::Boolean, "type-mismatch"},
    // Functions.
    {"today()", K::Date, ""},
    {"now()", K::DateTime, ""},
    {"lower(name)", K::Text, ""},
    {"upper(mail)", K::Text, ""},
    {"len(name)", K::Number, ""},
    {"contains(name, \"x\")", K::Boolean, ""},
    {"starts_with(name, lower(name))", K::Boolean, ""},
    {"days_between(day, at)", K::Number, ""},
    {"days_between(today(), now())", K::Number, ""},
    {"len(amount)", K::Number, "type-mismatch"},
    {"contains(name, 3)", K::Boolean, "type-mismatch"},
    {"days_between(name, day)", K::Number, "type-mismatch"},
    {"lower(name, name)", K::Text, "wrong-arity"},
    {"today(1)", K::Date, "wrong-arity"},
    {"lowr(name)", K::Unknown, "unknown-function"},
    // Errors do not cascade.
    {"nmae + 1 > 3 and flag", K::Boolean, "unknown-field"},
    {"len(nmae) > 2", K::Boolean, "unknown-field"},
};

INSTANTIATE_TEST_SUITE_P(Operators, Inference, testing::ValuesIn(kCases));

TEST(Checker, DidYouMeanIsAppended) {
    auto set = compile_sources({{"prelude.flow", kPrelude}});
    SourceManager sources;
    const FileId id = sources.add("expr", "kind == \"b\" or amout > 1");
    DiagnosticSink parse_sink;
    ExprPtr expr = parse_expression(sources, id, parse_sink);
    ASSERT_TRUE(expr);
    auto& parts = set->ast.blueprints.at(0).transitions.at(0).actions.at(0).message.parts;
    parts.clear();
    parts.push_back(MessagePart{"", std::move(expr)});
    DiagnosticSink sink;
    check(set->ast, set->sources, sink);
    ASSERT_EQ(sink.diagnostics().size(), 2u);
    EXPECT_EQ(sink.diagnostics()[0].message,
              "unknown value \"b\" for picklist field \"kind\"; did you mean \"B\"?");
    EXPECT_EQ(sink.diagnostics()[1].message,
              "unknown field \"amout\" in module Deals; did you mean \"amount\"?");
}

TEST(Checker, BuiltinFields) {
    std::vector<std::string> names;
    for (const BuiltinField& f : builtin_fields()) {
        names.emplace_back(f.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"id", "owner", "created_by", "created_at",
                                               "updated_at", "version", "requester",
                                               "assignee"}));
}

TEST(Checker, FullExampleIsClean) {
    const std::string path =
        std::string(TEAMFLOW_SOURCE_DIR) + "/tests/dsl/cases/clean_full_example.flow";
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << path;
    std::stringstream text;
    text << in.rdbuf();
    auto set = compile_sources({{"clean_full_example.flow", text.str()}});
    EXPECT_TRUE(set->diagnostics.diagnostics().empty())
        << render_diagnostics(set->sources, set->diagnostics.diagnostics(), false);
    // Expressions are annotated.
    const Blueprint& bp = set->ast.blueprints.at(0);
    ASSERT_TRUE(bp.when);
    EXPECT_EQ(bp.when->type.kind, TypeKind::Boolean);
    const Transition& qualify = bp.transitions.at(0);
    EXPECT_EQ(qualify.when.at(0)->type.kind, TypeKind::Boolean);
    EXPECT_EQ(qualify.actions.at(0).value->type.kind, TypeKind::Number);
    const Transition& win = bp.transitions.at(2);
    const Action& request = win.actions.at(0);
    ASSERT_EQ(request.kind, ActionKind::Request);
    EXPECT_EQ(request.assignments.at(0).value->type.kind, TypeKind::Text);
    EXPECT_EQ(request.assignments.at(2).value->type.kind, TypeKind::Record);
    EXPECT_EQ(request.assignments.at(2).value->type.module, "Deals");
    EXPECT_EQ(request.assignments.at(3).value->type.kind, TypeKind::Date);
}

TEST(Checker, ReportsEveryErrorInOneRun) {
    auto set = compile_sources({{"errors.flow", R"(
role Rep
user ann { roles Rep, Boss }
module Deals {
  field name: text
  field stage: picklist ["Open", "Won"] default "Opn"
}
blueprint P on Deals.stage {
  transition Win from "Opne" to "Won" { by user bob }
}
)"}});
    const std::vector<std::string> codes = codes_of(set->diagnostics);
    EXPECT_EQ(codes, (std::vector<std::string>{"unknown-role", "bad-picklist-default",
                                               "unknown-state", "unknown-user"}));
}

TEST(Checker, PartialDeclarationsAreNotReportedUnknown) {
    Ast ast;
    ast.partial_declarations.push_back("Accounts");
    Module deals;
    deals.name.text = "Deals";
    Field account;
    account.name.text = "account";
    account.type.kind = FieldKind::Lookup;
    account.type.target.text = "Accounts";
    deals.fields.push_back(std::move(account));
    ast.modules.push_back(std::move(deals));
    SourceManager sources;
    sources.add("x.flow", "");
    DiagnosticSink sink;
    check(ast, sources, sink);
    EXPECT_TRUE(sink.diagnostics().empty());
}

} // namespace
} // namespace teamflow::dsl
