// Several processes on one store (PostgreSQL database, or one SQLite file): each child process
// opens its own store and engine, files routed requests (ids from the database, round-robin turns
// from `take_turn`) and drives the same records through their lifecycle concurrently, so
// conflicts happen; it writes what it saw committed (record, version, transition) to a file. The
// parent then checks every committed transition is in the history exactly once, versions in the
// history are 1..n with no gap or duplicate and match the records, no id was handed out twice,
// and the round-robin turns were dealt exactly.
// PostgreSQL needs TEAMFLOW_TEST_PG_URL (skipped without it, or failed when CI is set).

#include "teamflow/engine/engine.hpp"
#include "teamflow/engine/pg_store.hpp"
#include "teamflow/engine/sqlite_store.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>
#include <sys/wait.h>
#include <unistd.h>

namespace teamflow::testing {

namespace {

using engine::ErrorCode;
using engine::RecordId;

constexpr const char* flow = R"flow(
role Manager

user ann { name "Ann" roles Manager }
user bob { name "Bob" }
user cid { name "Cid" }

teamspace Ops {
  members bob, cid
  admins ann

  module Tickets {
    field title: text required
    field stage: picklist ["Open", "Working", "Review", "Done"] default "Open"
    field note: text
    accepts requests from Ops {
      fields title
    }
    route requests {
      otherwise assign round robin members
    }
  }
}

blueprint Flow on Tickets.stage {
  transition Start from "Open" to "Working" { by role Manager }
  transition Submit from "Working" to "Review" {
    by role Manager
    then set note = "submitted"
    then notify requester "{title} is in review"
  }
  transition Rework from "Review" to "Working" { by role Manager }
  transition Finish from "Review" to "Done" { by role Manager }
  transition Reopen from "Done" to "Open" { by role Manager }
}
)flow";

std::shared_ptr<const engine::Definitions> defs() {
    engine::DefinitionsVersion v;
    v.version = 1;
    v.files = {{"multi.flow", flow}};
    auto d = engine::compile_version(v);
    EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().to_string());
    return d.ok() ? d.value() : nullptr;
}

// The transitions out of each stage (a random one is taken).
std::vector<std::string> next_of(std::string_view stage) {
    if (stage == "Open") {
        return {"Start"};
    }
    if (stage == "Working") {
        return {"Submit"};
    }
    if (stage == "Review") {
        return {"Rework", "Finish"};
    }
    return {"Reopen"};
}

struct Kind {
    std::string name; ///< `postgresql`, `sqlite`
};

void PrintTo(const Kind& k, std::ostream* os) { *os << k.name; }

