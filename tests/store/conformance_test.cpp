// The store conformance suite: the same tests against every store (memory, sqlite, postgresql).

#include "store_fixture.hpp"
#include "teamflow/dsl/frontend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

using namespace teamflow;
using namespace teamflow::testing;
using engine::ErrorCode;
using engine::Value;

namespace {

/// A direct change set: an update of `r` from its version, with one history entry.
engine::ChangeSet bump(const engine::Record& r, const std::string& note) {
    engine::ChangeSet cs;
    engine::RecordWrite& w = cs.writes.add();
    w.record = r;
    w.record.version = r.version + 1;
    w.expected_version = r.version;
    engine::HistoryEntry& h = cs.history.add();
    h.record = r.id;
    h.module = r.module;
    h.kind = engine::HistoryKind::Updated;
    h.version = r.version + 1;
    h.note = note;
    return cs;
}

TEST_P(StoreTest, CreateReadUpdateDelete) {
    const auto acct = account("Acme");
    const auto id = deal("Big", "1234.5");
    engine::Record r = rec(id);
    EXPECT_EQ(r.version, 1);
    EXPECT_EQ(r.owner, user("ann"));
    EXPECT_EQ(r.created_by, user("ann"));
    EXPECT_TRUE(r.governed);
    EXPECT_EQ(text(id, "stage"), "Open");
    EXPECT_EQ(text(id, "amount"), "1234.5");
    const std::uint32_t deals = module("Deals");
    auto u = engine_->update(id, user("ann"),
                             {{field(deals, "account"), Value::record(acct)},
                              {field(deals, "closes"),
                               Value::date(*engine::parse_date("2030-02-03"))},
                              {field(deals, "reviewer"), Value::user(user("cid"))},
                              {field(deals, "note"), Value::text("Ünïcode \"quoted\"\n")}});
    ASSERT_TRUE(u.ok()) << u.error().to_string();
    r = rec(id);
    EXPECT_EQ(r.version, 2);
    EXPECT_EQ(r.fields[field(deals, "account")].i, acct);
    EXPECT_EQ(text(id, "closes"), "2030-02-03");
    EXPECT_EQ(text(id, "reviewer"), "cid");
    EXPECT_EQ(text(id, "note"), "Ünïcode \"quoted\"\n");
    EXPECT_EQ(r.fields[field(deals, "stage")].aux, 0);
    EXPECT_EQ(store_->list(deals, 0, 10), std::vector<engine::RecordId>{id});
    ASSERT_TRUE(engine_->remove(id, user("ann")).ok());
    engine::Record gone;
    EXPECT_FALSE(store_->read_record(id, gone));
    EXPECT_TRUE(store_->list(deals, 0, 10).empty());
    EXPECT_FALSE(store_->read_record(987654, gone));
}

TEST_P(StoreTest, OptimisticConcurrency_ExactlyOneWriterWins) {
    const auto id = deal("Race");
    const engine::Record r = rec(id);
    EXPECT_TRUE(store_->commit(bump(r, "first")).ok());
    auto second = store_->commit(bump(r, "second"));
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, ErrorCode::Conflict);
    // Many threads, one version: one wins.
    const engine::Record now = rec(id);
    std::atomic<int> wins{0};
    std::atomic<int> conflicts{0};
    std::vector<std::thread> threads;
    for (int k = 0; k < 6; ++k) {
        threads.emplace_back([&, k] {
            auto c = store_->commit(bump(now, "t" + std::to_string(k)));
            (c.ok() ? wins : conflicts)++;
            if (!c.ok()) {
                EXPECT_EQ(c.error().code, ErrorCode::Conflict) << c.error().to_string();
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(conflicts.load(), 5);
    EXPECT_EQ(rec(id).version, now.version + 1);
    EXPECT_EQ(store_->history(id).size(), 3u);
    // A new record over an existing id is a conflict too; an update of a missing one not found.
    engine::ChangeSet dup;
    dup.writes.add().record = now;
    EXPECT_EQ(store_->commit(dup).error().code, ErrorCode::Conflict);
    engine::Record ghost = now;
    ghost.id = 424242;
    EXPECT_EQ(store_->commit(bump(ghost, "x")).error().code, ErrorCode::NotFound);
}

TEST_P(StoreTest, Atomicity_AFailingUniqueClaimOrCursorAppliesNothing) {
    const auto acct = account("Taken");
    const auto id = deal("Atomic");
    const engine::Record r = rec(id);
    const std::uint32_t accounts = module("Accounts");
    EXPECT_TRUE(store_->unique_taken(accounts, field(accounts, "name"), "Taken", 0));
    EXPECT_FALSE(store_->unique_taken(accounts, field(accounts, "name"), "Taken", acct));
    EXPECT_FALSE(store_->unique_taken(accounts, field(accounts, "name"), "Free", 0));

    engine::ChangeSet cs = bump(r, "claim");
    engine::UniqueKey& k = cs.claims.add();
    k.module = accounts;
    k.field = field(accounts, "name");
    k.key = "Taken";
    k.record = id;
    cs.outbox.add().text = "never";
    auto c = store_->commit(cs);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::NotUnique);
    EXPECT_EQ(rec(id).version, r.version);
    EXPECT_EQ(store_->history(id).size(), 1u);
    EXPECT_TRUE(store_->outbox(std::nullopt).empty());

    engine::ChangeSet moved = bump(r, "cursor");
    engine::CursorUpdate& cu = moved.cursors.add();
    cu.key = "rr";
    cu.expected = 5;
    cu.value = 6;
    moved.timers_add.push_back(engine::Timer{0, id, 0, engine::TimerKind::Transition, 4, 100, 1});
    auto m = store_->commit(moved);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code, ErrorCode::Conflict);
    EXPECT_EQ(rec(id).version, r.version);
    EXPECT_EQ(store_->cursor("rr"), 0);
    EXPECT_TRUE(store_->timers_of(id).empty());

    // Releasing and claiming in one commit, and moving a cursor from 0.
    engine::ChangeSet ok = bump(r, "ok");
    engine::UniqueKey& rel = ok.releases.add();
    rel = k;
    rel.record = acct;
    ok.claims.add() = k;
    engine::CursorUpdate& c0 = ok.cursors.add();
    c0.key = "rr";
    c0.expected = 0;
    c0.value = 1;
    ASSERT_TRUE(store_->commit(ok).ok());
    EXPECT_EQ(store_->cursor("rr"), 1);
    EXPECT_TRUE(store_->unique_taken(accounts, field(accounts, "name"), "Taken", acct));
    EXPECT_FALSE(store_->unique_taken(accounts, field(accounts, "name"), "Taken", id));
}

TEST_P(StoreTest, Atomicity_AnUpdateWithNewRecordsIsAllOrNothing) {
    const auto id = deal("Parent");
    const engine::Record r = rec(id);
    const auto other = deal("Other");
    // A new record whose id exists: conflict, and the update beside it is not applied.
    engine::ChangeSet dup = bump(r, "dup");
    engine::RecordWrite& d1 = dup.writes.add();
    d1.record = rec(other);
    d1.expected_version = 0;
    dup.outbox.add().text = "never";
    auto c1 = store_->commit(dup);
    ASSERT_FALSE(c1.ok());
    EXPECT_EQ(c1.error().code, ErrorCode::Conflict);
    EXPECT_EQ(rec(id).version, r.version);
    EXPECT_EQ(rec(other).version, 1);
    EXPECT_TRUE(store_->outbox(std::nullopt).empty());
    // A stale update: conflict, and the new record beside it does not appear.
    const engine::RecordId fresh = store_->allocate_id();
    ASSERT_NE(fresh, 0);
    engine::ChangeSet up = bump(r, "up");
    ASSERT_TRUE(store_->commit(up).ok());
    engine::ChangeSet stale = bump(r, "stale");
    engine::RecordWrite& n = stale.writes.add();
    n.record = r;
    n.record.id = fresh;
    n.record.version = 1;
    n.expected_version = 0;
    engine::HistoryEntry& h = stale.history.add();
    h.record = fresh;
    h.module = r.module;
    h.version = 1;
    stale.timers_add.push_back(engine::Timer{0, fresh, 0, engine::TimerKind::Transition, 4, 5, 1});
    auto c2 = store_->commit(stale);
    ASSERT_FALSE(c2.ok());
    EXPECT_EQ(c2.error().code, ErrorCode::Conflict);
    engine::Record gone;
    EXPECT_FALSE(store_->read_record(fresh, gone));
    EXPECT_TRUE(store_->history(fresh).empty());
    EXPECT_TRUE(store_->timers_of(fresh).empty());
    EXPECT_EQ(rec(id).version, r.version + 1);
    // The same with the right version: both land, with their history and timer.
    engine::ChangeSet good = bump(rec(id), "good");
    good.writes.add() = n;
    good.history.add() = h;
    good.timers_add = stale.timers_add;
    ASSERT_TRUE(store_->commit(good).ok());
    EXPECT_EQ(rec(fresh).version, 1);
    EXPECT_EQ(store_->history(fresh).size(), 1u);
    EXPECT_EQ(store_->timers_of(fresh).size(), 1u);
    EXPECT_EQ(rec(id).version, r.version + 2);
}

TEST_P(StoreTest, ConcurrentCommitsEachGetTheirOwnExactAnswer) {
    // Many threads commit at once (the PostgreSQL store groups concurrent commits into one
    // statement): updates of one shared record racing on its version, new records, and new
    // records over an existing id (which fail a grouped statement, so the others are committed
    // one by one). Each commit must get its own answer, and only what succeeded is there.
    const auto shared = deal("Shared");
    const auto taken = deal("Taken");
    const engine::Record taken_rec = rec(taken);
    constexpr int threads = 8;
    constexpr int per_thread = 30;
    std::atomic<int> wins{0};
    std::atomic<int> dups{0};
    std::mutex mu;
    std::vector<engine::RecordId> created;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int k = 0; k < per_thread; ++k) {
                const int kind = (t + k) % 3;
                if (kind == 0) {
                    engine::Record r;
                    if (!store_->read_record(shared, r)) {
                        ADD_FAILURE() << "shared record missing";
                        return;
                    }
                    auto c = store_->commit(bump(r, fmt::format("w{}-{}", t, k)));
                    if (c.ok()) {
                        ++wins;
                    } else {
                        EXPECT_EQ(c.error().code, ErrorCode::Conflict) << c.error().to_string();
                    }
                } else if (kind == 1) {
                    engine::Record r = taken_rec;
                    r.id = store_->allocate_id();
                    engine::ChangeSet cs;
                    cs.writes.add().record = r;
                    engine::HistoryEntry& h = cs.history.add();
                    h.record = r.id;
                    h.module = r.module;
                    h.version = 1;
                    cs.outbox.add().text = "new";
                    auto c = store_->commit(cs);
                    EXPECT_TRUE(c.ok()) << c.error().to_string();
                    std::lock_guard lock(mu);
                    created.push_back(r.id);
                } else {
                    engine::ChangeSet cs;
                    cs.writes.add().record = taken_rec;
                    cs.outbox.add().text = "duplicate";
                    auto c = store_->commit(cs);
                    ASSERT_FALSE(c.ok());
                    EXPECT_EQ(c.error().code, ErrorCode::Conflict) << c.error().to_string();
                    ++dups;
                }
            }
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    EXPECT_GT(dups.load(), 0);
    const engine::Record now = rec(shared);
    EXPECT_EQ(now.version, 1 + wins.load());
    const auto history = store_->history(shared);
    ASSERT_EQ(history.size(), static_cast<std::size_t>(now.version));
    for (std::size_t k = 0; k < history.size(); ++k) {
        EXPECT_EQ(history[k].version, static_cast<std::int64_t>(k + 1));
    }
    for (engine::RecordId id : created) {
        EXPECT_EQ(rec(id).version, 1);
        EXPECT_EQ(store_->history(id).size(), 1u);
    }
    std::size_t fresh = 0;
    for (const auto& o : store_->outbox(std::nullopt)) {
        EXPECT_NE(o.text, "duplicate") << "a refused commit left an outbox row";
        fresh += o.text == "new" ? 1 : 0;
    }
    EXPECT_EQ(fresh, created.size());
    EXPECT_EQ(rec(taken).version, 1);
}

TEST_P(StoreTest, ConcurrentTransitionsSetAndCancelTheirOwnTimers) {
    // Threads transition their own deals at once (grouped into shared statements by the
    // PostgreSQL store): Submit sets the deal's timers (Expire after 2d, the Review SLA), Reopen
    // cancels them; each deal ends with exactly its own timers.
    constexpr int threads = 6;
    constexpr int rounds = 4;
    std::vector<engine::RecordId> ids;
    for (int t = 0; t < threads; ++t) {
        ids.push_back(deal("Timed " + std::to_string(t)));
    }
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            const engine::RecordId id = ids[static_cast<std::size_t>(t)];
            for (int k = 0; k < rounds; ++k) {
                auto s = go(id, "Submit");
                EXPECT_TRUE(s.ok()) << s.error().to_string();
                if (k + 1 < rounds || t % 2 == 0) {
                    auto r = go(id, "Reopen");
                    EXPECT_TRUE(r.ok()) << r.error().to_string();
                }
            }
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    for (int t = 0; t < threads; ++t) {
        const engine::RecordId id = ids[static_cast<std::size_t>(t)];
        const auto timers = store_->timers_of(id);
        if (t % 2 == 0) {
            EXPECT_TRUE(timers.empty()) << "deal " << t << " was reopened: no timer left";
            EXPECT_EQ(text(id, "stage"), "Open");
        } else {
            EXPECT_EQ(timers.size(), 2u) << "deal " << t << " is in Review: Expire and the SLA";
            EXPECT_EQ(text(id, "stage"), "Review");
            for (const auto& tm : timers) {
                EXPECT_EQ(tm.record, id);
                EXPECT_EQ(tm.state_version, rec(id).state_version);
            }
        }
        EXPECT_EQ(store_->history(id).size(), static_cast<std::size_t>(rec(id).version));
    }
}

TEST_P(StoreTest, HistoryInOrderAndVersionsMatch) {
    const auto id = deal("Story");
    ASSERT_TRUE(go(id, "Submit").ok());
    ASSERT_TRUE(go(id, "Reopen").ok());
    ASSERT_TRUE(go(id, "Submit").ok());
    ASSERT_TRUE(go(id, "Win").ok());
    const auto h = store_->history(id);
    ASSERT_EQ(h.size(), 5u);
    const auto& bp = defs_->blueprints[defs_->find_blueprint("Pipeline")];
    for (std::size_t k = 0; k < h.size(); ++k) {
        EXPECT_EQ(h[k].version, static_cast<std::int64_t>(k + 1));
        EXPECT_EQ(h[k].record, id);
        if (k > 0) {
            EXPECT_GT(h[k].id, h[k - 1].id);
            EXPECT_EQ(h[k].kind, engine::HistoryKind::Transition);
            EXPECT_EQ(h[k].by, user("ann"));
        }
    }
    EXPECT_EQ(h[0].kind, engine::HistoryKind::Created);
    EXPECT_EQ(h[1].name, "Submit");
    EXPECT_EQ(bp.states[static_cast<std::size_t>(h[1].from)], "Open");
    EXPECT_EQ(bp.states[static_cast<std::size_t>(h[4].to)], "Won");
    EXPECT_EQ(rec(id).version, 5);
    // Field changes survive with their values.
    const std::uint32_t deals = module("Deals");
    ASSERT_TRUE(engine_->update(id, user("ann"), {{field(deals, "note"), Value::text("n")}}).ok());
    const auto h2 = store_->history(id);
    ASSERT_EQ(h2.size(), 6u);
    ASSERT_EQ(h2[5].changes.size(), 1u);
    EXPECT_EQ(h2[5].changes[0].field, field(deals, "note"));
    EXPECT_TRUE(h2[5].changes[0].before.empty());
    EXPECT_EQ(h2[5].changes[0].after.s, "n");
    // The entry at a version, found without reading the whole history.
    for (const engine::HistoryEntry& e : h2) {
        EXPECT_EQ(store_->history_id_at(id, e.version), e.id);
    }
    EXPECT_EQ(store_->history_id_at(id, 99), 0);
    EXPECT_EQ(store_->history_id_at(id + 1000, 1), 0);
}

TEST_P(StoreTest, OutboxNotificationsAndMarking) {
    const auto a = deal("A");
    const auto b = deal("B", "5", "bob");
    ASSERT_TRUE(go(a, "Submit").ok());
    ASSERT_TRUE(go(b, "Submit", "bob").ok());
    const auto all = store_->outbox(std::nullopt);
    ASSERT_EQ(all.size(), 4u); // a notification and a webhook each
    EXPECT_LT(all[0].id, all[1].id);
    const auto mine = store_->notifications(user("ann"));
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0].text, "Deal A submitted");
    EXPECT_EQ(mine[0].record, a);
    EXPECT_EQ(mine[0].user, user("ann"));
    const auto hooks = std::count_if(all.begin(), all.end(), [](const engine::OutboxRow& o) {
        return o.kind == engine::OutboxKind::Webhook;
    });
    EXPECT_EQ(hooks, 2);
    const auto pending = store_->outbox(engine::OutboxStatus::Pending);
    EXPECT_EQ(pending.size(), 4u);
    ASSERT_TRUE(store_->mark_outbox(pending[0].id, engine::OutboxStatus::Failed, "refused").ok());
    ASSERT_TRUE(store_->mark_outbox(pending[0].id, engine::OutboxStatus::Delivered, "").ok());
    ASSERT_TRUE(store_->mark_outbox(pending[1].id, engine::OutboxStatus::Failed, "timeout").ok());
    const auto failed = store_->outbox(engine::OutboxStatus::Failed);
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].last_error, "timeout");
    EXPECT_EQ(failed[0].attempts, 1);
    const auto delivered = store_->outbox(engine::OutboxStatus::Delivered);
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].attempts, 2);
    EXPECT_EQ(store_->mark_outbox(999999, engine::OutboxStatus::Delivered, "").error().code,
              ErrorCode::NotFound);
    // Newest first.
    ASSERT_TRUE(go(a, "Reopen").ok());
    ASSERT_TRUE(go(a, "Submit").ok());
    const auto again = store_->notifications(user("ann"));
    ASSERT_EQ(again.size(), 2u);
    EXPECT_GT(again[0].id, again[1].id);
}

