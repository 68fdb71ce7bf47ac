// Requests and routing; timers (automatic transitions, SLAs); seeded random sequences.

#include "engine_fixture.hpp"

#include <random>

using namespace teamflow;
using namespace teamflow::testing;
using engine::ErrorCode;
using engine::Value;

namespace {

using Routing = AcmeEngine;
using Timers = AcmeEngine;

engine::Result<engine::Record> material(AcmeEngine& t, engine::Engine& e, const std::string& who,
                                        const char* kind, engine::RecordId deal = 0) {
    const auto m = t.defs_->find_module("SalesMaterials");
    std::vector<engine::FieldAssign> fs{
        {t.defs_->modules[m].find_field("title"), Value::text("Deck")},
        {t.defs_->modules[m].find_field("kind"), Value::text(kind)},
        {t.defs_->modules[m].find_field("due"), Value::date(*engine::parse_date("2026-02-01"))},
    };
    if (deal != 0) {
        fs.push_back({t.defs_->modules[m].find_field("deal"), Value::record(deal)});
    }
    return e.file_request(t.defs_->find_teamspace("Marketing"), m, t.defs_->find_user(who), fs);
}

TEST_F(Routing, FirstMatchingRuleWins_UserRoleRoundRobin) {
    auto deck = material(*this, *engine_, "jeanne", "Deck");
    ASSERT_TRUE(deck.ok()) << deck.error().to_string();
    EXPECT_EQ(deck->assignee, user("pierre"));
    EXPECT_EQ(deck->requester, user("jeanne"));
    // deal.amount >= 100000: role SalesManager among Marketing's members: marie.
    auto big = deal(account("Acme"), "150000");
    auto b = material(*this, *engine_, "jeanne", "Brochure", big->id);
    ASSERT_TRUE(b.ok()) << b.error().to_string();
    EXPECT_EQ(b->assignee, user("marie"));
    // Otherwise: round robin among members, durable in the store's cursor.
    auto r1 = material(*this, *engine_, "jeanne", "Brochure");
    auto r2 = material(*this, *engine_, "paul", "Brochure");
    auto r3 = material(*this, *engine_, "jeanne", "Brochure");
    EXPECT_NE(r1->assignee, r2->assignee);
    EXPECT_EQ(r1->assignee, r3->assignee);
    EXPECT_EQ(store_.cursor("route:SalesMaterials:2"), 3);
}

TEST_F(Routing, RequesterTeamspaceAndFieldsAreChecked) {
    auto outsider = material(*this, *engine_, "pierre", "Deck"); // Marketing may not file here
    ASSERT_FALSE(outsider.ok());
    EXPECT_EQ(outsider.error().code, ErrorCode::NotAllowed);
    EXPECT_EQ(engine::http_status(outsider.error().code), 403);
    const auto m = defs_->find_module("SalesMaterials");
    auto bad = engine_->file_request(defs_->find_teamspace("Marketing"), m, user("jeanne"),
                                     {{defs_->modules[m].find_field("status"), Value::text("New")}});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::NotRequestable);
}

TEST_F(Routing, TeamRecordsAreVisibleToMembersAndRequesterOnly) {
    auto r = material(*this, *engine_, "jeanne", "Deck");
    EXPECT_TRUE(engine_->get(r->id, user("pierre")).ok());
    EXPECT_TRUE(engine_->get(r->id, user("jeanne")).ok());
    auto lea = engine_->get(r->id, user("lea"));
    ASSERT_FALSE(lea.ok());
    EXPECT_EQ(lea.error().code, ErrorCode::NotVisible);
}

TEST_F(Timers, AutomaticTransitionFiresOnceWhenDueAndWhenHolds) {
    auto d = deal(account("Acme"), "50000");
    ASSERT_TRUE(go(d->id, "Qualify", "jeanne").ok());
    clock_.advance(29 * 86400);
    EXPECT_EQ(engine_->fire_due_timers(), 0u);
    clock_.advance(86400);
    EXPECT_EQ(engine_->fire_due_timers(), 1u);
    EXPECT_EQ(state(d->id), "Closed lost");
    EXPECT_EQ(rec(d->id).fields[f(deals_, "loss_reason")].s, "No answer in 30 days");
    EXPECT_EQ(store_.history(d->id).back().kind, engine::HistoryKind::Automatic);
    clock_.advance(30 * 86400);
    EXPECT_EQ(engine_->fire_due_timers(), 0u);
}

