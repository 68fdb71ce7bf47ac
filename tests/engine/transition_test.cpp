// Transitions: every rule of the language on the spec's DealPipeline.

#include "engine_fixture.hpp"

using namespace teamflow;
using namespace teamflow::testing;
using engine::ErrorCode;
using engine::Value;

namespace {

using Transitions = AcmeEngine;

TEST_F(Transitions, CreateAppliesDefaultsAndStartsInTheInitialState) {
    const auto acct = account("Acme");
    auto d = deal(acct, "50000");
    ASSERT_TRUE(d.ok()) << d.error().to_string();
    EXPECT_EQ(d->version, 1);
    EXPECT_TRUE(d->governed);
    EXPECT_EQ(state(d->id), "Qualification");
    EXPECT_EQ(d->fields[f(deals_, "probability")].i, 10 * engine::decimal_scale);
    EXPECT_EQ(d->owner, user("jeanne"));
}

TEST_F(Transitions, RequiredAndUniqueOnCreate) {
    account("Acme");
    auto dup = engine_->create(accounts_, user("jeanne"), {{f(accounts_, "name"), Value::text("Acme")}});
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(dup.error().code, ErrorCode::NotUnique);
    auto missing = engine_->create(deals_, user("jeanne"), {});
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::RequiredMissing);
    EXPECT_EQ(missing.error().items.size(), 3u); // name, account, amount
}

TEST_F(Transitions, WrongTypesAreRefused) {
    auto r = engine_->create(deals_, user("jeanne"), {{f(deals_, "amount"), Value::text("big")}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::WrongType);
    auto bad_lookup = deal(999, "10");
    ASSERT_FALSE(bad_lookup.ok());
    EXPECT_EQ(bad_lookup.error().code, ErrorCode::WrongType);
}

TEST_F(Transitions, EntryCriteria_UngovernedRecordsHaveNoTransitions) {
    const auto acct = account("Acme");
    auto d = deal(acct, "0");
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(d->governed);
    auto r = go(d->id, "Qualify", "jeanne");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::CriteriaFailed);
    // Not governed: the state field may be updated directly.
    auto u = engine_->update(d->id, user("jeanne"), {{f(deals_, "stage"), Value::text("Negotiation")}});
    ASSERT_TRUE(u.ok()) << u.error().to_string();
    // Becoming governed by an update keeps the state and starts its timers.
    auto g = engine_->update(d->id, user("jeanne"), {{f(deals_, "amount"), number("5")}});
    ASSERT_TRUE(g.ok());
    EXPECT_TRUE(g->governed);
    EXPECT_EQ(state(d->id), "Negotiation");
    EXPECT_EQ(store_.timers_of(d->id).size(), 1u); // Expire
}

TEST_F(Transitions, GovernedStateFieldIsRefusedOnUpdate) {
    auto d = deal(account("Acme"), "100");
    auto u = engine_->update(d->id, user("jeanne"), {{f(deals_, "stage"), Value::text("Closed won")}});
    ASSERT_FALSE(u.ok());
    EXPECT_EQ(u.error().code, ErrorCode::GovernedByBlueprint);
    EXPECT_EQ(engine::code_name(u.error().code), "governed-by-blueprint");
    EXPECT_EQ(engine::http_status(u.error().code), 422);
}