TEST_P(StoreTest, TimersDueOrderCancelAndDoneOnce) {
    const auto a = deal("A");
    const auto b = deal("B");
    const engine::Record ra = rec(a);
    const engine::Record rb = rec(b);
    const std::uint32_t bp = defs_->find_blueprint("Pipeline");
    engine::ChangeSet cs;
    cs.timers_add.push_back(engine::Timer{0, a, bp, engine::TimerKind::Transition, 4, 300, 1});
    cs.timers_add.push_back(engine::Timer{0, b, bp, engine::TimerKind::Sla, 0, 100, 1});
    cs.timers_add.push_back(engine::Timer{0, a, bp, engine::TimerKind::Sla, 0, 100, 1});
    cs.timers_add.push_back(engine::Timer{0, b, bp, engine::TimerKind::Transition, 4, 200, 1});
    ASSERT_TRUE(store_->commit(cs).ok());
    const auto next = store_->next_timer();
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(next->due, 100);
    EXPECT_EQ(next->record, b);
    const auto due = store_->due_timers(250, 10);
    ASSERT_EQ(due.size(), 3u);
    EXPECT_EQ(due[0].record, b);
    EXPECT_EQ(due[1].record, a); // same due: by id (insertion order)
    EXPECT_EQ(due[2].due, 200);
    EXPECT_EQ(due[0].kind, engine::TimerKind::Sla);
    EXPECT_EQ(due[2].kind, engine::TimerKind::Transition);
    EXPECT_EQ(due[2].index, 4u);
    EXPECT_EQ(due[2].blueprint, bp);
    EXPECT_EQ(due[2].state_version, 1);
    EXPECT_EQ(store_->due_timers(250, 1).size(), 1u);
    EXPECT_EQ(store_->timers_of(a).size(), 2u);
    // Done once: the second commit of the same timer is a conflict.
    engine::ChangeSet done;
    done.timers_done.push_back(due[0].id);
    ASSERT_TRUE(store_->commit(done).ok());
    auto twice = store_->commit(done);
    ASSERT_FALSE(twice.ok());
    EXPECT_EQ(twice.error().code, ErrorCode::Conflict);
    // Cancel drops every timer of a record.
    engine::ChangeSet cancel = bump(ra, "leave");
    cancel.timers_cancel.push_back(a);
    ASSERT_TRUE(store_->commit(cancel).ok());
    EXPECT_TRUE(store_->timers_of(a).empty());
    EXPECT_EQ(store_->timers_of(b).size(), 1u);
    const auto rest = store_->due_timers(1000, 10);
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0].record, rb.id);
}

