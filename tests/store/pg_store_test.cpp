// The PostgreSQL store: the conformance suite's factory, and what only a shared database shows —
// migrations racing at start-up, lost connections, several processes (nodes) transitioning the
// same records, a node killed mid-way, timers claimed by two nodes at once, cursors moved by many.
// Needs TEAMFLOW_TEST_PG_URL (tools/pg-test-server); without it the tests are skipped, or fail
// when CI is set. Each test works in its own PostgreSQL schema.

#include "store_factory.hpp"
#include "teamflow/engine/engine.hpp"
#include "teamflow/engine/pg_store.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>

namespace teamflow::testing {

namespace {

const char* pg_url() {
    const char* v = std::getenv("TEAMFLOW_TEST_PG_URL");
    return v != nullptr && *v != '\0' ? v : nullptr;
}

void drop_schema(const std::string& url, const std::string& schema) {
    try {
        pqxx::connection c(url);
        pqxx::nontransaction tx(c);
        tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(schema) + " CASCADE");
    } catch (const std::exception&) {
        // the server is gone already: nothing to clean
    }
}

void recreate_schema(const std::string& url, const std::string& schema) {
    pqxx::connection c(url);
    pqxx::nontransaction tx(c);
    tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(schema) + " CASCADE");
    tx.exec("CREATE SCHEMA " + tx.quote_name(schema));
}

// The conformance suite's stores live in one schema per test process (ctest runs each test in
// its own process, several at once); it is dropped when the process ends.
std::string factory_url;
std::string factory_schema;

void drop_factory_schema() { drop_schema(factory_url, factory_schema); }

} // namespace

engine::Result<std::unique_ptr<engine::Store>> make_pg_store(const std::string& url, bool fresh) {
    if (url.empty()) {
        return engine::make_error(engine::ErrorCode::StoreUnavailable,
                                  "TEAMFLOW_TEST_PG_URL is not set");
    }
    const std::string schema = fmt::format("teamflow_test_{}", ::getpid());
    if (fresh) {
        try {
            recreate_schema(url, schema);
        } catch (const std::exception& e) {
            return engine::make_error(engine::ErrorCode::StoreUnavailable, e.what());
        }
        if (factory_schema.empty()) {
            factory_url = url;
            factory_schema = schema;
            std::atexit(drop_factory_schema);
        }
    }
    return engine::make_pg_store(url, 4, schema);
}

namespace {

using engine::ErrorCode;
using engine::RecordId;

constexpr const char* tickets_flow = R"flow(
role Manager

user ann { name "Ann" roles Manager }
user bob { name "Bob" }

module Tickets {
  field title: text required
  field code: text unique
  field stage: picklist ["Open", "Working", "Review", "Done", "Expired"] default "Open"
  field note: text
}

blueprint Flow on Tickets.stage {
  transition Start from "Open" to "Working" { by owner, role Manager }
  transition Submit from "Working" to "Review" { by owner, role Manager }
  transition Rework from "Review" to "Working" { by owner, role Manager }
  transition Finish from "Review" to "Done" { by owner, role Manager }
  transition Expire from "Open" to "Expired" after 1d {
    then set note = "expired"
  }
}
)flow";

std::shared_ptr<const engine::Definitions> tickets_defs() {
    engine::DefinitionsVersion v;
    v.version = 1;
    v.files = {{"tickets.flow", tickets_flow}};
    auto d = engine::compile_version(v);
    EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().to_string());
    return d.ok() ? d.value() : nullptr;
}

// One "node": its own store (pool) and engine on the shared schema.
struct Node {
    std::unique_ptr<engine::PgStore> store;
    engine::TestClock clock;
    std::unique_ptr<engine::Engine> engine;
};

class PgStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        const char* url = pg_url();
        if (url == nullptr) {
            if (std::getenv("CI") != nullptr) {
                FAIL() << "the PostgreSQL store is required in CI: TEAMFLOW_TEST_PG_URL is not set";
            }
            GTEST_SKIP() << "TEAMFLOW_TEST_PG_URL is not set (tools/pg-test-server)";
        }
        url_ = url;
        static std::atomic<int> n{0};
        schema_ = fmt::format("teamflow_pgtest_{}_{}", ::getpid(), n++);
        ASSERT_NO_THROW(recreate_schema(url_, schema_));
        defs_ = tickets_defs();
        ASSERT_TRUE(defs_);
    }
    void TearDown() override {
        if (!schema_.empty()) {
            drop_schema(url_, schema_);
        }
    }

    engine::Result<std::unique_ptr<engine::PgStore>> open(std::size_t pool = 4) const {
        return engine::PgStore::open(engine::PgStoreOptions{url_, pool, schema_});
    }

    std::unique_ptr<Node> node(std::size_t pool = 4) const {
        auto s = open(pool);
        if (!s) {
            ADD_FAILURE() << s.error().to_string();
            return nullptr;
        }
        auto n = std::make_unique<Node>();
        n->store = std::move(s.value());
        n->engine = std::make_unique<engine::Engine>(defs_, *n->store, n->clock,
                                                     engine::EngineOptions{{"ann"}, 8});
        return n;
    }

    std::uint32_t tickets() const { return defs_->find_module("Tickets"); }
    std::uint32_t field(const char* name) const {
        return defs_->modules[tickets()].find_field(name);
    }

    RecordId create(Node& n, const std::string& title) const {
        auto r = n.engine->create(tickets(), defs_->find_user("ann"),
                                  {{field("title"), engine::Value::text(title)}});
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
        return r.ok() ? r->id : 0;
    }

    // A SQL connection for checks and for sabotage.
    std::unique_ptr<pqxx::connection> admin() const {
        auto c = std::make_unique<pqxx::connection>(url_);
        pqxx::nontransaction tx(*c);
        tx.exec("SET search_path TO " + tx.quote_name(schema_));
        return c;
    }

    // Every record: its history has versions 1..version, each once, and nothing else.
    void expect_consistent_history(Node& n, const std::vector<RecordId>& ids,
                                   std::int64_t* transitions = nullptr) const {
        std::int64_t total = 0;
        for (RecordId id : ids) {
            engine::Record r;
            ASSERT_TRUE(n.store->read_record(id, r)) << id;
            const auto h = n.store->history(id);
            ASSERT_EQ(static_cast<std::int64_t>(h.size()), r.version) << "record " << id;
            for (std::size_t k = 0; k < h.size(); ++k) {
                EXPECT_EQ(h[k].version, static_cast<std::int64_t>(k) + 1) << "record " << id;
                if (k > 0) {
                    EXPECT_EQ(h[k].kind, engine::HistoryKind::Transition);
                    EXPECT_EQ(h[k].from, h[k - 1].to) << "record " << id;
                }
            }
            EXPECT_EQ(h.back().to, r.fields[field("stage")].aux) << "record " << id;
            total += r.version - 1;
        }
        if (transitions != nullptr) {
            *transitions = total;
        }
    }

    std::string url_;
    std::string schema_;
    std::shared_ptr<const engine::Definitions> defs_;
};

// The transition that keeps a ticket moving (never to "Done", so the loop can go on).
const char* next_transition(const std::string& state) {
    if (state == "Open") {
        return "Start";
    }
    if (state == "Working") {
        return "Submit";
    }
    return "Rework";
}

// A child process driving random tickets through transitions; after each committed one it
// writes (record, version) to `fd`. Never returns.
[[noreturn]] void drive(const PgStoreTest& t, Node& n, const std::vector<RecordId>& ids,
                        int count, unsigned seed, int fd) {
    std::mt19937 rng(seed);
    const std::uint32_t stage = n.engine->definitions()->modules[0].find_field("stage");
    for (int k = 0; k < count; ++k) {
        const RecordId id = ids[rng() % ids.size()];
        engine::Record r;
        if (!n.store->read_record(id, r)) {
            ::_exit(3);
        }
        engine::TransitionCall call;
        call.record = id;
        call.name = next_transition(r.fields[stage].s);
        call.user = n.engine->definitions()->find_user("ann");
        auto res = n.engine->transition(call);
        if (res) {
            const std::int64_t msg[2] = {id, res->version};
            if (::write(fd, msg, sizeof msg) != static_cast<ssize_t>(sizeof msg)) {
                ::_exit(4);
            }
        } else if (res.error().code != ErrorCode::Conflict &&
                   res.error().code != ErrorCode::NoSuchTransition) {
            ::_exit(5);
        }
    }
    (void)t;
    ::_exit(0);
}