class MultiProcess : public ::testing::TestWithParam<Kind> {
protected:
    void SetUp() override {
        defs_ = defs();
        ASSERT_TRUE(defs_);
        if (GetParam().name == "postgresql") {
            const char* url = std::getenv("TEAMFLOW_TEST_PG_URL");
            if (url == nullptr || *url == '\0') {
                if (std::getenv("CI") != nullptr) {
                    FAIL() << "the PostgreSQL store is required in CI: TEAMFLOW_TEST_PG_URL is "
                              "not set";
                }
                GTEST_SKIP() << "TEAMFLOW_TEST_PG_URL is not set (tools/pg-test-server)";
            }
            url_ = url;
            schema_ = fmt::format("teamflow_multi_{}", ::getpid());
            pqxx::connection c(url_);
            pqxx::nontransaction tx(c);
            tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(schema_) + " CASCADE");
            tx.exec("CREATE SCHEMA " + tx.quote_name(schema_));
        } else {
            char dir[] = "/tmp/teamflow-multi-XXXXXX";
            ASSERT_NE(::mkdtemp(dir), nullptr);
            dir_ = dir;
            url_ = "sqlite://" + dir_ + "/store.db";
        }
        char out[] = "/tmp/teamflow-multi-out-XXXXXX";
        ASSERT_NE(::mkdtemp(out), nullptr);
        out_dir_ = out;
    }

    void TearDown() override {
        if (!schema_.empty()) {
            try {
                pqxx::connection c(url_);
                pqxx::nontransaction tx(c);
                tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(schema_) + " CASCADE");
            } catch (const std::exception&) {
                // the server is gone: nothing to clean
            }
        }
        if (!dir_.empty()) {
            std::system(("rm -rf '" + dir_ + "'").c_str());
        }
        if (!out_dir_.empty()) {
            std::system(("rm -rf '" + out_dir_ + "'").c_str());
        }
    }

    engine::Result<std::unique_ptr<engine::Store>> open_store() const {
        if (!schema_.empty()) {
            return engine::make_pg_store(url_, 2, schema_);
        }
        auto s = engine::SqliteStore::open(url_, engine::SqliteOptions{2, 30000});
        if (!s) {
            return std::move(s.error());
        }
        return std::unique_ptr<engine::Store>(std::move(s.value()));
    }

    // One child: `iterations` operations on the shared records, each committed one written to
    // `path` as `T id version transition` or `C id` (a filed request), a lost race as `X id`; other refusals other than
    // conflicts as `E text`.
    [[noreturn]] void child(const std::vector<RecordId>& ids, int iterations, unsigned seed,
                            const std::string& path, int start_fd) const {
        FILE* out = std::fopen(path.c_str(), "w");
        if (out == nullptr) {
            ::_exit(3);
        }
        auto s = open_store();
        if (!s) {
            std::fprintf(out, "E open: %s\n", s.error().to_string().c_str());
            std::fclose(out);
            ::_exit(4);
        }
        engine::Store& store = *s.value();
        engine::TestClock clock;
        engine::Engine eng(defs_, store, clock, engine::EngineOptions{{"ann"}, 0});
        // Every child starts when the parent closes the pipe, so that they really overlap.
        char go = 0;
        while (::read(start_fd, &go, 1) > 0) {
        }
        ::close(start_fd);
        const engine::Definitions& d = *defs_;
        const std::uint32_t tickets = d.find_module("Tickets");
        const std::uint32_t stage = d.modules[tickets].find_field("stage");
        const std::uint32_t title = d.modules[tickets].find_field("title");
        const engine::UserId ann = d.find_user("ann");
        const engine::UserId bob = d.find_user("bob");
        std::mt19937 rng(seed);
        for (int k = 0; k < iterations; ++k) {
            if (rng() % 5 == 0) {
                auto r = eng.file_request(d.find_teamspace("Ops"), tickets, bob,
                                          {{title, engine::Value::text(fmt::format("req {}", k))}});
                if (r) {
                    std::fprintf(out, "C %lld\n", static_cast<long long>(r->id));
                } else {
                    std::fprintf(out, "E request: %s\n", r.error().to_string().c_str());
                }
                continue;
            }
            const RecordId id = ids[rng() % ids.size()];
            engine::Record rec;
            if (!store.read_record(id, rec)) {
                std::fprintf(out, "E read %lld\n", static_cast<long long>(id));
                continue;
            }
            const auto options = next_of(rec.fields[stage].s);
            engine::TransitionCall call;
            call.record = id;
            call.name = options[rng() % options.size()];
            call.user = ann;
            call.expected_version = rec.version; // a lost race is a conflict, not a retry
            auto r = eng.transition(call);
            if (r) {
                std::fprintf(out, "T %lld %lld %s\n", static_cast<long long>(id),
                             static_cast<long long>(r->version), call.name.c_str());
            } else if (r.error().code == ErrorCode::Conflict) {
                std::fprintf(out, "X %lld\n", static_cast<long long>(id));
            } else {
                std::fprintf(out, "E transition: %s\n", r.error().to_string().c_str());
            }
        }
        std::fclose(out);
        ::_exit(0);
    }

    std::shared_ptr<const engine::Definitions> defs_;
    std::string url_;
    std::string schema_;
    std::string dir_;
    std::string out_dir_;
};

