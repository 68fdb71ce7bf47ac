// Unit tests of the parser: the AST shape of every construct, source ranges, literal values,
// syntax errors (message and position) and recovery after errors.

#include "parser_samples.hpp"
#include "teamflow/dsl/parser.hpp"

#include <gtest/gtest.h>
#include <string>
#include <string_view>
#include <vector>

namespace teamflow::dsl {
namespace {

struct Parsed {
    SourceManager sources;
    Ast ast;
    DiagnosticSink sink;
    bool ok = false;
    std::string_view text() const { return sources.file(0).text(); }
    std::string_view slice(const SourceRange& r) const {
        return text().substr(r.begin, r.end - r.begin);
    }
};

std::unique_ptr<Parsed> parse(std::string text) {
    auto p = std::make_unique<Parsed>();
    const FileId id = p->sources.add("test.flow", std::move(text));
    p->ok = parse_file(p->sources, id, p->ast, p->sink);
    return p;
}

std::string errors_of(const Parsed& p) {
    std::string out;
    for (const Diagnostic& d : p.sink.diagnostics()) {
        const LineColumn lc = p.sources.file(0).line_column(d.range.begin);
        out += std::to_string(lc.line) + ":" + std::to_string(lc.column) + ": " + d.message + "\n";
    }
    return out;
}

/// A compact S-expression of an expression's shape.
std::string sexpr(const Expr& e) {
    const auto args = [&](std::string head) {
        for (const ExprPtr& a : e.args) {
            head += " " + sexpr(*a);
        }
        return "(" + head + ")";
    };
    switch (e.kind) {
    case ExprKind::Number:
        return "#" + e.text;
    case ExprKind::String:
        return "'" + e.text + "'";
    case ExprKind::Bool:
        return e.boolean ? "true" : "false";
    case ExprKind::Empty:
        return "empty";
    case ExprKind::Date:
        return "date:" + std::to_string(e.int_value);
    case ExprKind::DateTime:
        return "dt:" + std::to_string(e.int_value);
    case ExprKind::Duration:
        return "dur:" + std::to_string(e.int_value);
    case ExprKind::List:
        return args("list");
    case ExprKind::Name:
        return e.text;
    case ExprKind::Member:
        return "(. " + sexpr(*e.args[0]) + " " + e.member.text + ")";
    case ExprKind::Call:
        return args("call " + e.text);
    case ExprKind::Unary:
    case ExprKind::Binary:
        return args(op_text(e.op));
    case ExprKind::IsEmpty:
        return args(e.negated ? "is-not-empty" : "is-empty");
    case ExprKind::In:
        return args(e.negated ? "not-in" : "in");
    case ExprKind::Message:
        return "message";
    }
    return "?";
}

ExprPtr expr_of(const std::string& text, std::string* error = nullptr) {
    SourceManager sources;
    const FileId id = sources.add("expr.flow", text);
    DiagnosticSink sink;
    ExprPtr e = parse_expression(sources, id, sink);
    if (error != nullptr && !sink.diagnostics().empty()) {
        *error = sink.diagnostics().front().message;
    }
    return e;
}

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

struct ExprCase {
    const char* source;
    const char* shape;
};

class ExpressionShape : public ::testing::TestWithParam<ExprCase> {};

TEST_P(ExpressionShape, ParsesWithPrecedence) {
    const ExprCase& c = GetParam();
    std::string error;
    const ExprPtr e = expr_of(c.source, &error);
    ASSERT_TRUE(e) << c.source << ": " << error;
    EXPECT_EQ(sexpr(*e), c.shape) << c.source;
    // The canonical print parses back to the same shape.
    const ExprPtr again = expr_of(print_expr(*e));
    ASSERT_TRUE(again) << print_expr(*e);
    EXPECT_EQ(sexpr(*again), c.shape) << print_expr(*e);
}

INSTANTIATE_TEST_SUITE_P(
    Parser, ExpressionShape,
    ::testing::Values(
        ExprCase{"a", "a"}, ExprCase{"42", "#42"}, ExprCase{"12.5", "#12.5"},
        ExprCase{R"("a\"b\\c\nd\{e\}")", "'a\"b\\c\nd{e}'"}, ExprCase{"true", "true"},
        ExprCase{"false", "false"}, ExprCase{"empty", "empty"}, ExprCase{"1970-01-02", "date:1"},
        ExprCase{"2026-03-11", "date:20523"}, ExprCase{"2024-02-29", "date:19782"},
        ExprCase{"1970-01-01T00:01:00Z", "dt:60"},
        ExprCase{"2026-03-11T09:30:00Z", "dt:1773221400"},
        ExprCase{"2026-03-11T09:30:00+02:00", "dt:1773214200"},
        ExprCase{"2026-03-11T09:30:00.250-01:30", "dt:1773226800"},
        ExprCase{"2026-03-11T09:30Z", "dt:1773221400"}, ExprCase{"30d", "dur:2592000"},
        ExprCase{"4h", "dur:14400"}, ExprCase{"15m", "dur:900"}, ExprCase{"20s", "dur:20"},
        ExprCase{"2w", "dur:1209600"}, ExprCase{"1h30m", "dur:5400"}, ExprCase{"[]", "(list)"},
        ExprCase{R"(["Retail", "Banking",])", "(list 'Retail' 'Banking')"},
        ExprCase{"a.b", "(. a b)"}, ExprCase{"today()", "(call today)"},
        ExprCase{"contains(s, \"x\")", "(call contains s 'x')"},
        ExprCase{"a or b and c", "(or a (and b c))"}, ExprCase{"a and b or c", "(or (and a b) c)"},
        ExprCase{"not a and b", "(and (not a) b)"}, ExprCase{"not not a", "(not (not a))"},
        ExprCase{"not a == b", "(not (== a b))"}, ExprCase{"a + b * c", "(+ a (* b c))"},
        ExprCase{"(a + b) * c", "(* (+ a b) c)"}, ExprCase{"a - b - c", "(- (- a b) c)"},
        ExprCase{"a - (b - c)", "(- a (- b c))"}, ExprCase{"a / b * c", "(* (/ a b) c)"},
        ExprCase{"-a * b", "(* (- a) b)"}, ExprCase{"- -a", "(- (- a))"},
        ExprCase{"-(a + b)", "(- (+ a b))"}, ExprCase{"a == b", "(== a b)"},
        ExprCase{"a != b", "(!= a b)"}, ExprCase{"a < b", "(< a b)"},
        ExprCase{"a <= b", "(<= a b)"}, ExprCase{"a > b", "(> a b)"},
        ExprCase{"a >= b + 1", "(>= a (+ b #1))"}, ExprCase{"a in [1, 2]", "(in a (list #1 #2))"},
        ExprCase{"a not in [1]", "(not-in a (list #1))"}, ExprCase{"a is empty", "(is-empty a)"},
        ExprCase{"a is not empty", "(is-not-empty a)"},
        ExprCase{"a.b is not empty and c", "(and (is-not-empty (. a b)) c)"},
        ExprCase{"date + 30d > today()", "(> (+ date dur:2592000) (call today))"},
        ExprCase{"order + tomorrow", "(+ order tomorrow)"},
        ExprCase{"notes or ordered", "(or notes ordered)"},
        ExprCase{"status == \"x\" # comment\n", "(== status 'x')"},
        ExprCase{"f(\n  a,\n  b,\n)", "(call f a b)"}));

TEST(Parser, ExpressionRangesCoverTheWholeExpression) {
    const std::string text = "  (a + b) * len(\"x\")  ";
    const ExprPtr e = expr_of(text);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->range.begin, 2u);
    EXPECT_EQ(e->range.end, text.size() - 2);
    EXPECT_EQ(e->args[0]->range.begin, 2u); // the parenthesised operand includes its parentheses
    EXPECT_EQ(e->args[0]->range.end, 9u);
    EXPECT_EQ(e->args[0]->args[1]->range.begin, 7u);
    EXPECT_EQ(text.substr(e->args[1]->range.begin, e->args[1]->range.end - e->args[1]->range.begin),
              "len(\"x\")");
}

TEST(Parser, LiteralsKeepTheirText) {
    const ExprPtr n = expr_of("12.50");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->text, "12.50");
    const ExprPtr d = expr_of("2w");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->text, "2w");
    const ExprPtr dt = expr_of("2026-03-11T09:30:00Z");
    ASSERT_TRUE(dt);
    EXPECT_EQ(dt->text, "2026-03-11T09:30:00Z");
}

