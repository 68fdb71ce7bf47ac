// The expression machine: every operator and function, empty values, type edges, decimals.

#include "ast_builder.hpp"
#include "teamflow/engine/definitions.hpp"
#include "teamflow/engine/memory_store.hpp"
#include "../../engine/src/vm.hpp"

#include <gtest/gtest.h>

using namespace teamflow;
using namespace teamflow::testing;
using engine::Value;
using engine::ValueKind;
using dsl::Op;

namespace {

class Eval : public ::testing::Test {
protected:
    void SetUp() override {
        ast_ = acme_ast();
        auto d = engine::compile_definitions(*ast_, nullptr);
        ASSERT_TRUE(d.ok()) << d.error().to_string();
        defs_ = d.value();
        deals_ = defs_->find_module("Deals");
        record_.module = deals_;
        record_.id = 7;
        record_.owner = 0;
        record_.fields.resize(defs_->modules[deals_].fields.size());
    }
    void set(const std::string& f, Value v) {
        record_.fields[defs_->modules[deals_].find_field(f)].assign(v);
    }
    Value eval(const dsl::ExprPtr& e) {
        engine::Scope scope;
        scope.module = deals_;
        auto p = engine::compile_expression(*defs_, *e, scope);
        EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().to_string());
        progs_.push_back(std::move(p.value()));
        engine::EvalEnv env;
        env.defs = defs_.get();
        env.record = &record_;
        env.user = 1;
        env.now = 1767603600; // 2026-01-05T09:00:00Z
        env.reader = &store_;
        env.arena = &arena_;
        return engine::evaluate(progs_.back(), env);
    }
    std::string text(const dsl::ExprPtr& e) {
        return engine::format_value(eval(e), defs_->user_ids);
    }
    bool truth(const dsl::ExprPtr& e) { return engine::truthy(eval(e)); }

    std::unique_ptr<dsl::Ast> ast_;
    std::shared_ptr<const engine::Definitions> defs_;
    std::uint32_t deals_ = 0;
    engine::Record record_;
    engine::MemoryStore store_;
    engine::Arena arena_;
    std::vector<engine::Program> progs_;
};

TEST_F(Eval, Arithmetic) {
    EXPECT_EQ(text(bin(Op::Add, num("0.1"), num("0.2"))), "0.3");
    EXPECT_EQ(text(bin(Op::Sub, num("10"), num("12.5"))), "-2.5");
    EXPECT_EQ(text(bin(Op::Mul, num("19.99"), num("3"))), "59.97");
    EXPECT_EQ(text(bin(Op::Mul, num("50000"), num("0.15"))), "7500");
    EXPECT_EQ(text(bin(Op::Div, num("10"), num("4"))), "2.5");
    EXPECT_EQ(text(bin(Op::Div, num("1"), num("3"))), "0.333333");
    EXPECT_EQ(text(bin(Op::Div, num("2"), num("3"))), "0.666667");
    EXPECT_TRUE(eval(bin(Op::Div, num("1"), num("0"))).empty());
    EXPECT_EQ(text(unary(Op::Neg, num("4"))), "-4");
    // Precedence is the parser's; here the tree is explicit.
    EXPECT_EQ(text(bin(Op::Add, num("1"), bin(Op::Mul, num("2"), num("3")))), "7");
}

TEST_F(Eval, Overflow_IsEmpty) {
    EXPECT_TRUE(eval(bin(Op::Mul, num("9000000000000"), num("9000000000000"))).empty());
    EXPECT_TRUE(eval(bin(Op::Add, num("9000000000000"), num("9000000000000"))).empty());
}

TEST_F(Eval, Comparisons) {
    EXPECT_TRUE(truth(bin(Op::Lt, num("1.5"), num("2"))));
    EXPECT_TRUE(truth(bin(Op::Le, num("2"), num("2"))));
    EXPECT_FALSE(truth(bin(Op::Gt, num("2"), num("2"))));
    EXPECT_TRUE(truth(bin(Op::Ge, num("2"), num("2.0"))));
    EXPECT_TRUE(truth(bin(Op::Eq, num("2"), num("2.000"))));
    EXPECT_TRUE(truth(bin(Op::Ne, str("a"), str("b"))));
    EXPECT_TRUE(truth(bin(Op::Lt, str("abc"), str("abd"))));
    EXPECT_TRUE(truth(bin(Op::Lt, date("2026-01-01"), datetime("2026-01-01T00:00:01Z"))));
    EXPECT_TRUE(truth(bin(Op::Eq, date("2026-01-01"), datetime("2026-01-01T00:00:00Z"))));
    EXPECT_TRUE(truth(bin(Op::Lt, duration("4h"), duration("1d"))));
}