TEST_F(Transitions, TheSpecScenario) {
    auto d = deal(account("Acme"), "50000");
    const auto id = d->id;
    ASSERT_TRUE(go(id, "Qualify", "jeanne").ok());
    EXPECT_EQ(state(id), "Negotiation");
    EXPECT_EQ(rec(id).fields[f(deals_, "probability")].i, 40 * engine::decimal_scale);
    auto ask = go(id, "Ask discount", "jeanne", {{f(deals_, "discount"), number("25")}});
    ASSERT_TRUE(ask.ok()) << ask.error().to_string();
    EXPECT_EQ(state(id), "Discount approval");
    auto win = go(id, "Win", "jeanne", {}, {}, "x");
    ASSERT_FALSE(win.ok());
    EXPECT_EQ(win.error().code, ErrorCode::NoSuchTransition);
    EXPECT_EQ(engine::http_status(win.error().code), 404);
    // Parallel: each once; the record moves when both are done.
    ASSERT_TRUE(go(id, "Finance approves", "paul").ok());
    EXPECT_EQ(state(id), "Discount approval");
    auto pending = engine_->pending(rec(id));
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(bp_->transitions[pending[0]].name, "Counsel approves");
    auto again = go(id, "Finance approves", "paul");
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::AlreadyDone);
    auto unticked = go(id, "Counsel approves", "lea", {}, {"Terms checked"});
    ASSERT_FALSE(unticked.ok());
    EXPECT_EQ(unticked.error().code, ErrorCode::ChecklistIncomplete);
    auto counsel = go(id, "Counsel approves", "lea", {}, {"Terms checked", "Liability capped"});
    ASSERT_TRUE(counsel.ok()) << counsel.error().to_string();
    EXPECT_TRUE(counsel->moved);
    EXPECT_EQ(state(id), "Legal review");
    // Win: note required, then request + webhook + notify in one commit.
    auto nonote = go(id, "Win", "jeanne");
    ASSERT_FALSE(nonote.ok());
    EXPECT_EQ(nonote.error().code, ErrorCode::NoteRequired);
    auto won = go(id, "Win", "jeanne", {}, {}, "Signed");
    ASSERT_TRUE(won.ok()) << won.error().to_string();
    EXPECT_EQ(state(id), "Closed won");
    const auto rows = store_.outbox(std::nullopt);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].kind, engine::OutboxKind::Webhook);
    EXPECT_NE(rows[0].payload.find("\"state\":\"Closed won\""), std::string::npos);
    EXPECT_EQ(rows[1].text, "Deal Big deal won");
    EXPECT_EQ(rows[1].user, user("jeanne"));
    const auto requests = store_.requested_by(user("jeanne"));
    ASSERT_EQ(requests.size(), 1u);
    const auto req = rec(requests[0]);
    EXPECT_EQ(req.module, materials_);
    EXPECT_EQ(req.fields[f(materials_, "title")].s, "Case study: Big deal");
    EXPECT_EQ(engine::format_date(req.fields[f(materials_, "due")].i), "2026-02-04");
    EXPECT_NE(req.assignee, engine::no_user);
    const auto history = store_.history(id);
    ASSERT_EQ(history.size(), 6u); // created, qualify, ask, finance, counsel, win
    EXPECT_EQ(history[5].note, "Signed");
    EXPECT_EQ(rec(id).version, 6);
}

TEST_F(Transitions, OwnersCriteriaRequireValidate) {
    auto d = deal(account("Acme"), "50000", nullptr);
    const auto id = d->id;
    auto not_owner = go(id, "Qualify", "lea");
    ASSERT_FALSE(not_owner.ok());
    EXPECT_EQ(not_owner.error().code, ErrorCode::NotOwner);
    EXPECT_NE(not_owner.error().detail.find("owner, role SalesManager"), std::string::npos);
    auto criteria = go(id, "Qualify", "paul");
    ASSERT_FALSE(criteria.ok());
    EXPECT_EQ(criteria.error().code, ErrorCode::CriteriaFailed);
    EXPECT_EQ(criteria.error().items[0].message, "criteria not met: close_date is not empty");
    ASSERT_TRUE(engine_->update(id, user("jeanne"),
                                {{f(deals_, "close_date"), Value::date(*engine::parse_date("2025-01-01"))}})
                    .ok());
    auto past = go(id, "Qualify", "jeanne");
    ASSERT_FALSE(past.ok());
    EXPECT_EQ(past.error().code, ErrorCode::ValidationFailed);
    EXPECT_EQ(past.error().items[0].message, "The close date 2025-01-01 is in the past");
    EXPECT_EQ(past.error().items[0].field, "close_date");
    // Supplied fields apply before require and validate.
    auto ok = go(id, "Qualify", "jeanne",
                 {{f(deals_, "close_date"), Value::date(*engine::parse_date("2026-06-30"))}});
    ASSERT_TRUE(ok.ok()) << ok.error().to_string();
    auto missing = go(id, "Ask discount", "jeanne");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::RequiredMissing);
    EXPECT_EQ(missing.error().items[0].field, "discount");
    auto low = go(id, "Ask discount", "jeanne", {{f(deals_, "discount"), number("5")}});
    ASSERT_TRUE(low.ok());
    EXPECT_EQ(state(id), "Legal review"); // conditional: otherwise
}

TEST_F(Transitions, CommonTransitionFromAnyButTheTarget) {
    auto d = deal(account("Acme"), "50000");
    const auto id = d->id;
    auto r = go(id, "Lose", "paul", {{f(deals_, "loss_reason"), Value::text("Budget")}});
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(state(id), "Closed lost");
    auto again = go(id, "Lose", "paul", {{f(deals_, "loss_reason"), Value::text("Budget")}});
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::NoSuchTransition);
}