struct BadExpr {
    const char* source;
    const char* message;
};

class BadExpression : public ::testing::TestWithParam<BadExpr> {};

TEST_P(BadExpression, IsASyntaxError) {
    std::string error;
    EXPECT_FALSE(expr_of(GetParam().source, &error)) << GetParam().source;
    EXPECT_EQ(error, GetParam().message) << GetParam().source;
}

INSTANTIATE_TEST_SUITE_P(
    Parser, BadExpression,
    ::testing::Values(
        BadExpr{"2026-02-30", "invalid date"}, BadExpr{"2025-02-29", "invalid date"},
        BadExpr{"2026-13-01", "invalid date"},
        BadExpr{"2026-01-01T24:00:00Z", "invalid time of day"},
        BadExpr{"", "expected an expression"},
        BadExpr{"a +", "expected an expression after the operator"},
        BadExpr{"a and", "expected an expression after 'and'"},
        BadExpr{"a or", "expected an expression after 'or'"}, BadExpr{"(a", "expected ')'"},
        BadExpr{"[1, 2", "expected ',' or ']' in the list"},
        BadExpr{"f(1", "expected ',' or ')' in the argument list"},
        BadExpr{"a.", "expected a field name after '.'"},
        BadExpr{"a is", "expected 'empty' or 'not empty' after 'is'"},
        BadExpr{"a in", "expected a list after 'in'"},
        BadExpr{"a ==", "expected an expression after the comparison operator"},
        BadExpr{"a b", "expected an operator or the end of the expression"},
        BadExpr{"\"abc", "unterminated string (expected '\"' before the end of the line)"},
        BadExpr{"\"a\\qb\"",
                "unknown escape sequence (expected \\\", \\\\, \\n, \\t, \\r, \\{ or \\})"},
        BadExpr{"99999999999999999999d", "duration is too large"}));

TEST(Parser, DeepNestingIsCappedWithoutCrashing) {
    for (const std::string& text : {std::string(100000, '(') + "a" + std::string(100000, ')'),
                                    std::string(100000, '['), std::string(50000, '-') + "a"}) {
        std::string error;
        EXPECT_FALSE(expr_of(text, &error));
        EXPECT_EQ(error, "expression is nested too deeply (more than 256 levels)");
    }
    std::string chain = "a";
    for (int i = 0; i < 100000; ++i) {
        chain += " + a";
    }
    std::string error;
    EXPECT_FALSE(expr_of(chain, &error));
    EXPECT_EQ(error, "expression is nested too deeply (more than 256 levels)");
    // Just inside the limit is fine.
    EXPECT_TRUE(expr_of(std::string(200, '(') + "a" + std::string(200, ')')));
    auto nots = std::string();
    for (int i = 0; i < 200; ++i) {
        nots += "not ";
    }
    EXPECT_TRUE(expr_of(nots + "a"));
}

// ---------------------------------------------------------------------------------------------
// Declarations
// ---------------------------------------------------------------------------------------------