std::vector<std::pair<RecordId, std::int64_t>> read_reports(int fd,
                                                            std::size_t at_most = SIZE_MAX) {
    std::vector<std::pair<RecordId, std::int64_t>> out;
    std::int64_t msg[2];
    while (out.size() < at_most) {
        const ssize_t got = ::read(fd, msg, sizeof msg);
        if (got == static_cast<ssize_t>(sizeof msg)) {
            out.emplace_back(msg[0], msg[1]);
        } else if (got <= 0) {
            break;
        }
    }
    return out;
}

} // namespace

TEST_F(PgStoreTest, MigrationsRaceAtStartUp) {
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int k = 0; k < 4; ++k) {
        threads.emplace_back([&] {
            if (open(1)) {
                ++ok;
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(ok.load(), 4);
    auto c = admin();
    pqxx::nontransaction tx(*c);
    EXPECT_EQ(tx.exec("SELECT version FROM schema_version")[0][0].as<int>(),
              engine::PgStore::schema_version());
}

TEST_F(PgStoreTest, UnreachableIsStoreUnavailable) {
    auto s = engine::PgStore::open({"postgresql://postgres@127.0.0.1:1/none", 1, {}});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::StoreUnavailable) << s.error().to_string();
    auto bad = engine::PgStore::open({"mysql://x", 1, {}});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::Invalid);
}

TEST_F(PgStoreTest, ReconnectsAfterBackendsAreTerminated) {
    // This node's connections carry their own application name, so that only they are terminated
    // (other test processes share the database: ctest runs several at once).
    const std::string app = schema_;
    auto opened = engine::PgStore::open(engine::PgStoreOptions{
        url_ + (url_.find('?') == std::string::npos ? "?" : "&") + "application_name=" + app, 2,
        schema_});
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    auto n = std::make_unique<Node>();
    n->store = std::move(opened.value());
    n->engine = std::make_unique<engine::Engine>(defs_, *n->store, n->clock,
                                                 engine::EngineOptions{{"ann"}, 8});
    const RecordId id = create(*n, "before");
    ASSERT_NE(id, 0);
    for (int round = 0; round < 3; ++round) {
        {
            auto c = admin();
            pqxx::nontransaction tx(*c);
            const auto killed = tx.exec_params(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                "current_database() AND application_name = $1 AND pid <> pg_backend_pid()",
                app);
            EXPECT_GE(killed.size(), 1u);
        }
        engine::Record r;
        ASSERT_TRUE(n->store->read_record(id, r)) << n->store->last_read_error();
        engine::TransitionCall call;
        call.record = id;
        call.name = next_transition(r.fields[field("stage")].s);
        call.user = defs_->find_user("ann");
        auto res = n->engine->transition(call);
        ASSERT_TRUE(res.ok()) << res.error().to_string();
        EXPECT_TRUE(n->store->ping().ok());
    }
    expect_consistent_history(*n, {id});
}

TEST_F(PgStoreTest, VersionMismatchIsConflictAndAppliesNothing) {
    auto n = node();
    ASSERT_TRUE(n);
    const RecordId id = create(*n, "t");
    engine::Record r;
    ASSERT_TRUE(n->store->read_record(id, r));
    engine::ChangeSet cs;
    engine::RecordWrite& w = cs.writes.add();
    w.record = r;
    w.record.version = r.version + 1;
    w.expected_version = r.version + 5;
    engine::HistoryEntry& h = cs.history.add();
    h.record = id;
    h.module = r.module;
    h.kind = engine::HistoryKind::Updated;
    h.version = r.version + 1;
    auto c = n->store->commit(cs);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::Conflict);
    EXPECT_EQ(n->store->history(id).size(), 1u);
    w.expected_version = r.version;
    EXPECT_TRUE(n->store->commit(cs).ok());
    EXPECT_EQ(n->store->history(id).size(), 2u);
    // The same write again lost the race: conflict, not a lost update.
    auto again = n->store->commit(cs);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::Conflict);
}