TEST_P(StoreTest, EngineTimersFireOnceThroughTheStore) {
    const auto id = deal("Slow");
    ASSERT_TRUE(go(id, "Submit").ok());
    EXPECT_EQ(store_->timers_of(id).size(), 2u); // Expire and the SLA
    clock_.advance(3 * engine::seconds_per_day);
    EXPECT_EQ(engine_->fire_due_timers(), 2u);
    EXPECT_EQ(engine_->fire_due_timers(), 0u);
    EXPECT_EQ(text(id, "stage"), "Lost");
    EXPECT_EQ(store_->notifications(user("ann")).front().text, "Slow is late");
    EXPECT_TRUE(store_->timers_of(id).empty());
}

TEST_P(StoreTest, RoundRobinWithConcurrentFilers) {
    const std::uint32_t ops = defs_->find_teamspace("Ops");
    const std::uint32_t tickets = module("Tickets");
    constexpr int per_thread = 6;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (const char* who : {"bob", "cid", "bob", "cid"}) {
        threads.emplace_back([&, who] {
            for (int k = 0; k < per_thread; ++k) {
                auto r = engine_->file_request(
                    ops, tickets, user(who),
                    {{field(tickets, "title"), Value::text(std::string(who) + std::to_string(k))}});
                if (!r.ok()) {
                    ++failures;
                    ADD_FAILURE() << r.error().to_string();
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(failures.load(), 0);
    const auto bob = store_->assigned_to(user("bob"));
    const auto cid = store_->assigned_to(user("cid"));
    // `members` is everyone of the teamspace: bob, cid and the admin ann, in turn.
    EXPECT_EQ(bob.size(), 8u);
    EXPECT_EQ(cid.size(), 8u);
    EXPECT_EQ(store_->assigned_to(user("ann")).size(), 8u);
    EXPECT_EQ(store_->requested_by(user("bob")).size(), 12u);
    EXPECT_TRUE(store_->requested_by(user("ann")).empty());
    // Every turn was handed out once: the cursor moved once per request.
    EXPECT_EQ(store_->list(tickets, 0, 100).size(), 24u);
    EXPECT_EQ(store_->cursor(defs_->modules[tickets].routes[0].cursor_key), 24);
}

TEST_P(StoreTest, TakeTurnHandsOutEveryValueOnceAcrossThreads) {
    // Turns are taken on their own (outside any record commit), atomically: 4 threads taking 50
    // turns each get 0..199 exactly once between them, and the cursor ends at 200.
    constexpr int threads = 4;
    constexpr int per_thread = 50;
    std::vector<std::vector<std::int64_t>> got(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int k = 0; k < per_thread; ++k) {
                auto turn = store_->take_turn("turns");
                if (!turn.ok()) {
                    ADD_FAILURE() << turn.error().to_string();
                    return;
                }
                got[static_cast<std::size_t>(t)].push_back(*turn);
            }
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    std::vector<std::int64_t> all;
    for (const auto& g : got) {
        all.insert(all.end(), g.begin(), g.end());
    }
    std::sort(all.begin(), all.end());
    ASSERT_EQ(all.size(), static_cast<std::size_t>(threads * per_thread));
    for (std::size_t k = 0; k < all.size(); ++k) {
        ASSERT_EQ(all[k], static_cast<std::int64_t>(k)) << "turn handed out twice or skipped";
    }
    EXPECT_EQ(store_->cursor("turns"), threads * per_thread);
    EXPECT_EQ(store_->cursor("other"), 0);
    // A cursor moved by a commit's compare-and-set goes on from there.
    engine::ChangeSet cs;
    engine::CursorUpdate& c = cs.cursors.add();
    c.key = "turns";
    c.expected = threads * per_thread;
    c.value = 1000;
    ASSERT_TRUE(store_->commit(cs).ok());
    auto next = store_->take_turn("turns");
    ASSERT_TRUE(next.ok());
    EXPECT_EQ(*next, 1000);
    EXPECT_EQ(store_->cursor("turns"), 1001);
}

TEST_P(StoreTest, LeastLoadedCountsOpenRecords) {
    const std::uint32_t ops = defs_->find_teamspace("Ops");
    const std::uint32_t jobs = module("Jobs");
    const auto& bp = defs_->blueprints[defs_->find_blueprint("JobFlow")];
    std::vector<engine::RecordId> ids;
    for (int k = 0; k < 6; ++k) { // two each for bob, cid and ann
        auto r = engine_->file_request(ops, jobs, user("bob"),
                                       {{field(jobs, "title"), Value::text("j")}});
        ASSERT_TRUE(r.ok()) << r.error().to_string();
        ids.push_back(r->id);
    }
    EXPECT_EQ(store_->count_open_assigned(jobs, user("bob"), bp.field, bp.terminal), 2);
    EXPECT_EQ(store_->count_open_assigned(jobs, user("cid"), bp.field, bp.terminal), 2);
    EXPECT_EQ(store_->count_open_assigned(jobs, user("ann"), bp.field, bp.terminal), 2);
    const engine::Record first = rec(ids[0]);
    const std::string who = defs_->user_name(first.assignee).data();
    ASSERT_TRUE(go(ids[0], "Finish", who).ok());
    EXPECT_EQ(store_->count_open_assigned(jobs, first.assignee, bp.field, bp.terminal), 1);
    EXPECT_EQ(store_->count_open_assigned(jobs, first.assignee, engine::npos32, bp.terminal), 2);
    // The next request goes to whoever has fewer open jobs.
    auto r = engine_->file_request(ops, jobs, user("bob"),
                                   {{field(jobs, "title"), Value::text("n")}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->assignee, first.assignee);
}

TEST_P(StoreTest, ListingPagesAndFilters) {
    std::vector<engine::RecordId> ids;
    for (int k = 0; k < 7; ++k) {
        ids.push_back(deal("D" + std::to_string(k), k % 2 == 0 ? "10" : "20"));
    }
    const std::uint32_t deals = module("Deals");
    const auto page1 = store_->list(deals, 0, 3);
    ASSERT_EQ(page1.size(), 3u);
    const auto page2 = store_->list(deals, page1.back(), 3);
    const auto page3 = store_->list(deals, page2.back(), 3);
    EXPECT_EQ(page3.size(), 1u);
    EXPECT_EQ(page1[0], ids[0]);
    EXPECT_EQ(page3[0], ids[6]);
    engine::FieldFilter f;
    f.field = field(deals, "amount");
    f.value.assign(Value::number_scaled(20 * engine::decimal_scale));
    EXPECT_EQ(store_->list_where(deals, {f}, 0, 10),
              (std::vector<engine::RecordId>{ids[1], ids[3], ids[5]}));
    engine::FieldFilter owner;
    owner.field = engine::builtin_field | static_cast<std::uint32_t>(engine::Builtin::Owner);
    owner.value.assign(Value::user(user("ann")));
    EXPECT_EQ(store_->list_where(deals, {f, owner}, ids[1], 1),
              (std::vector<engine::RecordId>{ids[3]}));
}

TEST_P(StoreTest, IdempotencyRecall) {
    EXPECT_FALSE(store_->recall("k1").has_value());
    store_->remember("k1", {"fp-1", R"({"id": 1})"});
    store_->remember("k1", {"fp-2", "other"});
    const auto r = store_->recall("k1");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->fingerprint, "fp-1");
    EXPECT_EQ(r->response, R"({"id": 1})");
    EXPECT_FALSE(store_->recall("k2").has_value());
}

std::vector<std::pair<std::string, std::string>> replace(std::string_view from,
                                                         std::string_view to) {
    auto files = conformance_files();
    std::string& text = files[0].second;
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) {
        text.replace(at, from.size(), to);
    }
    return files;
}

TEST_P(StoreTest, DefinitionsVersionsAndPublish) {
    EXPECT_FALSE(store_->latest_definitions().has_value());
    engine::PublishRequest req;
    req.files = conformance_files();
    req.user = "ann";
    req.expected_version = 0;
    auto v1 = engine_->publish(req);
    ASSERT_TRUE(v1.ok()) << v1.error().to_string();
    EXPECT_EQ(v1->version, 1);
    defs_ = engine_->definitions();
    EXPECT_EQ(defs_->version, 1);
    // If-Match on an old version: conflict.
    auto stale = engine_->publish(req);
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(stale.error().code, ErrorCode::Conflict);
    // Compile errors: refused with every diagnostic.
    engine::PublishRequest bad = req;
    bad.expected_version = 1;
    bad.files = replace("to \"Won\"", "to \"Wonn\"");
    engine::PublishReport report;
    auto refused = engine_->publish(bad, &report);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::Invalid);
    ASSERT_FALSE(refused.error().items.empty());
    EXPECT_NE(refused.error().items[0].message.find("conformance.flow:"), std::string::npos);
    ASSERT_TRUE(report.set);
    EXPECT_TRUE(report.set->diagnostics.has_errors());

    // Records in "Review" strand when the state goes away.
    const auto a = deal("A");
    const auto b = deal("B");
    deal("C");
    ASSERT_TRUE(go(a, "Submit").ok());
    ASSERT_TRUE(go(b, "Submit").ok());
    engine::PublishRequest drop = req;
    drop.expected_version = 1;
    drop.files = replace(R"("Open", "Review", "Won", "Lost")", R"("Open", "Won", "Lost")");
    for (auto& [name, text] : drop.files) {
        for (const char* t : {"Reopen", "Expire"}) {
            const auto at = text.find(std::string("  transition ") + t);
            text.erase(at, text.find("  }\n", at) + 4 - at);
        }
        const auto sla = text.find("  sla \"Review\"");
        text.erase(sla, text.find("  }\n", sla) + 4 - sla);
        const auto submit = text.find("to \"Review\"");
        text.replace(submit, 11, "to \"Won\"");
        const auto win = text.find("from \"Review\" to \"Won\"");
        text.replace(win, 13, "from \"Open\"");
    }
    engine::PublishReport why;
    auto stranded = engine_->publish(drop, &why);
    ASSERT_FALSE(stranded.ok());
    EXPECT_EQ(stranded.error().code, ErrorCode::Invalid) << stranded.error().to_string();
    EXPECT_NE(stranded.error().detail.find("2 records"), std::string::npos);
    ASSERT_EQ(why.stranded.size(), 1u);
    EXPECT_EQ(why.stranded[0].records, (std::vector<engine::RecordId>{a, b}));
    EXPECT_EQ(store_->latest_definitions()->version, 1);
    EXPECT_EQ(engine_->definitions()->version, 1);

    // A required field added without a default strands every deal.
    engine::PublishRequest need = req;
    need.expected_version = 1;
    need.files =
        replace("  field note: text\n", "  field note: text\n  field region: text required\n");
    auto required = engine_->publish(need, &why);
    ASSERT_FALSE(required.ok());
    EXPECT_NE(required.error().detail.find("3 records"), std::string::npos)
        << required.error().to_string();

    // With `migrate`, they move in the same commit as the new version.
    engine::PublishRequest mig = drop;
    for (auto& [name, text] : mig.files) {
        const auto at = text.find("blueprint Pipeline on Deals.stage {\n");
        text.insert(at + 36, "  migrate \"Review\" to \"Open\"\n");
    }
    mig.summary = "drop Review";
    auto v2 = engine_->publish(mig);
    ASSERT_TRUE(v2.ok()) << v2.error().to_string();
    EXPECT_EQ(v2->version, 2);
    EXPECT_EQ(v2->migrated, (std::vector<engine::RecordId>{a, b}));
    defs_ = engine_->definitions();
    EXPECT_EQ(defs_->version, 2);
    EXPECT_EQ(text(a, "stage"), "Open");
    EXPECT_EQ(rec(a).version, 3);
    const auto h = store_->history(a);
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h[2].kind, engine::HistoryKind::Moved);
    EXPECT_EQ(h[2].version, 3);
    EXPECT_NE(h[2].reason.find("migrate \"Review\" to \"Open\""), std::string::npos);
    EXPECT_TRUE(store_->timers_of(a).empty());
    // Transitions run on the new version.
    ASSERT_TRUE(go(a, "Win").ok());
    EXPECT_EQ(text(a, "stage"), "Won");

    const auto versions = store_->definitions_versions();
    ASSERT_EQ(versions.size(), 2u);
    EXPECT_EQ(versions[0].version, 2);
    EXPECT_EQ(versions[0].summary, "drop Review");
    EXPECT_EQ(versions[0].published_by, "ann");
    EXPECT_EQ(versions[0].published_at, clock_.now());
    EXPECT_EQ(versions[1].version, 1);
    EXPECT_FALSE(versions[1].summary.empty());
    const auto latest = store_->latest_definitions();
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->files, mig.files);
}

TEST_P(StoreTest, RepublishWithReorderedFieldsReadsOldRecords) {
    const auto acct = account("Acme");
    const auto id = deal("Old", "77.25", "bob");
    const std::uint32_t deals = module("Deals");
    ASSERT_TRUE(engine_->update(id, user("bob"),
                                {{field(deals, "reviewer"), Value::user(user("cid"))},
                                 {field(deals, "account"), Value::record(acct)},
                                 {field(deals, "note"), Value::text("kept")}})
                    .ok());
    ASSERT_TRUE(go(id, "Submit", "bob").ok());
    // Users, fields and picklist values in another order; a new field first.
    auto files = replace(R"(user ann { name "Ann" roles Manager }
user bob { name "Bob" }
user cid { name "Cid" })",
                         R"(user cid { name "Cid" }
user dan { name "Dan" }
user bob { name "Bob" }
user ann { name "Ann" roles Manager })");
    std::string& text_v2 = files[0].second;
    const auto deals_at = text_v2.find("module Deals {\n");
    const auto end = text_v2.find("}\n", deals_at);
    text_v2.replace(deals_at, end - deals_at, R"(module Deals {
  field priority: number
  field reviewer: user
  field note: text
  field stage: picklist ["Lost", "Won", "Review", "Open"] default "Open"
  field closes: date
  field amount: currency required
  field account: lookup Accounts
  field name: text required
)");
    engine::PublishRequest req;
    req.files = files;
    req.user = "ann";
    auto v = engine_->publish(req);
    ASSERT_TRUE(v.ok()) << v.error().to_string();
    defs_ = engine_->definitions();
    auto check = [&] {
        const std::uint32_t m = module("Deals");
        const engine::Record r = rec(id);
        EXPECT_EQ(r.module, m);
        EXPECT_EQ(defs_->user_name(r.owner), "bob");
        EXPECT_EQ(text(id, "name"), "Old");
        EXPECT_EQ(text(id, "amount"), "77.25");
        EXPECT_EQ(text(id, "reviewer"), "cid");
        EXPECT_EQ(text(id, "note"), "kept");
        EXPECT_EQ(text(id, "stage"), "Review");
        EXPECT_EQ(r.fields[field(m, "stage")].aux, 2);
        EXPECT_EQ(r.fields[field(m, "account")].i, acct);
        EXPECT_TRUE(r.fields[field(m, "priority")].empty());
        const auto h = store_->history(id);
        ASSERT_EQ(h.size(), 3u);
        EXPECT_EQ(defs_->user_name(h[2].by), "bob");
        const auto& bp = defs_->blueprints[defs_->find_blueprint("Pipeline")];
        EXPECT_EQ(bp.states[static_cast<std::size_t>(h[2].to)], "Review");
        ASSERT_EQ(h[1].changes.size(), 3u);
        for (const auto& c : h[1].changes) {
            if (c.field == field(m, "reviewer")) {
                EXPECT_EQ(defs_->user_name(static_cast<engine::UserId>(c.after.i)), "cid");
            }
        }
        const auto timers = store_->timers_of(id);
        ASSERT_EQ(timers.size(), 2u);
        for (const auto& t : timers) {
            EXPECT_EQ(t.blueprint, defs_->find_blueprint("Pipeline"));
            if (t.kind == engine::TimerKind::Transition) {
                EXPECT_EQ(bp.transitions[t.index].name, "Expire");
            }
        }
        EXPECT_TRUE(store_->unique_taken(module("Accounts"),
                                         field(module("Accounts"), "name"), "Acme", 0));
        EXPECT_EQ(store_->notifications(user("bob")).size(), 1u);
    };
    check();
    // The record moves on under the new version.
    ASSERT_TRUE(go(id, "Win", "bob").ok());
    EXPECT_EQ(text(id, "stage"), "Won");
    if (GetParam().durable) {
        reopen();
        ASSERT_EQ(engine_->load_latest().value(), 1); // the first version stored
        defs_ = engine_->definitions();
        EXPECT_EQ(text(id, "stage"), "Won");
        EXPECT_EQ(text(id, "reviewer"), "cid");
    }
}