TEST(Parser, SpecExample) {
    const auto p = parse(samples::spec_example);
    ASSERT_TRUE(p->ok) << errors_of(*p);
    const Ast& a = p->ast;

    ASSERT_EQ(a.roles.size(), 4u);
    EXPECT_EQ(a.roles[3].name.text, "Counsel");

    ASSERT_EQ(a.users.size(), 3u);
    EXPECT_EQ(a.users[0].id.text, "jeanne");
    EXPECT_EQ(a.users[0].display_name->value, "Jeanne Durand");
    EXPECT_EQ(a.users[0].email->value, "jeanne@acme.test");
    EXPECT_FALSE(a.users[1].email);
    ASSERT_EQ(a.users[1].roles.size(), 2u);
    EXPECT_EQ(a.users[2].display_name->value, "Léa Moreau");

    ASSERT_EQ(a.modules.size(), 3u);
    const Module& accounts = a.modules[0];
    EXPECT_EQ(accounts.name.text, "Accounts");
    EXPECT_TRUE(accounts.fields[0].required);
    EXPECT_TRUE(accounts.fields[0].unique);
    EXPECT_EQ(p->slice(accounts.range).substr(0, 15), "module Accounts");
    EXPECT_EQ(p->slice(accounts.range).back(), '}');
    EXPECT_EQ(p->slice(accounts.fields[0].range), "field name: text required unique");

    const Module& deals = a.modules[1];
    EXPECT_EQ(deals.label->value, "Transactions");
    ASSERT_EQ(deals.fields.size(), 8u);
    EXPECT_EQ(deals.fields[1].type.kind, FieldKind::Lookup);
    EXPECT_EQ(deals.fields[1].type.target.text, "Accounts");
    EXPECT_EQ(deals.fields[2].type.kind, FieldKind::Currency);
    EXPECT_EQ(deals.fields[3].type.kind, FieldKind::Percent);
    EXPECT_EQ(deals.fields[4].type.kind, FieldKind::Date);
    const Field& stage = deals.fields[5];
    EXPECT_EQ(stage.type.kind, FieldKind::Picklist);
    ASSERT_EQ(stage.type.values.size(), 6u);
    EXPECT_EQ(stage.type.values[2].value, "Discount approval");
    EXPECT_EQ(p->slice(stage.type.values[2].range), "\"Discount approval\"");
    ASSERT_TRUE(stage.default_value);
    EXPECT_EQ(stage.default_value->kind, ExprKind::String);
    EXPECT_EQ(stage.default_value->text, "Qualification");
    EXPECT_EQ(deals.fields[7].default_value->text, "10");
    EXPECT_TRUE(deals.teamspace.empty());

    ASSERT_EQ(a.teamspaces.size(), 1u);
    const Teamspace& mkt = a.teamspaces[0];
    EXPECT_EQ(mkt.label->value, "Marketing");
    ASSERT_EQ(mkt.members.size(), 2u);
    EXPECT_EQ(mkt.admins[0].text, "marie");
    EXPECT_EQ(mkt.shown_modules[0].text, "Deals");
    ASSERT_EQ(mkt.team_modules.size(), 1u);
    const Module& materials = a.modules[mkt.team_modules[0]];
    EXPECT_EQ(materials.name.text, "SalesMaterials");
    EXPECT_EQ(materials.teamspace, "Marketing");
    EXPECT_EQ(materials.fields[1].name.text, "kind");
    EXPECT_EQ(materials.fields[4].name.text, "status");
    ASSERT_TRUE(materials.accepts);
    ASSERT_EQ(materials.accepts->teams.size(), 2u);
    EXPECT_EQ(materials.accepts->teams[1].text, "Legal");
    ASSERT_EQ(materials.accepts->fields.size(), 4u);
    ASSERT_TRUE(materials.route);
    const auto& rules = materials.route->rules;
    ASSERT_EQ(rules.size(), 3u);
    EXPECT_EQ(rules[0].assign.kind, AssignKind::User);
    EXPECT_EQ(rules[0].assign.names[0].text, "pierre");
    EXPECT_EQ(sexpr(*rules[0].when), "(== kind 'Deck')");
    EXPECT_EQ(rules[1].assign.kind, AssignKind::Role);
    EXPECT_EQ(sexpr(*rules[1].when), "(>= (. deal amount) #100000)");
    EXPECT_FALSE(rules[2].when);
    EXPECT_EQ(rules[2].assign.kind, AssignKind::RoundRobinMembers);
    EXPECT_EQ(p->slice(rules[2].range), "otherwise assign round robin members");
    EXPECT_EQ(p->slice(rules[2].assign.range), "assign round robin members");

    ASSERT_EQ(a.blueprints.size(), 1u);
    const Blueprint& bp = a.blueprints[0];
    EXPECT_EQ(bp.name.text, "DealPipeline");
    EXPECT_EQ(bp.module.text, "Deals");
    EXPECT_EQ(bp.field.text, "stage");
    EXPECT_EQ(sexpr(*bp.when), "(> amount #0)");
    ASSERT_EQ(bp.transitions.size(), 5u);

    const Transition& qualify = bp.transitions[0];
    EXPECT_EQ(qualify.name.text, "Qualify");
    EXPECT_FALSE(qualify.name.quoted);
    ASSERT_EQ(qualify.from.states.size(), 1u);
    EXPECT_EQ(qualify.from.states[0].text, "Qualification");
    EXPECT_TRUE(qualify.from.states[0].quoted);
    EXPECT_EQ(p->slice(qualify.from.states[0].range), "\"Qualification\"");
    ASSERT_EQ(qualify.targets.size(), 1u);
    EXPECT_EQ(qualify.targets[0].state.text, "Negotiation");
    EXPECT_FALSE(qualify.targets[0].when);
    ASSERT_EQ(qualify.owners.size(), 2u);
    EXPECT_EQ(qualify.owners[0].kind, OwnerKind::Owner);
    EXPECT_EQ(qualify.owners[1].kind, OwnerKind::Role);
    EXPECT_EQ(qualify.owners[1].name.text, "SalesManager");
    EXPECT_EQ(p->slice(qualify.owners[1].range), "role SalesManager");
    ASSERT_EQ(qualify.when.size(), 1u);
    EXPECT_EQ(sexpr(*qualify.when[0]), "(is-not-empty close_date)");
    EXPECT_EQ(p->slice(qualify.when[0]->range), "close_date is not empty");
    ASSERT_EQ(qualify.require.size(), 2u);
    ASSERT_EQ(qualify.validations.size(), 1u);
    const Validation& v = qualify.validations[0];
    EXPECT_EQ(sexpr(*v.condition), "(>= close_date (call today))");
    ASSERT_EQ(v.message.parts.size(), 3u);
    EXPECT_EQ(v.message.parts[0].text, "The close date ");
    ASSERT_TRUE(v.message.parts[1].expr);
    EXPECT_EQ(sexpr(*v.message.parts[1].expr), "close_date");
    EXPECT_EQ(p->slice(v.message.parts[1].expr->range), "close_date");
    EXPECT_EQ(v.message.parts[2].text, " is in the past");
    EXPECT_EQ(p->slice(v.message.range), "\"The close date {close_date} is in the past\"");
    ASSERT_EQ(qualify.actions.size(), 1u);
    EXPECT_EQ(qualify.actions[0].kind, ActionKind::Set);
    EXPECT_EQ(qualify.actions[0].field.text, "probability");
    EXPECT_EQ(qualify.actions[0].value->text, "40");

    const Transition& ask = bp.transitions[1];
    EXPECT_EQ(ask.name.text, "Ask discount");
    EXPECT_TRUE(ask.name.quoted);
    EXPECT_EQ(p->slice(ask.name.range), "\"Ask discount\"");
    ASSERT_EQ(ask.targets.size(), 2u);
    EXPECT_EQ(ask.targets[0].state.text, "Discount approval");
    EXPECT_EQ(sexpr(*ask.targets[0].when), "(> discount #10)");
    EXPECT_TRUE(ask.targets[1].otherwise);
    EXPECT_EQ(p->slice(ask.targets[1].range), "to \"Legal review\" otherwise");

    const Transition& win = bp.transitions[2];
    EXPECT_TRUE(win.note_required);
    ASSERT_EQ(win.actions.size(), 3u);
    const Action& req = win.actions[0];
    EXPECT_EQ(req.kind, ActionKind::Request);
    EXPECT_EQ(req.team.text, "Marketing");
    EXPECT_EQ(req.module.text, "SalesMaterials");
    ASSERT_EQ(req.assignments.size(), 4u);
    EXPECT_EQ(req.assignments[0].field.text, "title");
    EXPECT_EQ(sexpr(*req.assignments[0].value), "(+ 'Case study: ' name)");
    EXPECT_EQ(sexpr(*req.assignments[3].value), "(+ (call today) dur:2592000)");
    EXPECT_EQ(win.actions[1].kind, ActionKind::Webhook);
    EXPECT_EQ(win.actions[1].url.value, "http://127.0.0.1:9000/hooks/won");
    EXPECT_EQ(win.actions[2].kind, ActionKind::Notify);
    EXPECT_EQ(win.actions[2].recipient.kind, OwnerKind::Owner);
    EXPECT_EQ(p->slice(win.actions[2].range), "then notify owner \"Deal {name} won\"");

    const Transition& lose = bp.transitions[3];
    EXPECT_TRUE(lose.from.any);
    EXPECT_TRUE(lose.from.states.empty());

    const Transition& expire = bp.transitions[4];
    ASSERT_TRUE(expire.after);
    EXPECT_EQ(expire.after->seconds, 30 * 86400);
    EXPECT_EQ(p->slice(expire.after->range), "30d");
    EXPECT_EQ(expire.when[0]->kind, ExprKind::IsEmpty);
    EXPECT_FALSE(expire.when[0]->negated);

    ASSERT_EQ(bp.parallels.size(), 1u);
    const Parallel& par = bp.parallels[0];
    EXPECT_EQ(par.name.text, "Approve");
    EXPECT_EQ(par.from.states[0].text, "Discount approval");
    EXPECT_EQ(par.to.text, "Legal review");
    ASSERT_EQ(par.transitions.size(), 2u);
    EXPECT_TRUE(par.transitions[0].from.states.empty());
    EXPECT_TRUE(par.transitions[0].targets.empty());
    EXPECT_EQ(par.transitions[1].owners[0].kind, OwnerKind::User);
    EXPECT_EQ(par.transitions[1].owners[0].name.text, "lea");
    ASSERT_EQ(par.transitions[1].checklist.size(), 2u);
    EXPECT_EQ(par.transitions[1].checklist[1].value, "Liability capped");

    ASSERT_EQ(bp.slas.size(), 1u);
    EXPECT_EQ(bp.slas[0].state.text, "Legal review");
    EXPECT_EQ(bp.slas[0].within.seconds, 5 * 86400);
    EXPECT_EQ(bp.slas[0].actions[0].recipient.kind, OwnerKind::Role);
    ASSERT_EQ(bp.slas[0].actions[0].message.parts.size(), 3u);

    ASSERT_EQ(a.tests.size(), 1u);
    const dsl::Test& t = a.tests[0];
    EXPECT_EQ(t.name.value, "a big discount needs approval");
    ASSERT_EQ(t.steps.size(), 14u);
    EXPECT_EQ(t.steps[0].kind, StepKind::As);
    EXPECT_EQ(t.steps[1].kind, StepKind::Create);
    EXPECT_EQ(t.steps[1].module.text, "Accounts");
    EXPECT_EQ(t.steps[1].as->text, "acme");
    EXPECT_EQ(t.steps[2].assignments[3].value->kind, ExprKind::Date);
    EXPECT_EQ(t.steps[3].kind, StepKind::Transition);
    EXPECT_EQ(t.steps[4].transition.text, "Ask discount");
    EXPECT_TRUE(t.steps[4].has_with);
    EXPECT_EQ(t.steps[5].kind, StepKind::Expect);
    EXPECT_EQ(t.steps[6].kind, StepKind::ExpectRefused);
    EXPECT_EQ(t.steps[6].transition.text, "Win");
    EXPECT_EQ(t.steps[10].checklist.size(), 2u);
    EXPECT_EQ(t.steps[12].kind, StepKind::Advance);
    EXPECT_EQ(t.steps[12].duration.seconds, 6 * 86400);
    EXPECT_EQ(t.steps[13].kind, StepKind::ExpectNotified);
    EXPECT_EQ(t.steps[13].user.text, "paul");
    EXPECT_EQ(t.steps[13].text->value, "late");
    EXPECT_EQ(p->slice(t.steps[13].range), "expect notified paul \"late\"");
}