TEST_F(Eval, EmptyRules) {
    // discount is empty in the record
    EXPECT_FALSE(truth(bin(Op::Gt, name("discount"), num("10"))));
    EXPECT_FALSE(truth(bin(Op::Lt, name("discount"), num("10"))));
    EXPECT_FALSE(truth(bin(Op::Eq, name("discount"), num("0"))));
    EXPECT_TRUE(truth(bin(Op::Ne, name("discount"), num("0"))));
    EXPECT_TRUE(truth(bin(Op::Eq, name("discount"), empty())));
    EXPECT_TRUE(truth(is_empty(name("discount"))));
    EXPECT_FALSE(truth(is_empty(name("discount"), true)));
    EXPECT_TRUE(eval(bin(Op::Add, name("discount"), num("1"))).empty());
    EXPECT_TRUE(eval(bin(Op::Mul, name("discount"), num("1"))).empty());
    EXPECT_EQ(text(bin(Op::Add, str("x"), name("loss_reason"))), "x");
    EXPECT_EQ(text(call("len", args(name("loss_reason")))), "0");
    EXPECT_FALSE(truth(call("contains", args(name("loss_reason"), str("")))));
    EXPECT_FALSE(truth(call("starts_with", args(name("loss_reason"), str("")))));
    // An empty boolean is false; not of it is true.
    EXPECT_FALSE(truth(empty()));
    EXPECT_TRUE(truth(unary(Op::Not, empty())));
}

TEST_F(Eval, Logic_ShortCircuits) {
    EXPECT_TRUE(truth(bin(Op::Or, boolean(false), boolean(true))));
    EXPECT_FALSE(truth(bin(Op::And, boolean(true), boolean(false))));
    EXPECT_FALSE(truth(bin(Op::And, empty(), boolean(true))));
    EXPECT_TRUE(truth(bin(Op::Or, empty(), boolean(true))));
    EXPECT_TRUE(truth(bin(Op::Or, bin(Op::And, boolean(true), boolean(true)), boolean(false))));
    EXPECT_FALSE(truth(unary(Op::Not, boolean(true))));
}

TEST_F(Eval, TextAndFunctions) {
    set("name", Value::text("Léa's Big Deal"));
    EXPECT_EQ(text(call("lower", args(name("name")))), "léa's big deal");
    EXPECT_EQ(text(call("upper", args(name("name")))), "LÉA'S BIG DEAL");
    EXPECT_EQ(text(call("len", args(name("name")))), "14");
    EXPECT_TRUE(truth(call("contains", args(name("name"), str("Big")))));
    EXPECT_FALSE(truth(call("contains", args(name("name"), str("big")))));
    EXPECT_TRUE(truth(call("starts_with", args(name("name"), str("Léa")))));
    EXPECT_EQ(text(bin(Op::Add, str("n="), num("12.50"))), "n=12.5");
    EXPECT_EQ(text(bin(Op::Add, str("d="), date("2026-03-11"))), "d=2026-03-11");
    EXPECT_EQ(text(bin(Op::Add, name("owner"), str("!"))), "jeanne!");
    EXPECT_TRUE(truth(bin(Op::Eq, name("owner"), str("jeanne"))));
    EXPECT_TRUE(truth(bin(Op::Eq, name("current_user"), name("paul"))));
    EXPECT_TRUE(truth(in(str("b"), args(str("a"), str("b")))));
    EXPECT_FALSE(truth(in(str("c"), args(str("a"), str("b")))));
    EXPECT_TRUE(truth(in(str("c"), args(str("a"), str("b")), true)));
}

TEST_F(Eval, DatesAndDurations) {
    EXPECT_EQ(text(call("today")), "2026-01-05");
    EXPECT_EQ(text(call("now")), "2026-01-05T09:00:00Z");
    EXPECT_EQ(text(bin(Op::Add, call("today"), duration("30d"))), "2026-02-04");
    EXPECT_EQ(text(bin(Op::Sub, date("2026-03-01"), duration("1d"))), "2026-02-28");
    EXPECT_EQ(text(bin(Op::Add, call("now"), duration("4h"))), "2026-01-05T13:00:00Z");
    EXPECT_EQ(text(bin(Op::Add, duration("1d"), duration("12h"))), "36h");
    EXPECT_EQ(text(bin(Op::Mul, duration("1d"), num("2"))), "2d");
    EXPECT_EQ(text(unary(Op::Neg, duration("1d"))), "-1d");
    EXPECT_EQ(text(call("days_between", args(date("2026-01-01"), date("2026-03-01")))), "59");
    EXPECT_EQ(text(call("days_between", args(date("2026-03-01"), date("2026-01-01")))), "-59");
    EXPECT_EQ(text(call("days_between",
                        args(datetime("2026-01-01T10:00:00Z"), date("2026-01-03")))), "1");
    EXPECT_TRUE(eval(call("days_between", args(name("close_date"), call("today")))).empty());
}

TEST_F(Eval, BuiltinsAndLookups) {
    EXPECT_EQ(text(name("id")), "7");
    EXPECT_TRUE(eval(member(name("account"), "name")).empty());
}

TEST_F(Eval, EvaluatesWithoutAllocatingOnTheHotPath) {
    // Compiled programs are flat: one instruction per node, a small stack.
    engine::Scope scope;
    scope.module = deals_;
    auto e = bin(Op::And, bin(Op::Gt, name("amount"), num("0")), is_empty(name("discount")));
    auto p = engine::compile_expression(*defs_, *e, scope);
    ASSERT_TRUE(p.ok());
    EXPECT_LE(p->code.size(), 9u);
    EXPECT_LE(p->max_stack, 3);
    EXPECT_EQ(p->source, "amount > 0 and discount is empty");
}

} // namespace