TEST_F(Transitions, ListingAndDryRun) {
    auto d = deal(account("Acme"), "50000");
    const auto id = d->id;
    std::vector<engine::AvailableTransition> list;
    ASSERT_TRUE(engine_->list_transitions(id, user("jeanne"), false, list).ok());
    ASSERT_EQ(list.size(), 2u); // Qualify, Lose
    EXPECT_EQ(bp_->transitions[list[0].index].name, "Qualify");
    ASSERT_TRUE(engine_->list_transitions(id, user("lea"), true, list).ok());
    ASSERT_EQ(list.size(), 2u);
    EXPECT_FALSE(list[0].available);
    EXPECT_EQ(list[0].reason_code, ErrorCode::NotOwner);
    engine::TransitionCall call;
    call.record = id;
    call.name = "Qualify";
    call.user = user("jeanne");
    auto dry = engine_->dry_run(call);
    ASSERT_TRUE(dry.ok()) << dry.error().to_string();
    EXPECT_EQ(dry->outcome.to, static_cast<std::int32_t>(bp_->find_state("Negotiation")));
    EXPECT_EQ(dry->record.fields[f(deals_, "probability")].i, 40 * engine::decimal_scale);
    EXPECT_EQ(state(id), "Qualification"); // nothing committed
    EXPECT_EQ(rec(id).version, 1);
}

TEST_F(Transitions, OptimisticConcurrency) {
    auto d = deal(account("Acme"), "50000");
    engine::TransitionCall call;
    call.record = d->id;
    call.name = "Qualify";
    call.user = user("jeanne");
    call.expected_version = 7;
    auto r = engine_->transition(call);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Conflict);
    EXPECT_EQ(engine::http_status(r.error().code), 409);
    call.expected_version = 1;
    EXPECT_TRUE(engine_->transition(call).ok());
}

TEST_F(Transitions, AdminMove) {
    auto d = deal(account("Acme"), "50000");
    auto denied = engine_->move(d->id, user("jeanne"), bp_->find_state("Closed won"), "stuck");
    ASSERT_FALSE(denied.ok());
    EXPECT_EQ(denied.error().code, ErrorCode::NotAllowed);
    auto moved = engine_->move(d->id, user("paul"), bp_->find_state("Negotiation"), "stuck");
    ASSERT_TRUE(moved.ok()) << moved.error().to_string();
    EXPECT_EQ(state(d->id), "Negotiation");
    const auto h = store_.history(d->id);
    EXPECT_EQ(h.back().kind, engine::HistoryKind::Moved);
    EXPECT_EQ(h.back().reason, "stuck");
    EXPECT_EQ(store_.timers_of(d->id).size(), 1u);
}

} // namespace

namespace {

TEST_F(Transitions, StartsFromTheCallersRecordAndHandsBackTheCommittedOne) {
    const auto acct = account("Acme");
    auto d = deal(acct, "50000");
    ASSERT_TRUE(d.ok()) << d.error().to_string();
    engine::Record read;
    ASSERT_TRUE(store_.read_record(d->id, read));
    engine::Record committed;
    engine::TransitionCall call;
    call.record = d->id;
    call.name = "Qualify";
    call.user = user("jeanne");
    call.current = &read;
    call.current_defs = engine_->definitions().get();
    call.committed = &committed;
    auto r = engine_->transition(call);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(committed.id, d->id);
    EXPECT_EQ(committed.version, 2);
    EXPECT_EQ(committed.fields[f(deals_, "stage")].s, "Negotiation");
    engine::Record stored;
    ASSERT_TRUE(store_.read_record(d->id, stored));
    EXPECT_EQ(stored.version, committed.version);
    EXPECT_EQ(store_.history_id_at(d->id, 2), store_.history(d->id).back().id);
}

TEST_F(Transitions, AStaleCallersRecordIsReadAfreshAfterTheConflict) {
    const auto acct = account("Acme");
    auto d = deal(acct, "50000");
    ASSERT_TRUE(d.ok()) << d.error().to_string();
    engine::Record stale;
    ASSERT_TRUE(store_.read_record(d->id, stale));
    // Someone else moves the record on.
    auto u = engine_->update(d->id, user("jeanne"), {{f(deals_, "discount"), number("5")}});
    ASSERT_TRUE(u.ok()) << u.error().to_string();
    engine::Record committed;
    engine::TransitionCall call;
    call.record = d->id;
    call.name = "Qualify";
    call.user = user("jeanne");
    call.current = &stale;
    call.current_defs = engine_->definitions().get();
    call.committed = &committed;
    auto r = engine_->transition(call);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(committed.version, 3);
    EXPECT_EQ(committed.fields[f(deals_, "discount")].i, 5 * engine::decimal_scale);
    // With If-Match the stale copy is a conflict, not a retry.
    engine::Record again;
    ASSERT_TRUE(store_.read_record(d->id, again));
    auto u2 = engine_->update(d->id, user("jeanne"), {{f(deals_, "discount"), number("6")}});
    ASSERT_TRUE(u2.ok());
    call.name = "Ask discount";
    call.current = &again;
    call.expected_version = again.version;
    auto refused = engine_->transition(call);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::Conflict);
}

} // namespace