TEST(Parser, EveryConstruct) {
    const auto p = parse(samples::every_construct);
    ASSERT_TRUE(p->ok) << errors_of(*p);
    const Ast& a = p->ast;
    ASSERT_EQ(a.roles.size(), 4u);
    EXPECT_EQ(a.roles[1].name.text, "Team lead");
    EXPECT_EQ(a.users[0].display_name->value, "Ann \"A\" O'Neil");
    EXPECT_EQ(a.users[2].id.text, "carl.d");

    const Module& tickets = a.modules[0];
    EXPECT_EQ(tickets.label->value, "Tickets {braces}");
    EXPECT_EQ(tickets.fields[0].label->value, "Title");
    EXPECT_EQ(sexpr(*tickets.fields[1].default_value), "(- #1)");
    const std::vector<FieldKind> kinds{
        FieldKind::Text,    FieldKind::Number, FieldKind::Currency, FieldKind::Percent,
        FieldKind::Boolean, FieldKind::Date,   FieldKind::DateTime, FieldKind::Email,
        FieldKind::Phone,   FieldKind::Url,    FieldKind::Picklist, FieldKind::Lookup,
        FieldKind::User};
    for (std::size_t i = 0; i < kinds.size(); ++i) {
        EXPECT_EQ(tickets.fields[i].type.kind, kinds[i]) << i;
    }
    EXPECT_EQ(tickets.fields[10].type.values.size(), 2u);
    EXPECT_EQ(tickets.fields[15].name.text, "order");

    const Teamspace& support = a.teamspaces[0];
    ASSERT_EQ(support.team_modules.size(), 2u);
    const Module& requests = a.modules[support.team_modules[0]];
    const auto& rules = requests.route->rules;
    ASSERT_EQ(rules.size(), 5u);
    EXPECT_EQ(rules[0].assign.kind, AssignKind::Role);
    EXPECT_EQ(rules[1].assign.kind, AssignKind::RoundRobinUsers);
    ASSERT_EQ(rules[1].assign.names.size(), 2u);
    EXPECT_EQ(rules[1].assign.names[1].text, "bob");
    EXPECT_EQ(rules[2].assign.kind, AssignKind::LeastLoadedMembers);
    EXPECT_EQ(rules[3].assign.kind, AssignKind::User);
    EXPECT_EQ(rules[4].assign.kind, AssignKind::RoundRobinMembers);
    const Module& plain = a.modules[support.team_modules[1]];
    ASSERT_TRUE(plain.accepts);
    EXPECT_TRUE(plain.accepts->fields.empty());

    const Blueprint& bp = a.blueprints[0];
    EXPECT_EQ(sexpr(*bp.when), "(and (not done) (>= count #0))");
    const Transition& start = bp.transitions[0];
    EXPECT_EQ(start.after->seconds, 9 * 86400);
    ASSERT_EQ(start.owners.size(), 6u);
    EXPECT_EQ(start.owners[1].kind, OwnerKind::Assignee);
    EXPECT_EQ(start.owners[2].kind, OwnerKind::Requester);
    EXPECT_EQ(start.owners[5].kind, OwnerKind::Team);
    EXPECT_EQ(start.owners[5].name.text, "Support");
    EXPECT_EQ(start.when.size(), 2u);
    EXPECT_EQ(sexpr(*start.when[1]),
              "(or (not-in kind (list 'a' 'b')) (< (- count) (- (/ (* (- (+ #1 #2)) #3) #4) #5)))");
    const Message& m = start.validations[0].message;
    ASSERT_EQ(m.parts.size(), 4u);
    EXPECT_EQ(m.parts[2].text, " is before today {not a field} ");
    EXPECT_EQ(sexpr(*m.parts[3].expr), "(+ (call lower title) '!')");
    ASSERT_EQ(start.actions.size(), 12u);
    EXPECT_EQ(start.actions[3].recipient.kind, OwnerKind::User);
    EXPECT_EQ(start.actions[5].recipient.kind, OwnerKind::Team);
    EXPECT_EQ(start.actions[9].kind, ActionKind::Create);
    EXPECT_EQ(start.actions[9].as->text, "t2");
    EXPECT_EQ(start.actions[9].assignments.size(), 2u);
    EXPECT_FALSE(start.actions[10].as);
    EXPECT_EQ(start.actions[10].assignments.size(), 2u);
    EXPECT_EQ(start.actions[11].kind, ActionKind::Request);
    EXPECT_EQ(bp.transitions[1].owners[0].kind, OwnerKind::Anyone);
    EXPECT_EQ(bp.transitions[2].from.states.size(), 2u);
    EXPECT_EQ(bp.transitions[2].targets.size(), 3u);
    EXPECT_EQ(bp.parallels[0].actions.size(), 1u);
    EXPECT_EQ(bp.slas[0].when.size(), 1u);
    EXPECT_EQ(bp.slas[1].within.seconds, 1800);
    ASSERT_EQ(bp.migrations.size(), 2u);
    EXPECT_EQ(bp.migrations[1].from.text, "Gone");
    EXPECT_EQ(bp.migrations[1].to.text, "Closed");

    const dsl::Test& t = a.tests[0];
    ASSERT_EQ(t.steps.size(), 21u);
    EXPECT_EQ(t.steps[0].kind, StepKind::Clock);
    EXPECT_EQ(t.steps[0].expr->kind, ExprKind::DateTime);
    EXPECT_EQ(t.steps[3].kind, StepKind::Request);
    EXPECT_EQ(t.steps[3].team.text, "Support");
    EXPECT_EQ(t.steps[3].as->text, "r");
    EXPECT_EQ(t.steps[4].kind, StepKind::Update);
    EXPECT_EQ(t.steps[4].on->text, "t");
    EXPECT_FALSE(t.steps[5].on);
    const Step& tr = t.steps[6];
    EXPECT_EQ(tr.on->text, "t");
    EXPECT_TRUE(tr.has_with);
    EXPECT_EQ(tr.checklist.size(), 2u);
    EXPECT_EQ(tr.note->value, "done");
    EXPECT_EQ(t.steps[9].kind, StepKind::Expect);
    EXPECT_EQ(sexpr(*t.steps[9].expr), "(== (. t title) 'T')");
    EXPECT_EQ(t.steps[10].kind, StepKind::Expect); // `state` as a field name
    const Step& refused = t.steps[11];
    EXPECT_EQ(refused.kind, StepKind::ExpectRefused);
    EXPECT_EQ(refused.note->value, "n");
    EXPECT_EQ(refused.text->value, "refused text");
    EXPECT_EQ(t.steps[14].kind, StepKind::ExpectNotified);
    EXPECT_FALSE(t.steps[14].text);
    EXPECT_EQ(t.steps[15].kind, StepKind::ExpectAssigned);
    EXPECT_EQ(t.steps[16].kind, StepKind::ExpectWebhook);
    EXPECT_EQ(t.steps[17].kind, StepKind::ExpectState);
    EXPECT_EQ(t.steps[17].text->value, "Waiting");
    EXPECT_EQ(t.steps[19].duration.seconds, 7 * 86400);
    EXPECT_EQ(a.tests[1].name.value, "unquoted_name");
}

