// Crash safety of the SQLite store: a child process performs transitions in a loop and reports
// each one after `commit` returned; it is killed with SIGKILL at a random moment. On reopen, every
// reported transition is in the history exactly once, and no record is half-applied.

#include "store_fixture.hpp"
#include "teamflow/engine/sqlite_store.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace teamflow;
using namespace teamflow::testing;

namespace {

struct Committed {
    std::int64_t record;
    std::int64_t version;
};

/// The child: create records, then move them round Open → Review → Open… until killed.
[[noreturn]] void run_child(const std::string& path, int fd) {
    auto store = engine::SqliteStore::open("sqlite://" + path);
    if (!store) {
        std::fprintf(stderr, "child: %s\n", store.error().to_string().c_str());
        _exit(3);
    }
    auto defs = compile_files(conformance_files());
    engine::TestClock clock;
    engine::Engine eng(defs, *store.value(), clock);
    const std::uint32_t deals = defs->find_module("Deals");
    const auto& mod = defs->modules[deals];
    std::vector<engine::RecordId> ids;
    const auto report = [&](std::int64_t id, std::int64_t version) {
        const Committed c{id, version};
        if (::write(fd, &c, sizeof c) != static_cast<ssize_t>(sizeof c)) {
            _exit(4);
        }
    };
    for (int k = 0; k < 8; ++k) {
        auto r = eng.create(deals, defs->find_user("ann"),
                            {{mod.find_field("name"), engine::Value::text("crash")},
                             {mod.find_field("amount"), engine::Value::integer(k + 1)}});
        if (!r) {
            _exit(5);
        }
        ids.push_back(r->id);
        report(r->id, r->version);
    }
    for (std::uint64_t n = 0;; ++n) {
        engine::TransitionCall call;
        call.record = ids[n % ids.size()];
        call.name = (n / ids.size()) % 2 == 0 ? "Submit" : "Reopen";
        call.user = defs->find_user("ann");
        auto r = eng.transition(call);
        if (!r) {
            std::fprintf(stderr, "child: %s\n", r.error().to_string().c_str());
            _exit(6);
        }
        report(r->record, r->version);
    }
}

TEST(SqliteCrash, KilledWriterLosesNothingItReportedAndHalfAppliesNothing) {
    std::mt19937 rng(std::random_device{}());
    for (int round = 0; round < 3; ++round) {
        const std::string path =
            fmt::format("{}/teamflow-crash-{}-{}.db", ::testing::TempDir(), ::getpid(), round);
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::remove((path + suffix).c_str());
        }
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(fds[0]);
            run_child(path, fds[1]);
        }
        ::close(fds[1]);
        std::vector<Committed> committed;
        // Let it commit a few (however slow the machine: a generous deadline, not a fixed time),
        // then a while longer, then kill it mid-flight.
        const auto run_for = std::chrono::milliseconds(150 + rng() % 600);
        const auto deadline = std::chrono::steady_clock::now() + run_for;
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        Committed c{};
        while (std::chrono::steady_clock::now() < deadline ||
               (committed.size() <= 8 && std::chrono::steady_clock::now() < give_up)) {
            const ssize_t n = ::read(fds[0], &c, sizeof c);
            if (n == static_cast<ssize_t>(sizeof c)) {
                committed.push_back(c);
            } else if (n <= 0 && errno != EINTR) {
                break;
            }
        }
        ::kill(child, SIGKILL);
        while (::read(fds[0], &c, sizeof c) == static_cast<ssize_t>(sizeof c)) {
            committed.push_back(c);
        }
        ::close(fds[0]);
        int status = 0;
        ::waitpid(child, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited on its own: " << WEXITSTATUS(status);
        ASSERT_GT(committed.size(), 8u) << "the child committed too little to test anything";

        auto reopened = engine::SqliteStore::open("sqlite://" + path);
        ASSERT_TRUE(reopened.ok()) << reopened.error().to_string();
        engine::Store& store = *reopened.value();
        auto defs = compile_files(conformance_files());
        store.bind(defs);
        const std::uint32_t deals = defs->find_module("Deals");
        const auto& bp = defs->blueprints[defs->find_blueprint("Pipeline")];
        std::map<std::int64_t, std::int64_t> reported; // record → highest reported version
        for (const Committed& k : committed) {
            reported[k.record] = std::max(reported[k.record], k.version);
        }
        for (const auto& [id, version] : reported) {
            engine::Record r;
            ASSERT_TRUE(store.read_record(id, r)) << "record " << id << " lost";
            const auto history = store.history(id);
            // Every reported version is there exactly once; at most one more (committed but
            // not yet reported when the child died).
            EXPECT_GE(r.version, version);
            EXPECT_LE(r.version, version + 1);
            ASSERT_EQ(history.size(), static_cast<std::size_t>(r.version)) << "record " << id;
            std::set<std::int64_t> versions;
            for (std::size_t k = 0; k < history.size(); ++k) {
                EXPECT_EQ(history[k].version, static_cast<std::int64_t>(k + 1));
                versions.insert(history[k].version);
            }
            EXPECT_EQ(versions.size(), history.size());
            const std::int32_t state = r.fields[bp.field].aux;
            if (history.size() > 1) {
                EXPECT_EQ(history.back().to, state) << "record " << id;
            }
            // Its timers belong to its current state only.
            const bool review = bp.states[static_cast<std::size_t>(state)] == "Review";
            EXPECT_EQ(store.timers_of(id).size(), review ? 2u : 0u) << "record " << id;
        }
        EXPECT_EQ(store.list(deals, 0, 100).size(), reported.size());
        reopened.value().reset();
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::remove((path + suffix).c_str());
        }
    }
}

TEST(SqliteOpen, ANonSqliteFileIsAClearError) {
    const std::string path =
        fmt::format("{}/teamflow-junk-{}.db", ::testing::TempDir(), ::getpid());
    {
        std::FILE* f = std::fopen(path.c_str(), "wb");
        ASSERT_NE(f, nullptr);
        const std::string junk(8192, 'x');
        std::fwrite(junk.data(), 1, junk.size(), f);
        std::fclose(f);
    }
    auto s = engine::SqliteStore::open("sqlite://" + path);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, engine::ErrorCode::StoreUnavailable);
    EXPECT_NE(s.error().detail.find("not a usable teamflow database"), std::string::npos)
        << s.error().detail;
    std::remove(path.c_str());
    auto missing = engine::SqliteStore::open("sqlite:///nonexistent-dir/x/y.db");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, engine::ErrorCode::StoreUnavailable);
    auto memory = engine::SqliteStore::open("sqlite::memory:");
    ASSERT_TRUE(memory.ok()) << memory.error().to_string();
}

} // namespace