TEST_F(Timers, WhenIsRecheckedAtFiring) {
    auto d = deal(account("Acme"), "50000");
    ASSERT_TRUE(go(d->id, "Qualify", "jeanne").ok());
    ASSERT_TRUE(engine_->update(d->id, user("jeanne"), {{f(deals_, "discount"), number("5")}}).ok());
    clock_.advance(31 * 86400);
    EXPECT_EQ(engine_->fire_due_timers(), 0u);
    EXPECT_EQ(state(d->id), "Negotiation");
    EXPECT_TRUE(store_.timers_of(d->id).empty());
}

TEST_F(Timers, LeavingTheStateCancelsItsTimers) {
    auto d = deal(account("Acme"), "50000");
    ASSERT_TRUE(go(d->id, "Qualify", "jeanne").ok());
    ASSERT_TRUE(go(d->id, "Ask discount", "jeanne", {{f(deals_, "discount"), number("5")}}).ok());
    EXPECT_EQ(state(d->id), "Legal review");
    clock_.advance(31 * 86400);
    EXPECT_EQ(engine_->fire_due_timers(), 1u); // only the SLA of "Legal review"
    EXPECT_EQ(state(d->id), "Legal review");
    const auto notes = store_.notifications(user("paul"));
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0].text, "Legal review of Big deal is late");
    EXPECT_EQ(store_.history(d->id).back().kind, engine::HistoryKind::Sla);
}

// Random sequences never leave a record outside its picklist, never fire a timer twice and never
// lose a parallel sub-transition.
TEST_F(Timers, RandomSequencesKeepInvariants) {
    std::mt19937 rng(20260105);
    const char* names[] = {"Qualify", "Ask discount", "Finance approves", "Counsel approves",
                           "Win", "Lose"};
    const char* users[] = {"jeanne", "paul", "lea"};
    const auto acct = account("Acme");
    for (int round = 0; round < 40; ++round) {
        auto d = deal(acct, "50000");
        ASSERT_TRUE(d.ok());
        std::uint64_t done = 0;
        for (int step = 0; step < 12; ++step) {
            const std::string n = names[rng() % 6];
            const std::string who = users[rng() % 3];
            const auto before = rec(d->id);
            auto r = go(d->id, n, who, {{f(deals_, "discount"), number(rng() % 2 ? "25" : "5")},
                                        {f(deals_, "loss_reason"), Value::text("x")}},
                        {"Terms checked", "Liability capped"}, "note");
            const auto after = rec(d->id);
            ASSERT_GE(after.fields[bp_->field].aux, 0);
            ASSERT_LT(static_cast<std::size_t>(after.fields[bp_->field].aux), bp_->states.size());
            EXPECT_EQ(after.fields[bp_->field].s,
                      bp_->states[static_cast<std::size_t>(after.fields[bp_->field].aux)]);
            if (r.ok()) {
                EXPECT_EQ(after.version, before.version + 1);
                const auto& t = bp_->transitions[r->transition];
                if (t.parallel != engine::npos32 && !r->moved) {
                    done |= t.parallel_bit;
                    EXPECT_EQ(after.parallel_done & done, done); // nothing lost
                } else {
                    done = 0;
                }
            } else {
                EXPECT_EQ(after.version, before.version);
            }
            if (rng() % 4 == 0) {
                clock_.advance(static_cast<std::int64_t>(rng() % 40) * 86400);
                const auto h0 = store_.history(d->id).size();
                const auto fired = engine_->fire_due_timers();
                EXPECT_EQ(engine_->fire_due_timers(), 0u); // never twice
                EXPECT_LE(store_.history(d->id).size(), h0 + fired);
                if (fired > 0) {
                    done = rec(d->id).parallel_done;
                }
            }
        }
    }
}

} // namespace