TEST(Parser, KeywordsAreReservedOnlyWhereAKeywordMayStand) {
    const auto p = parse(R"(
module M {
  field status: text
  field kind: text
  field label: text
  field field: text
  field required: boolean required
  field default: number default 1
  field to: text
}
blueprint B on M.kind {
  transition to from "a" to "b" { when required and default > 0 and to == "x" }
}
test "t" { expect notified == 1 expect state == "b" }
)");
    ASSERT_TRUE(p->ok) << errors_of(*p);
    const Module& m = p->ast.modules[0];
    ASSERT_EQ(m.fields.size(), 7u);
    EXPECT_EQ(m.fields[2].name.text, "label");
    EXPECT_TRUE(m.fields[4].required);
    EXPECT_EQ(m.fields[5].default_value->text, "1");
    EXPECT_EQ(p->ast.blueprints[0].transitions[0].name.text, "to");
    EXPECT_EQ(p->ast.tests[0].steps[0].kind, StepKind::Expect);
    EXPECT_EQ(p->ast.tests[0].steps[1].kind, StepKind::Expect);
}

TEST(Parser, ALabelOnItsOwnLineBelongsToTheModule) {
    const auto p = parse(R"(
module M {
  field a: text required label "A"
  label "The module"
  field b: text label "B"
  field c: number
    required
    default 1
}
)");
    ASSERT_TRUE(p->ok) << errors_of(*p);
    const Module& m = p->ast.modules[0];
    ASSERT_TRUE(m.label.has_value());
    EXPECT_EQ(m.label->value, "The module");
    ASSERT_EQ(m.fields.size(), 3u);
    ASSERT_TRUE(m.fields[0].label.has_value());
    EXPECT_EQ(m.fields[0].label->value, "A");
    EXPECT_TRUE(m.fields[0].required);
    ASSERT_TRUE(m.fields[1].label.has_value());
    EXPECT_EQ(m.fields[1].label->value, "B");
    EXPECT_FALSE(m.fields[2].label.has_value());
    EXPECT_TRUE(m.fields[2].required);
    ASSERT_TRUE(m.fields[2].default_value != nullptr);
}

