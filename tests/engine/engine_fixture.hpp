#pragma once
// A fixture with the Acme definitions (built by hand), an in-memory store and a test clock.

#include "ast_builder.hpp"
#include "teamflow/engine/engine.hpp"
#include "teamflow/engine/memory_store.hpp"

#include <gtest/gtest.h>

namespace teamflow::testing {

class AcmeEngine : public ::testing::Test {
protected:
    void SetUp() override {
        ast_ = acme_ast();
        auto d = engine::compile_definitions(*ast_, nullptr);
        ASSERT_TRUE(d.ok()) << d.error().to_string();
        defs_ = d.value();
        engine_ = std::make_unique<engine::Engine>(defs_, store_, clock_,
                                                   engine::EngineOptions{{"paul"}, 3});
        deals_ = defs_->find_module("Deals");
        accounts_ = defs_->find_module("Accounts");
        materials_ = defs_->find_module("SalesMaterials");
        bp_ = &defs_->blueprints[0];
    }
    engine::UserId user(const std::string& id) const { return defs_->find_user(id); }
    std::uint32_t f(std::uint32_t module, const std::string& n) const {
        return defs_->modules[module].find_assignable(n);
    }
    engine::RecordId account(const std::string& name) {
        auto r = engine_->create(accounts_, user("jeanne"),
                                 {{f(accounts_, "name"), engine::Value::text(name)}});
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
        return r.ok() ? r->id : 0;
    }
    engine::Result<engine::Record> deal(engine::RecordId acct, const char* amount,
                                        const char* close = "2030-01-01",
                                        const std::string& who = "jeanne") {
        std::vector<engine::FieldAssign> fs{
            {f(deals_, "name"), engine::Value::text("Big deal")},
            {f(deals_, "account"), engine::Value::record(acct)},
            {f(deals_, "amount"), engine::Value::number_scaled(*engine::parse_decimal(amount))},
        };
        if (close != nullptr) {
            fs.push_back({f(deals_, "close_date"), engine::Value::date(*engine::parse_date(close))});
        }
        return engine_->create(deals_, user(who), fs);
    }
    engine::Result<engine::TransitionOutcome>
    go(engine::RecordId id, const std::string& name, const std::string& who,
       std::vector<engine::FieldAssign> fields = {}, std::vector<std::string> checklist = {},
       std::string note = {}) {
        engine::TransitionCall call;
        call.record = id;
        call.name = name;
        call.user = user(who);
        call.fields = std::move(fields);
        call.checklist = std::move(checklist);
        call.note = std::move(note);
        return engine_->transition(call);
    }
    std::string state(engine::RecordId id) {
        engine::Record r;
        EXPECT_TRUE(store_.read_record(id, r));
        return r.fields[bp_->field].s;
    }
    engine::Record rec(engine::RecordId id) {
        engine::Record r;
        EXPECT_TRUE(store_.read_record(id, r));
        return r;
    }
    static engine::Value number(const char* n) {
        return engine::Value::number_scaled(*engine::parse_decimal(n));
    }

public:
    std::unique_ptr<dsl::Ast> ast_;
    std::shared_ptr<const engine::Definitions> defs_;
    engine::MemoryStore store_;
    engine::TestClock clock_;
    std::unique_ptr<engine::Engine> engine_;
    std::uint32_t deals_ = 0;
    std::uint32_t accounts_ = 0;
    std::uint32_t materials_ = 0;
    const engine::BlueprintDef* bp_ = nullptr;
};

} // namespace teamflow::testing