TEST_P(StoreTest, SurvivesReopen) {
    if (!GetParam().durable) {
        GTEST_SKIP() << GetParam().name << " is not durable";
    }
    engine::PublishRequest req;
    req.files = conformance_files();
    req.user = "ann";
    ASSERT_TRUE(engine_->publish(req).ok());
    const auto acct = account("Kept");
    const auto id = deal("Durable");
    ASSERT_TRUE(go(id, "Submit").ok());
    const std::uint32_t ops = defs_->find_teamspace("Ops");
    const std::uint32_t tickets = module("Tickets");
    auto t = engine_->file_request(ops, tickets, user("bob"),
                                   {{field(tickets, "title"), Value::text("x")}});
    ASSERT_TRUE(t.ok());
    store_->remember("key", {"fp", "answer"});
    const auto outbox = store_->outbox(std::nullopt);
    ASSERT_TRUE(store_->mark_outbox(outbox[0].id, engine::OutboxStatus::Delivered, "").ok());
    const engine::Record before = rec(id);

    reopen();
    ASSERT_EQ(engine_->load_latest().value(), 1);
    defs_ = engine_->definitions();
    const engine::Record after = rec(id);
    EXPECT_EQ(after.version, before.version);
    EXPECT_EQ(after.fields, before.fields);
    EXPECT_EQ(after.state_version, before.state_version);
    EXPECT_EQ(text(id, "stage"), "Review");
    EXPECT_EQ(store_->history(id).size(), 2u);
    EXPECT_EQ(store_->timers_of(id).size(), 2u);
    EXPECT_EQ(store_->outbox(std::nullopt).size(), outbox.size());
    EXPECT_EQ(store_->outbox(engine::OutboxStatus::Delivered).size(), 1u);
    EXPECT_EQ(store_->recall("key")->response, "answer");
    EXPECT_EQ(store_->assigned_to(t->assignee), std::vector<engine::RecordId>{t->id});
    EXPECT_NE(store_->cursor(defs_->modules[tickets].routes[0].cursor_key), 0);
    EXPECT_EQ(store_->definitions_versions().size(), 1u);
    // Unique keys and ids carry on.
    const std::uint32_t accounts = module("Accounts");
    auto dup = engine_->create(accounts, user("ann"),
                               {{field(accounts, "name"), Value::text("Kept")}});
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(dup.error().code, ErrorCode::NotUnique);
    EXPECT_GT(deal("New"), std::max({acct, id, t->id}));
    ASSERT_TRUE(go(id, "Win").ok());
}