TEST(Parser, ATrailingCommaDoesNotSwallowTheNextClause) {
    const auto p = parse(R"(
role A, B,
user u { roles A, B,
  name "U" }
user v { roles A, }
teamspace T {
  members u, v,
  admins u,
  modules M,
  label "T"
}
module M { field a: text }
)");
    ASSERT_TRUE(p->ok) << errors_of(*p);
    ASSERT_EQ(p->ast.users.size(), 2u);
    EXPECT_EQ(p->ast.users[0].roles.size(), 2u);
    ASSERT_TRUE(p->ast.users[0].display_name.has_value());
    EXPECT_EQ(p->ast.users[0].display_name->value, "U");
    EXPECT_EQ(p->ast.users[1].roles.size(), 1u);
    ASSERT_EQ(p->ast.teamspaces.size(), 1u);
    const Teamspace& t = p->ast.teamspaces[0];
    ASSERT_EQ(t.members.size(), 2u);
    EXPECT_EQ(t.members[1].text, "v");
    ASSERT_EQ(t.admins.size(), 1u);
    ASSERT_EQ(t.shown_modules.size(), 1u);
    ASSERT_TRUE(t.label.has_value());
    EXPECT_EQ(t.label->value, "T");
}

TEST(Parser, DeclarationRangesCoverTheirText) {
    const std::string text = "role A\n\nuser u { roles A }\ntest \"x\" {\n  as u\n}\n";
    const auto p = parse(text);
    ASSERT_TRUE(p->ok) << errors_of(*p);
    EXPECT_EQ(p->slice(p->ast.roles[0].name.range), "A");
    EXPECT_EQ(p->slice(p->ast.users[0].range), "user u { roles A }");
    EXPECT_EQ(p->slice(p->ast.tests[0].range), "test \"x\" {\n  as u\n}");
    EXPECT_EQ(p->slice(p->ast.tests[0].name.range), "\"x\"");
    EXPECT_EQ(p->slice(p->ast.tests[0].steps[0].range), "as u");
}

TEST(Parser, ByteOrderMarkAndCrlfAreFine) {
    const auto p = parse("\xEF\xBB\xBFrole A\r\nuser u {\r\n roles A\r\n}\r\n");
    ASSERT_TRUE(p->ok) << errors_of(*p);
    EXPECT_EQ(p->ast.users[0].roles[0].text, "A");
}

// ---------------------------------------------------------------------------------------------
// Syntax errors
// ---------------------------------------------------------------------------------------------