TEST_F(PgStoreTest, ProcessesTransitionTheSameRecordsConcurrently) {
    auto n = node();
    ASSERT_TRUE(n);
    std::vector<RecordId> ids;
    for (int k = 0; k < 6; ++k) {
        ids.push_back(create(*n, fmt::format("ticket {}", k)));
    }
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    constexpr int children = 4;
    constexpr int per_child = 60;
    std::vector<pid_t> pids;
    for (int c = 0; c < children; ++c) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(fds[0]);
            auto mine = node(2);
            if (!mine) {
                ::_exit(2);
            }
            drive(*this, *mine, ids, per_child, 1000u + static_cast<unsigned>(c), fds[1]);
        }
        pids.push_back(pid);
    }
    ::close(fds[1]);
    const auto reports = read_reports(fds[0]);
    ::close(fds[0]);
    for (pid_t pid : pids) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    }
    std::int64_t transitions = 0;
    expect_consistent_history(*n, ids, &transitions);
    // Every committed transition is in the history exactly once, at the version reported.
    EXPECT_EQ(transitions, static_cast<std::int64_t>(reports.size()));
    std::set<std::pair<RecordId, std::int64_t>> seen(reports.begin(), reports.end());
    EXPECT_EQ(seen.size(), reports.size()) << "a version was committed twice";
    EXPECT_GT(reports.size(), static_cast<std::size_t>(children * per_child / 2));
}

TEST_F(PgStoreTest, KilledProcessLosesNothingCommittedAndHalfAppliesNothing) {
    auto n = node();
    ASSERT_TRUE(n);
    std::vector<RecordId> ids;
    for (int k = 0; k < 4; ++k) {
        ids.push_back(create(*n, fmt::format("ticket {}", k)));
    }
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::vector<pid_t> pids;
    for (int c = 0; c < 3; ++c) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(fds[0]);
            auto mine = node(1);
            if (!mine) {
                ::_exit(2);
            }
            drive(*this, *mine, ids, 1'000'000, 2000u + static_cast<unsigned>(c), fds[1]);
        }
        pids.push_back(pid);
    }
    ::close(fds[1]);
    // Let them commit a while, then kill every one in the middle of whatever it was doing.
    auto reports = read_reports(fds[0], 60);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (pid_t pid : pids) {
        ::kill(pid, SIGKILL);
    }
    for (pid_t pid : pids) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    }
    for (const auto& r : read_reports(fds[0])) {
        reports.push_back(r);
    }
    ::close(fds[0]);
    ASSERT_GE(reports.size(), 60u);
    // No half-applied transition: every record's row and history agree.
    std::int64_t transitions = 0;
    expect_consistent_history(*n, ids, &transitions);
    // No lost one: everything reported committed is there (one more may have committed unreported).
    std::map<RecordId, std::int64_t> version;
    for (RecordId id : ids) {
        engine::Record r;
        ASSERT_TRUE(n->store->read_record(id, r));
        version[id] = r.version;
    }
    for (const auto& [id, v] : reports) {
        EXPECT_LE(v, version[id]) << "record " << id << " lost version " << v;
    }
    EXPECT_GE(transitions, static_cast<std::int64_t>(reports.size()));
    EXPECT_LE(transitions, static_cast<std::int64_t>(reports.size()) + 3);
    // The database is usable afterwards (no lock left behind by the killed sessions).
    engine::Record r;
    ASSERT_TRUE(n->store->read_record(ids[0], r));
    engine::TransitionCall call;
    call.record = ids[0];
    call.name = next_transition(r.fields[field("stage")].s);
    call.user = defs_->find_user("ann");
    EXPECT_TRUE(n->engine->transition(call).ok());
}

TEST_F(PgStoreTest, TwoNodesFireEachDueTimerOnce) {
    auto n = node();
    ASSERT_TRUE(n);
    std::vector<RecordId> ids;
    for (int k = 0; k < 40; ++k) {
        ids.push_back(create(*n, fmt::format("ticket {}", k)));
    }
    ASSERT_EQ(n->store->due_timers(n->clock.now() + 2 * 86'400, 1000).size(), ids.size());
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::vector<pid_t> pids;
    for (int c = 0; c < 2; ++c) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(fds[0]);
            auto mine = node(2);
            if (!mine) {
                ::_exit(2);
            }
            mine->clock.advance(2 * 86'400);
            std::int64_t fired = 0;
            for (std::size_t got = 1; got > 0;) {
                got = mine->engine->fire_due_timers(4);
                fired += static_cast<std::int64_t>(got);
            }
            const std::int64_t msg[2] = {0, fired};
            ::_exit(::write(fds[1], msg, sizeof msg) == static_cast<ssize_t>(sizeof msg) ? 0 : 4);
        }
        pids.push_back(pid);
    }
    ::close(fds[1]);
    const auto reports = read_reports(fds[0]);
    ::close(fds[0]);
    for (pid_t pid : pids) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    }
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_EQ(reports[0].second + reports[1].second, static_cast<std::int64_t>(ids.size()));
    for (RecordId id : ids) {
        const auto h = n->store->history(id);
        ASSERT_EQ(h.size(), 2u) << "record " << id;
        EXPECT_EQ(h[1].kind, engine::HistoryKind::Automatic);
        EXPECT_EQ(h[1].name, "Expire");
        EXPECT_TRUE(n->store->timers_of(id).empty());
    }
}