std::string factory_name(const ::testing::TestParamInfo<StoreFactory>& info) {
    return info.param.name;
}

/// Every item of a paged read, walking pages of `limit` from cursor `first` until a short page.
template <class Item, class Read, class Cursor>
std::vector<Item> walk_pages(std::size_t limit, std::int64_t first, Read read, Cursor cursor_of) {
    std::vector<Item> out;
    std::int64_t cursor = first;
    for (int guard = 0; guard < 1000; ++guard) {
        const std::vector<Item> page = read(cursor, limit);
        EXPECT_LE(page.size(), limit);
        out.insert(out.end(), page.begin(), page.end());
        if (page.size() < limit) {
            return out;
        }
        cursor = cursor_of(page.back());
    }
    ADD_FAILURE() << "paging did not end";
    return out;
}

TEST_P(StoreTest, PagedReadsWalkTheUnpagedOnesInOrder) {
    const std::uint32_t ops = defs_->find_teamspace("Ops");
    const std::uint32_t tickets = module("Tickets");
    // Requests filed by bob, assigned round robin; deals with history, notifications, webhooks.
    for (int k = 0; k < 7; ++k) {
        auto r = engine_->file_request(ops, tickets, user("bob"),
                                       {{field(tickets, "title"), Value::text("t" +
                                                                               std::to_string(k))}});
        ASSERT_TRUE(r.ok()) << r.error().to_string();
    }
    const auto a = deal("A");
    const auto b = deal("B", "5", "bob");
    for (int k = 0; k < 3; ++k) {
        ASSERT_TRUE(go(a, "Submit").ok());
        ASSERT_TRUE(go(a, "Reopen").ok());
    }
    ASSERT_TRUE(go(b, "Submit", "bob").ok());
    const auto id_of_row = [](const engine::OutboxRow& o) { return o.id; };
    const auto id_of_entry = [](const engine::HistoryEntry& h) { return h.id; };
    const auto same_id = [](engine::RecordId id) { return id; };
    const auto ids = [](const auto& items) {
        std::vector<std::int64_t> out;
        for (const auto& i : items) {
            out.push_back(i.id);
        }
        return out;
    };
    for (const std::size_t limit : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{500}}) {
        SCOPED_TRACE("limit " + std::to_string(limit));
        // History: oldest first.
        const auto history = store_->history(a);
        ASSERT_EQ(history.size(), 7u);
        const auto paged_history = walk_pages<engine::HistoryEntry>(
            limit, 0, [&](std::int64_t c, std::size_t n) { return store_->history_page(a, c, n); },
            id_of_entry);
        EXPECT_EQ(ids(paged_history), ids(history));
        ASSERT_EQ(paged_history.size(), history.size());
        for (std::size_t k = 0; k < history.size(); ++k) {
            EXPECT_EQ(paged_history[k].version, history[k].version);
            EXPECT_EQ(paged_history[k].kind, history[k].kind);
            EXPECT_EQ(paged_history[k].name, history[k].name);
            EXPECT_EQ(paged_history[k].by, history[k].by);
        }
        EXPECT_TRUE(store_->history_page(a, history.back().id, limit).empty());
        EXPECT_TRUE(store_->history_page(987654, 0, limit).empty());
        // Notifications: newest first, `before` the last one shown.
        const auto mine = store_->notifications(user("ann"));
        ASSERT_EQ(mine.size(), 3u);
        const auto paged_mine = walk_pages<engine::OutboxRow>(
            limit, 0,
            [&](std::int64_t c, std::size_t n) {
                return store_->notifications_page(user("ann"), c, n);
            },
            id_of_row);
        EXPECT_EQ(ids(paged_mine), ids(mine));
        for (const auto& o : paged_mine) {
            EXPECT_EQ(o.user, user("ann"));
            EXPECT_EQ(o.kind, engine::OutboxKind::Notification);
        }
        EXPECT_TRUE(store_->notifications_page(user("ann"), mine.back().id, limit).empty());
        // The outbox: oldest first, by kind and status.
        const auto all = store_->outbox(std::nullopt);
        EXPECT_EQ(ids(walk_pages<engine::OutboxRow>(
                      limit, 0,
                      [&](std::int64_t c, std::size_t n) {
                          return store_->outbox_page(std::nullopt, std::nullopt, c, n);
                      },
                      id_of_row)),
                  ids(all));
        std::vector<engine::OutboxRow> hooks;
        for (const auto& o : all) {
            if (o.kind == engine::OutboxKind::Webhook) {
                hooks.push_back(o);
            }
        }
        ASSERT_EQ(hooks.size(), 4u);
        EXPECT_EQ(ids(walk_pages<engine::OutboxRow>(
                      limit, 0,
                      [&](std::int64_t c, std::size_t n) {
                          return store_->outbox_page(engine::OutboxKind::Webhook,
                                                     engine::OutboxStatus::Pending, c, n);
                      },
                      id_of_row)),
                  ids(hooks));
        EXPECT_TRUE(store_
                        ->outbox_page(engine::OutboxKind::Webhook, engine::OutboxStatus::Failed,
                                      0, limit)
                        .empty());
        // Requests filed and records assigned: ascending ids.
        const auto filed = store_->requested_by(user("bob"));
        ASSERT_EQ(filed.size(), 7u);
        EXPECT_EQ((walk_pages<engine::RecordId>(
                      limit, 0,
                      [&](std::int64_t c, std::size_t n) {
                          return store_->requested_by_page(user("bob"), c, n);
                      },
                      same_id)),
                  filed);
        for (const char* who : {"ann", "bob", "cid"}) {
            EXPECT_EQ((walk_pages<engine::RecordId>(
                          limit, 0,
                          [&](std::int64_t c, std::size_t n) {
                              return store_->assigned_to_page(user(who), c, n);
                          },
                          same_id)),
                      store_->assigned_to(user(who)))
                << who;
        }
        EXPECT_TRUE(store_->requested_by_page(user("ann"), 0, limit).empty());
        EXPECT_TRUE(store_->requested_by_page(user("bob"), filed.back(), limit).empty());
    }
    // A deleted request leaves the pages.
    const auto filed = store_->requested_by(user("bob"));
    engine::Record first = rec(filed.front());
    ASSERT_TRUE(engine_->remove(filed.front(), first.owner).ok());
    EXPECT_EQ(store_->requested_by_page(user("bob"), 0, 100),
              std::vector<engine::RecordId>(filed.begin() + 1, filed.end()));
}