struct ErrorCase {
    const char* source;
    const char* expected; ///< "line:col: message\n"
};

class SyntaxError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(SyntaxError, SaysWhatWasExpectedWhere) {
    const auto p = parse(GetParam().source);
    EXPECT_FALSE(p->ok);
    EXPECT_EQ(errors_of(*p), GetParam().expected) << GetParam().source;
    for (const Diagnostic& d : p->sink.diagnostics()) {
        EXPECT_EQ(d.code, "syntax-error");
    }
}

INSTANTIATE_TEST_SUITE_P(
    Parser, SyntaxError,
    ::testing::Values(
        ErrorCase{"frobnicate", "1:1: expected a declaration (role, user, module, teamspace, "
                                "blueprint, test)\n"},
        ErrorCase{"role", "1:5: expected a role name after 'role' or ','\n"},
        ErrorCase{"role A,\n42", "2:1: expected a role name after 'role' or ','\n"},
        ErrorCase{"user u { nme \"x\" }",
                  "1:10: expected 'name', 'email', 'roles' or '}' in the user\n"},
        ErrorCase{"user u { name x }", "1:15: expected the user's name as a string after 'name'\n"},
        ErrorCase{"module M", "1:9: expected '{' after the module name\n"},
        ErrorCase{"module M {\n  field a: txt\n}",
                  "2:12: expected a field type (text, number, currency, percent, boolean, date, "
                  "datetime, email, phone, url, picklist, lookup, user)\n"},
        ErrorCase{"module M {\n  field a text\n}", "2:11: expected ':' after the field name\n"},
        ErrorCase{"module M {\n  field: text\n}", "2:8: expected a field name after 'field'\n"},
        ErrorCase{"module M {\n  feld a: text\n}",
                  "2:3: expected 'label', 'field', 'accepts', 'route' or '}' in the module\n"},
        ErrorCase{"module M { field s: picklist \"a\" }",
                  "1:30: expected '[' and the picklist values after 'picklist'\n"},
        ErrorCase{"module M { field s: picklist [\"a\" \"b\"] }",
                  "1:35: expected a string value, ',' or ']' in the picklist values\n"},
        ErrorCase{"module M { field s: lookup }", "1:28: expected a module name after 'lookup'\n"},
        ErrorCase{"module M { field s: number default }",
                  "1:36: expected an expression after 'default'\n"},
        ErrorCase{"module M { field d: date default 2026-02-30 }", "1:34: invalid date\n"},
        ErrorCase{"module M { accepts from A }", "1:20: expected 'requests' after 'accepts'\n"},
        ErrorCase{"module M { accepts requests A }",
                  "1:29: expected 'from' after 'accepts requests'\n"},
        ErrorCase{"module M { accepts requests from A { field x } }",
                  "1:38: expected 'fields' or '}' in the accepts block\n"},
        ErrorCase{"module M { route requests { when a pierre } }",
                  "1:36: expected 'assign' and an assignment target\n"},
        ErrorCase{"module M { route requests { otherwise assign round members } }",
                  "1:52: expected 'robin' after 'round'\n"},
        ErrorCase{"module M { route requests { otherwise assign least members } }",
                  "1:52: expected 'loaded' after 'least'\n"},
        ErrorCase{"module M { route requests { otherwise assign } }",
                  "1:46: expected an assignment target (a user, role <R>, round robin members, "
                  "round robin <users>, least loaded members)\n"},
        ErrorCase{"module M { route requests { otherwise assign x x } }",
                  "1:48: expected 'when <condition> assign …', 'otherwise assign …' or '}' in the "
                  "routing rules\n"},
        ErrorCase{"teamspace T { member x }",
                  "1:15: expected 'label', 'members', 'admins', 'modules', 'module' or '}' in the "
                  "teamspace\n"},
        ErrorCase{"blueprint B M.s {}",
                  "1:13: expected 'on' and the governed Module.field after the blueprint name\n"},
        ErrorCase{"blueprint B on M {}",
                  "1:18: expected '.' and the state field after the module name (Module.field)\n"},
        ErrorCase{"blueprint B on M.s { transition T to \"b\" {} }",
                  "1:35: expected 'from' and the source states after the name\n"},
        ErrorCase{"blueprint B on M.s { transition T from {} }",
                  "1:40: expected a state name or 'any' after 'from'\n"},
        ErrorCase{"blueprint B on M.s { transition T from a too b {} }",
                  "1:42: expected 'to', 'after' or '{' after the transition header\n"},
        ErrorCase{"blueprint B on M.s { transition T from a after soon {} }",
                  "1:48: expected a duration (e.g. 30d, 4h, 15m, 20s, 2w)\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { by nobody } }",
                  "1:47: expected a transition owner (owner, assignee, requester, anyone, user "
                  "<u>, role <R>, team <T>)\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { frob } }",
                  "1:44: expected a transition statement (by, when, require, validate, checklist, "
                  "note, to, then) or '}'\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { validate x \"m\" } }",
                  "1:55: expected 'else' and a message after the validation condition\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { validate x else m } }",
                  "1:60: expected a message string after 'else'\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { validate x else \"{}\" } }",
                  "1:62: expected an expression after '{' in the message (write \\{ for a "
                  "literal brace)\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { validate x else \"{a\" } }",
                  "1:63: expected '}' to close the interpolated expression\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { note } }",
                  "1:49: expected 'required' after 'note'\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { then frob } }",
                  "1:49: expected an action after 'then' (set, notify, webhook, request, "
                  "create)\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { then set x 1 } }",
                  "1:55: expected '=' after the field name\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { then notify anyone \"x\" } }",
                  "1:56: expected a recipient (owner, assignee, requester, user <u>, role <R>, "
                  "team <T>)\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { then notify owner x } }",
                  "1:62: expected a message string after the recipient\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { then request Mod { } } }",
                  "1:61: expected '.' and the module name after the teamspace name "
                  "(Team.Module)\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { then create Mod } }",
                  "1:60: expected '{' and the field values ('{ field = value, … }')\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { then create Mod { x } } }",
                  "1:64: expected '=' after the field name\n"},
        ErrorCase{"blueprint B on M.s { transition T from a { then create Mod { x = } } }",
                  "1:66: expected an expression after '='\n"},
        ErrorCase{"blueprint B on M.s { parallel P from a { } }",
                  "1:40: expected 'to' and the target state after the source states\n"},
        ErrorCase{"blueprint B on M.s { parallel P from a to b { transition X from a { } } }",
                  "1:60: expected '{' after the sub-transition name (a parallel's "
                  "sub-transitions take no 'from' or 'to')\n"},
        ErrorCase{"blueprint B on M.s { sla a in 5d { } }",
                  "1:28: expected 'within' and a duration after the state\n"},
        ErrorCase{"blueprint B on M.s { sla a within 5d { frob } }",
                  "1:40: expected 'when', 'then' or '}' in the sla\n"},
        ErrorCase{"blueprint B on M.s { migrate a b }",
                  "1:32: expected 'to' and the new state after the old state\n"},
        ErrorCase{"blueprint B on M.s { frob }",
                  "1:22: expected 'transition', 'parallel', 'sla', 'migrate' or '}' in the "
                  "blueprint\n"},
        ErrorCase{"test { }", "1:6: expected the test name (a string) after 'test'\n"},
        ErrorCase{"test \"t\" { frob }",
                  "1:12: expected a test statement (as, create, request, update, transition, "
                  "expect, advance, clock) or '}'\n"},
        ErrorCase{"test \"t\" { expect }",
                  "1:19: expected an expression, or refused, notified, assigned, webhook or "
                  "state, after 'expect'\n"},
        ErrorCase{"test \"t\" { advance soon }",
                  "1:20: expected a duration (e.g. 30d, 4h, 15m, 20s, 2w)\n"},
        ErrorCase{"test \"t\" { clock 2026-01-01 }",
                  "1:18: expected a date-time (e.g. 2026-01-05T09:00:00Z) after 'clock'\n"},
        ErrorCase{"test \"t\" { transition T note }",
                  "1:30: expected the note text (a string) after 'note'\n"},
        ErrorCase{"test \"t\" { transition T on { } }", "1:28: expected a record name\n"},
        ErrorCase{"test \"t\" { as }", "1:15: expected a user id\n"},
        ErrorCase{"user u { name \"L\xC3\xA9"
                  "a }",
                  "1:21: unterminated string (expected '\"' "
                  "before the end of the line)\n"}));