TEST_P(MultiProcess, LifecyclesFromSeveralProcessesLoseAndDuplicateNothing) {
    auto opened = open_store();
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    std::unique_ptr<engine::Store> store = std::move(opened.value());
    engine::TestClock clock;
    auto eng = std::make_unique<engine::Engine>(defs_, *store, clock,
                                                engine::EngineOptions{{"ann"}, 0});
    const engine::Definitions& d = *defs_;
    const std::uint32_t tickets = d.find_module("Tickets");
    std::vector<RecordId> ids;
    for (int k = 0; k < 5; ++k) {
        auto r = eng->create(tickets, d.find_user("ann"),
                             {{d.modules[tickets].find_field("title"),
                               engine::Value::text(fmt::format("shared {}", k))}});
        ASSERT_TRUE(r.ok()) << r.error().to_string();
        ids.push_back(r->id);
    }

    constexpr int children = 4;
    constexpr int iterations = 120;
    std::vector<pid_t> pids;
    std::vector<std::string> paths;
    int start[2];
    ASSERT_EQ(::pipe(start), 0);
    for (int c = 0; c < children; ++c) {
        paths.push_back(fmt::format("{}/child-{}.txt", out_dir_, c));
        std::fflush(nullptr);
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(start[1]);
            child(ids, iterations, 77u + static_cast<unsigned>(c), paths.back(), start[0]);
        }
        pids.push_back(pid);
    }
    ::close(start[0]);
    ::close(start[1]); // go
    for (pid_t pid : pids) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    }

    // What the children saw committed.
    std::map<RecordId, std::map<std::int64_t, std::string>> committed; // id → version → name
    std::vector<RecordId> created;
    std::size_t transitions = 0;
    std::size_t conflicts = 0;
    for (const std::string& path : paths) {
        std::ifstream in(path);
        ASSERT_TRUE(in) << path;
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream ls(line);
            std::string tag;
            ls >> tag;
            if (tag == "T") {
                long long id = 0;
                long long version = 0;
                std::string name;
                ls >> id >> version >> name;
                ++transitions;
                const bool fresh = committed[id].emplace(version, name).second;
                EXPECT_TRUE(fresh) << "record " << id << " version " << version
                                   << " reported committed twice";
            } else if (tag == "X") {
                ++conflicts;
            } else if (tag == "C") {
                long long id = 0;
                ls >> id;
                created.push_back(id);
            } else {
                ADD_FAILURE() << path << ": " << line;
            }
        }
    }
    std::printf("%zu transitions committed, %zu lost their race (conflict), %zu requests filed\n",
                transitions, conflicts, created.size());
    // Contention made some transitions lose their race, but most operations committed.
    EXPECT_GT(transitions, static_cast<std::size_t>(children * iterations / 3));
    EXPECT_GT(created.size(), 0u);

    // Every committed transition is in the history exactly once, versions 1..n match the record.
    std::size_t in_history = 0;
    for (RecordId id : ids) {
        engine::Record r;
        ASSERT_TRUE(store->read_record(id, r));
        const auto history = store->history(id);
        ASSERT_EQ(history.size(), static_cast<std::size_t>(r.version)) << "record " << id;
        for (std::size_t k = 0; k < history.size(); ++k) {
            const engine::HistoryEntry& h = history[k];
            EXPECT_EQ(h.version, static_cast<std::int64_t>(k + 1)) << "record " << id;
            if (k == 0) {
                EXPECT_EQ(h.kind, engine::HistoryKind::Created);
                continue;
            }
            EXPECT_EQ(h.kind, engine::HistoryKind::Transition);
            const auto& mine = committed[id];
            const auto it = mine.find(h.version);
            if (it == mine.end()) {
                ADD_FAILURE() << "record " << id << " version " << h.version << " (" << h.name
                              << ") is in the history but no process committed it";
                continue;
            }
            EXPECT_EQ(it->second, h.name) << "record " << id << " version " << h.version;
            ++in_history;
        }
    }
    EXPECT_EQ(in_history, transitions) << "a committed transition is missing from the history";

    // Ids from the database: none handed out twice; each request is there once, assigned in turn.
    std::set<RecordId> unique(created.begin(), created.end());
    EXPECT_EQ(unique.size(), created.size()) << "a record id was handed out twice";
    std::map<engine::UserId, int> per_user;
    for (RecordId id : created) {
        EXPECT_EQ(std::count(ids.begin(), ids.end(), id), 0);
        engine::Record r;
        ASSERT_TRUE(store->read_record(id, r)) << "request " << id;
        EXPECT_EQ(store->history(id).size(), 1u);
        ++per_user[r.assignee];
    }
    const std::string cursor = d.modules[tickets].routes[0].cursor_key;
    EXPECT_EQ(store->cursor(cursor), static_cast<std::int64_t>(created.size()));
    ASSERT_EQ(per_user.size(), std::min<std::size_t>(3, created.size()));
    int low = 1 << 30;
    int high = 0;
    for (const auto& [user, n] : per_user) {
        EXPECT_NE(user, engine::no_user);
        low = std::min(low, n);
        high = std::max(high, n);
    }
    EXPECT_LE(high - low, 1) << "round-robin turns were not dealt one each in turn";
}