TEST_P(StoreTest, DefinitionsVersionsPagedNewestFirst) {
    EXPECT_TRUE(store_->definitions_versions_page(0, 10).empty());
    engine::PublishRequest req;
    req.files = conformance_files();
    req.user = "ann";
    for (std::int64_t v = 1; v <= 5; ++v) {
        req.expected_version = v - 1;
        req.files[0].second += "\n# version " + std::to_string(v) + "\n";
        auto out = engine_->publish(req);
        ASSERT_TRUE(out.ok()) << out.error().to_string();
    }
    const auto all = store_->definitions_versions();
    ASSERT_EQ(all.size(), 5u);
    for (const std::size_t limit : {std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
        const auto paged = walk_pages<engine::DefinitionsVersion>(
            limit, 0,
            [&](std::int64_t c, std::size_t n) { return store_->definitions_versions_page(c, n); },
            [](const engine::DefinitionsVersion& v) { return v.version; });
        ASSERT_EQ(paged.size(), all.size());
        for (std::size_t k = 0; k < all.size(); ++k) {
            EXPECT_EQ(paged[k].version, all[k].version);
            EXPECT_EQ(paged[k].published_by, "ann");
            EXPECT_EQ(paged[k].summary, all[k].summary);
            EXPECT_TRUE(paged[k].files.empty());
        }
    }
    EXPECT_EQ(store_->definitions_versions_page(3, 10).front().version, 2);
    EXPECT_TRUE(store_->definitions_versions_page(1, 10).empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreTest, ::testing::ValuesIn(store_factories()), factory_name);

} // namespace