TEST_F(PgStoreTest, CursorsMovedByManyNodesNeverRepeatATurn) {
    constexpr int threads = 4;
    constexpr int per_thread = 25;
    std::vector<std::unique_ptr<Node>> nodes;
    for (int k = 0; k < threads; ++k) {
        nodes.push_back(node(1));
        ASSERT_TRUE(nodes.back());
    }
    std::mutex mu;
    std::vector<std::int64_t> turns;
    std::vector<std::thread> ts;
    for (int k = 0; k < threads; ++k) {
        ts.emplace_back([&, k] {
            engine::Store& s = *nodes[static_cast<std::size_t>(k)]->store;
            for (int got = 0; got < per_thread;) {
                const std::int64_t at = s.cursor("Support.round");
                engine::ChangeSet cs;
                engine::CursorUpdate& c = cs.cursors.add();
                c.key = "Support.round";
                c.expected = at;
                c.value = at + 1;
                auto r = s.commit(cs);
                if (r) {
                    std::lock_guard lock(mu);
                    turns.push_back(at);
                    ++got;
                } else if (r.error().code != ErrorCode::Conflict) {
                    ADD_FAILURE() << r.error().to_string();
                    return;
                }
            }
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    std::set<std::int64_t> distinct(turns.begin(), turns.end());
    EXPECT_EQ(distinct.size(), turns.size());
    EXPECT_EQ(nodes[0]->store->cursor("Support.round"), threads * per_thread);
}

TEST_F(PgStoreTest, ConcurrentUniqueClaimsLetOneWin) {
    auto a = node(1);
    auto b = node(1);
    ASSERT_TRUE(a && b);
    const std::uint32_t code = field("code");
    for (int round = 0; round < 10; ++round) {
        const std::string value = fmt::format("T-{}", round);
        std::atomic<int> won{0};
        std::atomic<int> refused{0};
        const auto attempt = [&](Node& n) {
            auto r = n.engine->create(tickets(), defs_->find_user("ann"),
                                      {{field("title"), engine::Value::text("x")},
                                       {code, engine::Value::text(value)}});
            if (r) {
                ++won;
            } else if (r.error().code == ErrorCode::NotUnique) {
                ++refused;
            } else {
                ADD_FAILURE() << r.error().to_string();
            }
        };
        std::thread ta([&] { attempt(*a); });
        std::thread tb([&] { attempt(*b); });
        ta.join();
        tb.join();
        EXPECT_EQ(won.load(), 1);
        EXPECT_EQ(refused.load(), 1);
    }
}

TEST_F(PgStoreTest, RowsAreKeyedByNames) {
    auto n = node();
    ASSERT_TRUE(n);
    const RecordId id = create(*n, "named");
    auto c = admin();
    pqxx::nontransaction tx(*c);
    const auto r = tx.exec("SELECT module, owner, state, fields ->> 'title' FROM records "
                           "WHERE id = " + std::to_string(id));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_STREQ(r[0][0].c_str(), "Tickets");
    EXPECT_STREQ(r[0][1].c_str(), "ann");
    EXPECT_STREQ(r[0][2].c_str(), "Open");
    EXPECT_STREQ(r[0][3].c_str(), "named");
    const auto t =
        tx.exec("SELECT blueprint, what FROM timers WHERE record = " + std::to_string(id));
    ASSERT_EQ(t.size(), 1u);
    EXPECT_STREQ(t[0][0].c_str(), "Flow");
    EXPECT_STREQ(t[0][1].c_str(), "Expire");
}

} // namespace teamflow::testing