TEST(SqliteShared, TwoOpeningsOfOneFileClaimEachTimerOnce) {
    // Two stores on one file (what two processes do): claims are disjoint until the lease runs
    // out, and a timer done by one is a conflict for the other.
    char dir[] = "/tmp/teamflow-claim-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    const std::string path = std::string("sqlite://") + dir + "/store.db";
    const auto d = defs();
    ASSERT_TRUE(d);
    {
        auto a = engine::SqliteStore::open(path);
        auto b = engine::SqliteStore::open(path);
        ASSERT_TRUE(a.ok() && b.ok());
        engine::TestClock clock;
        engine::Engine ea(d, *a.value(), clock);
        engine::Engine eb(d, *b.value(), clock);
        const std::uint32_t tickets = d->find_module("Tickets");
        const std::uint32_t title = d->modules[tickets].find_field("title");
        auto r1 = ea.create(tickets, d->find_user("ann"), {{title, engine::Value::text("a")}});
        auto r2 = eb.create(tickets, d->find_user("ann"), {{title, engine::Value::text("b")}});
        ASSERT_TRUE(r1.ok() && r2.ok());
        EXPECT_NE(r1->id, r2->id) << "one id from two openings";
        engine::ChangeSet cs;
        for (int k = 0; k < 10; ++k) {
            cs.timers_add.push_back(
                engine::Timer{0, r1->id, 0, engine::TimerKind::Transition, 0, 100 + k, 1});
        }
        ASSERT_TRUE(a.value()->commit(cs).ok());
        const auto first = a.value()->claim_due_timers(200, 4, 60);
        const auto second = b.value()->claim_due_timers(200, 100, 60);
        ASSERT_EQ(first.size(), 4u);
        ASSERT_EQ(second.size(), 6u);
        std::set<std::int64_t> ids;
        for (const auto& t : first) {
            ids.insert(t.id);
        }
        for (const auto& t : second) {
            ids.insert(t.id);
            EXPECT_EQ(t.record, r1->id);
        }
        EXPECT_EQ(ids.size(), 10u) << "a timer was claimed twice";
        EXPECT_TRUE(a.value()->claim_due_timers(259, 100, 60).empty());
        // The lease ran out (the claimer died): the timers come back, once.
        EXPECT_EQ(b.value()->claim_due_timers(261, 100, 60).size(), 10u);
        EXPECT_TRUE(a.value()->claim_due_timers(261, 100, 60).empty());
        engine::ChangeSet done;
        done.timers_done.push_back(first[0].id);
        ASSERT_TRUE(a.value()->commit(done).ok());
        auto again = b.value()->commit(done);
        ASSERT_FALSE(again.ok());
        EXPECT_EQ(again.error().code, ErrorCode::Conflict);
        EXPECT_EQ(b.value()->timers_of(r1->id).size(), 9u);
    }
    std::system((std::string("rm -rf '") + dir + "'").c_str());
}

TEST(SqliteShared, ASchemaOneFileMigratesAndIdsGoOnFromItsRecords) {
    // A file written by schema 1 (per-process ids from max(id) + 1, no timer lease): migration 2
    // starts the database's id counter after its records and adds the lease column.
    char dir[] = "/tmp/teamflow-migrate-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    const std::string file = std::string(dir) + "/store.db";
    const auto d = defs();
    ASSERT_TRUE(d);
    engine::RecordId last = 0;
    {
        auto s = engine::SqliteStore::open("sqlite://" + file);
        ASSERT_TRUE(s.ok()) << s.error().to_string();
        engine::TestClock clock;
        engine::Engine eng(d, *s.value(), clock);
        const std::uint32_t tickets = d->find_module("Tickets");
        for (int k = 0; k < 3; ++k) {
            auto r = eng.create(tickets, d->find_user("ann"),
                                {{d->modules[tickets].find_field("title"),
                                  engine::Value::text("old")}});
            ASSERT_TRUE(r.ok());
            last = r->id;
        }
    }
    {
        // Back to schema 1, as an older build left it (ids 1..3 in use, then 41 by hand).
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
        const char* down = "DROP TABLE record_ids; ALTER TABLE timers DROP COLUMN claimed_until; "
                           "ALTER TABLE outbox DROP COLUMN next_attempt_at; "
                           "ALTER TABLE outbox DROP COLUMN claimed_until; "
                           "UPDATE schema_version SET version = 1; "
                           "UPDATE records SET id = 41 WHERE id = 3; "
                           "UPDATE history SET record = 41 WHERE record = 3;";
        char* msg = nullptr;
        EXPECT_EQ(sqlite3_exec(db, down, nullptr, nullptr, &msg), SQLITE_OK) << (msg ? msg : "");
        sqlite3_free(msg);
        sqlite3_close(db);
    }
    EXPECT_EQ(last, 3);
    {
        auto s = engine::SqliteStore::open("sqlite://" + file);
        ASSERT_TRUE(s.ok()) << s.error().to_string();
        s.value()->bind(d);
        EXPECT_EQ(s.value()->allocate_id(), 42);
        EXPECT_EQ(s.value()->allocate_id(), 43);
        EXPECT_TRUE(s.value()->claim_due_timers(1000, 10, 60).empty());
        EXPECT_TRUE(s.value()->last_error().empty()) << s.value()->last_error();
    }
    std::system((std::string("rm -rf '") + dir + "'").c_str());
}

INSTANTIATE_TEST_SUITE_P(Stores, MultiProcess,
                         ::testing::Values(Kind{"postgresql"}, Kind{"sqlite"}),
                         [](const ::testing::TestParamInfo<Kind>& i) { return i.param.name; });

} // namespace

} // namespace teamflow::testing