TEST(Parser, RecoversAtTheNextDeclaration) {
    const auto p = parse(R"(role A
module Broken {
  field a: txt
  field b: text
}
module Fine { field x: text }
teamspace T {
  members u;
  module Inner {       # indented keyword inside the broken teamspace: skipped
    field q: text
  }
}
blueprint B on Fine.x {
  transition Go from "a" to "b" {
    by nobody
  }
user u { roles A }
test "t" { as u
  expect x ==
}
role Z
)");
    EXPECT_FALSE(p->ok);
    EXPECT_EQ(errors_of(*p),
              "3:12: expected a field type (text, number, currency, percent, boolean, date, "
              "datetime, email, phone, url, picklist, lookup, user)\n"
              "8:12: expected 'label', 'members', 'admins', 'modules', 'module' or '}' in the "
              "teamspace\n"
              "15:8: expected a transition owner (owner, assignee, requester, anyone, user <u>, "
              "role <R>, team <T>)\n"
              "20:1: expected an expression after the comparison operator\n");
    const Ast& a = p->ast;
    ASSERT_EQ(a.roles.size(), 2u);
    ASSERT_EQ(a.modules.size(), 1u);
    EXPECT_EQ(a.modules[0].name.text, "Fine");
    ASSERT_EQ(a.users.size(), 1u);
    EXPECT_TRUE(a.teamspaces.empty());
    EXPECT_TRUE(a.blueprints.empty());
    EXPECT_TRUE(a.tests.empty());
    EXPECT_EQ(a.partial_declarations, (std::vector<std::string>{"Broken", "T", "B", "Go", "t"}));
}

TEST(Parser, InvalidLiteralDropsOnlyItsDeclaration) {
    const auto p = parse("module M { field d: date default 2026-02-30 }\nmodule N { }\n");
    EXPECT_FALSE(p->ok);
    EXPECT_EQ(errors_of(*p), "1:34: invalid date\n");
    ASSERT_EQ(p->ast.modules.size(), 1u);
    EXPECT_EQ(p->ast.modules[0].name.text, "N");
    EXPECT_EQ(p->ast.partial_declarations, std::vector<std::string>{"M"});
    EXPECT_EQ(p->slice(p->sink.diagnostics()[0].range), "2026-02-30");
}

TEST(Parser, ErrorRangeIsTheOffendingToken) {
    const auto p = parse("module M {\n  field a: txt\n}");
    ASSERT_EQ(p->sink.diagnostics().size(), 1u);
    EXPECT_EQ(p->slice(p->sink.diagnostics()[0].range), "txt");
    const auto q = parse("module M {\n  field a: text\n");
    ASSERT_EQ(q->sink.diagnostics().size(), 1u);
    const SourceRange r = q->sink.diagnostics()[0].range;
    EXPECT_EQ(r.begin, q->text().size());
    EXPECT_EQ(r.end, q->text().size());
}

TEST(Parser, GarbageNeverThrows) {
    const std::vector<std::string> inputs{
        std::string("\0\0\0", 3),
        "{{{{",
        "}}}}",
        "\"",
        "test \"",
        "role\n\n\n",
        "#",
        "blueprint B on M.s { transition T from a { validate x else \"{",
        "\xff\xfe",
        "module M { field a: picklist [",
        "test \"t\" { expect refused",
        "user"};
    for (const std::string& in : inputs) {
        const auto p = parse(in);
        EXPECT_FALSE(p->ok && in != "#") << in;
    }
}

} // namespace
} // namespace teamflow::dsl
