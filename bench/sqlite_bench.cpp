// `teamflow-bench sqlite`: the DealPipeline lifecycle of the shipped definitions (Qualify, Ask
// discount, both parallel approvals, Win) through the SQLite store on a temp file, beside a plain
// loop of the same SQL each transition needs at least (one UPDATE of the record, one history
// INSERT, one outbox INSERT, in one BEGIN IMMEDIATE … COMMIT) on a file with the same pragmas
// (WAL, synchronous=FULL). The two take turns `--rounds` times (default 3). Prints one JSON line
// for each (mean rates) and one with the median round's ratio (and every round's).

#include "bench.hpp"

#include "teamflow/dsl/frontend.hpp"
#include "teamflow/engine/engine.hpp"
#include "teamflow/engine/sqlite_store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace teamflow;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

void remove_db(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::remove((path + suffix).c_str());
    }
}

/// The engine through the SQLite store; transitions per second (0 on failure).
double engine_run(const std::shared_ptr<const engine::Definitions>& defs, const std::string& path,
                  int records, std::int64_t& transitions) {
    auto opened = engine::SqliteStore::open("sqlite://" + path);
    if (!opened) {
        std::fprintf(stderr, "teamflow-bench sqlite: %s\n", opened.error().to_string().c_str());
        return 0;
    }
    engine::TestClock clock;
    engine::Engine eng(defs, *opened.value(), clock);
    const engine::Definitions& d = *defs;
    const std::uint32_t deals = d.find_module("Deals");
    const std::uint32_t accounts = d.find_module("Accounts");
    const auto& dm = d.modules[deals];
    const auto& am = d.modules[accounts];
    const engine::UserId jeanne = d.find_user("jeanne");
    auto acct =
        eng.create(accounts, jeanne, {{am.find_field("name"), engine::Value::text("Acme")}});
    if (!acct) {
        std::fprintf(stderr, "teamflow-bench sqlite: %s\n", acct.error().to_string().c_str());
        return 0;
    }
    std::vector<engine::RecordId> ids;
    for (int k = 0; k < records; ++k) {
        auto r = eng.create(
            deals, jeanne,
            {{dm.find_field("name"), engine::Value::text(fmt::format("Deal {}", k))},
             {dm.find_field("account"), engine::Value::record(acct->id)},
             {dm.find_field("amount"), engine::Value::integer(50000)},
             {dm.find_field("close_date"),
              engine::Value::date(*engine::parse_date("2030-01-01"))}});
        if (!r) {
            std::fprintf(stderr, "teamflow-bench sqlite: %s\n", r.error().to_string().c_str());
            return 0;
        }
        ids.push_back(r->id);
    }
    struct Step {
        const char* name;
        const char* user;
        std::vector<engine::FieldAssign> fields;
        std::vector<std::string> checklist;
        const char* note;
    };
    const std::vector<Step> steps{
        {"Qualify", "jeanne", {}, {}, ""},
        {"Ask discount", "jeanne",
         {{dm.find_field("discount"), engine::Value::integer(25)}}, {}, ""},
        {"Finance approves", "paul", {}, {}, ""},
        {"Counsel approves", "lea", {}, {"Terms checked", "Liability capped"}, ""},
        {"Win", "jeanne", {}, {}, "signed"},
    };
    transitions = 0;
    const auto t0 = Clock::now();
    for (engine::RecordId id : ids) {
        for (const Step& s : steps) {
            engine::TransitionCall call;
            call.record = id;
            call.name = s.name;
            call.user = d.find_user(s.user);
            call.fields = s.fields;
            call.checklist = s.checklist;
            call.note = s.note;
            auto r = eng.transition(call);
            if (!r) {
                std::fprintf(stderr, "teamflow-bench sqlite: %s refused: %s\n", s.name,
                             r.error().to_string().c_str());
                return 0;
            }
            ++transitions;
        }
    }
    return static_cast<double>(transitions) / seconds_since(t0);
}

bool exec(sqlite3* db, const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        std::fprintf(stderr, "teamflow-bench sqlite: %s\n", msg != nullptr ? msg : "?");
        sqlite3_free(msg);
        return false;
    }
    return true;
}

/// The plain loop: the same statements per transaction, prepared once; transactions per second.
double plain_run(const std::string& path, std::int64_t transactions, int records) {
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
        std::fprintf(stderr, "teamflow-bench sqlite: cannot open %s\n", path.c_str());
        sqlite3_close(db);
        return 0;
    }
    if (!exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                  "CREATE TABLE records (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, "
                  "state TEXT NOT NULL, fields TEXT NOT NULL);"
                  "CREATE TABLE history (id INTEGER PRIMARY KEY, record INTEGER NOT NULL "
                  "REFERENCES records (id), version INTEGER NOT NULL, name TEXT NOT NULL, "
                  "changes TEXT NOT NULL);"
                  "CREATE INDEX history_by_record ON history (record, id);"
                  "CREATE TABLE outbox (id INTEGER PRIMARY KEY, record INTEGER NOT NULL, "
                  "text TEXT NOT NULL, status INTEGER NOT NULL);")) {
        sqlite3_close(db);
        return 0;
    }
    const std::string fields =
        R"({"name":"Deal 1","account":1,"amount":50000,"close_date":"2030-01-01",)"
        R"("stage":"Negotiation","probability":40,"deal_type":"New business"})";
    sqlite3_stmt* insert = nullptr;
    sqlite3_stmt* update = nullptr;
    sqlite3_stmt* history = nullptr;
    sqlite3_stmt* outbox = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO records (id, version, state, fields) VALUES (?, 1, 'a', ?)",
                       -1, &insert, nullptr);
    sqlite3_prepare_v2(db, "UPDATE records SET version = ?, state = ?, fields = ? "
                           "WHERE id = ? AND version = ?", -1, &update, nullptr);
    sqlite3_prepare_v2(db, "INSERT INTO history (record, version, name, changes) "
                           "VALUES (?, ?, ?, ?)", -1, &history, nullptr);
    sqlite3_prepare_v2(db, "INSERT INTO outbox (record, text, status) VALUES (?, ?, 0)", -1,
                       &outbox, nullptr);
    exec(db, "BEGIN");
    for (int k = 1; k <= records; ++k) {
        sqlite3_bind_int64(insert, 1, k);
        sqlite3_bind_text(insert, 2, fields.data(), static_cast<int>(fields.size()),
                          SQLITE_STATIC);
        sqlite3_step(insert);
        sqlite3_reset(insert);
    }
    exec(db, "COMMIT");
    std::vector<std::int64_t> versions(static_cast<std::size_t>(records) + 1, 1);
    bool ok = true;
    const auto t0 = Clock::now();
    for (std::int64_t n = 0; n < transactions && ok; ++n) {
        const std::int64_t id = 1 + n % records;
        std::int64_t& v = versions[static_cast<std::size_t>(id)];
        ok = exec(db, "BEGIN IMMEDIATE");
        sqlite3_bind_int64(update, 1, v + 1);
        sqlite3_bind_text(update, 2, "Negotiation", -1, SQLITE_STATIC);
        sqlite3_bind_text(update, 3, fields.data(), static_cast<int>(fields.size()),
                          SQLITE_STATIC);
        sqlite3_bind_int64(update, 4, id);
        sqlite3_bind_int64(update, 5, v);
        ok = ok && sqlite3_step(update) == SQLITE_DONE && sqlite3_changes(db) == 1;
        sqlite3_reset(update);
        sqlite3_bind_int64(history, 1, id);
        sqlite3_bind_int64(history, 2, v + 1);
        sqlite3_bind_text(history, 3, "Qualify", -1, SQLITE_STATIC);
        sqlite3_bind_text(history, 4, R"([["probability",10,40]])", -1, SQLITE_STATIC);
        ok = ok && sqlite3_step(history) == SQLITE_DONE;
        sqlite3_reset(history);
        sqlite3_bind_int64(outbox, 1, id);
        sqlite3_bind_text(outbox, 2, "Deal 1 won", -1, SQLITE_STATIC);
        ok = ok && sqlite3_step(outbox) == SQLITE_DONE;
        sqlite3_reset(outbox);
        ok = ok && exec(db, "COMMIT");
        ++v;
    }
    const double rate = ok ? static_cast<double>(transactions) / seconds_since(t0) : 0;
    for (sqlite3_stmt* s : {insert, update, history, outbox}) {
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return rate;
}

} // namespace

int run_sqlite_bench(int argc, char** argv) {
    const char* usage = "usage: teamflow-bench sqlite [--records N] [--rounds N] [--dir TMPDIR] "
                        "[--definitions DIR]\n";
    int records = 200;
    int rounds = 3;
    std::string tmp = "/tmp";
    std::string dir = std::string(TEAMFLOW_SOURCE_DIR) + "/definitions";
    for (int k = 1; k < argc; ++k) {
        const bool more = k + 1 < argc;
        if (std::strcmp(argv[k], "--records") == 0 && more) {
            records = std::atoi(argv[++k]);
        } else if (std::strcmp(argv[k], "--rounds") == 0 && more) {
            rounds = std::atoi(argv[++k]);
        } else if (std::strcmp(argv[k], "--dir") == 0 && more) {
            tmp = argv[++k];
        } else if (std::strcmp(argv[k], "--definitions") == 0 && more) {
            dir = argv[++k];
        } else {
            std::fputs(usage, stderr);
            return 2;
        }
    }
    if (records <= 0 || rounds <= 0) {
        std::fputs(usage, stderr);
        return 2;
    }
    dsl::LoadError error;
    auto set = dsl::load_definition_set({dir}, error);
    if (set == nullptr || !set->ok()) {
        std::fprintf(stderr, "teamflow-bench sqlite: cannot load %s %s\n", dir.c_str(),
                     error.message.c_str());
        return 1;
    }
    auto defs = engine::compile_definitions(*set);
    if (!defs) {
        std::fprintf(stderr, "teamflow-bench sqlite: %s\n", defs.error().to_string().c_str());
        return 1;
    }
    const std::string engine_path = fmt::format("{}/teamflow-bench-{}-engine.db", tmp, ::getpid());
    const std::string plain_path = fmt::format("{}/teamflow-bench-{}-plain.db", tmp, ::getpid());
    // The engine and the plain loop take turns `rounds` times (a shared machine's disk load comes
    // and goes); the figures are the means, the ratio the median round's.
    std::int64_t transitions = 0;
    double engine_sum = 0;
    double plain_sum = 0;
    std::vector<double> ratios;
    for (int round = 0; round < rounds; ++round) {
        remove_db(engine_path);
        remove_db(plain_path);
        const double e = engine_run(defs.value(), engine_path, records, transitions);
        const double p = e > 0 ? plain_run(plain_path, transitions, records) : 0;
        remove_db(engine_path);
        remove_db(plain_path);
        if (e <= 0 || p <= 0) {
            return 1;
        }
        engine_sum += e;
        plain_sum += p;
        ratios.push_back(e / p);
    }
    const double engine_rate = engine_sum / rounds;
    const double plain_rate = plain_sum / rounds;
    std::string all;
    for (double r : ratios) {
        all += fmt::format("{}{:.3f}", all.empty() ? "" : ",", r);
    }
    std::sort(ratios.begin(), ratios.end());
    const double ratio = ratios[ratios.size() / 2];
    fmt::print("{{\"bench\":\"sqlite\",\"run\":\"engine\",\"definitions\":\"DealPipeline\","
               "\"records\":{},\"transitions\":{},\"transitions_per_s\":{:.1f},"
               "\"us_per_transition\":{:.1f}}}\n",
               records, transitions, engine_rate, 1e6 / engine_rate);
    fmt::print("{{\"bench\":\"sqlite\",\"run\":\"plain_sql\",\"transactions\":{},"
               "\"transactions_per_s\":{:.1f},\"us_per_transaction\":{:.1f}}}\n",
               transitions, plain_rate, 1e6 / plain_rate);
    fmt::print("{{\"bench\":\"sqlite\",\"run\":\"ratio\",\"engine_over_plain\":{:.3f},"
               "\"rounds\":{},\"round_ratios\":[{}],"
               "\"pragmas\":\"journal_mode=WAL,synchronous=FULL\",\"dir\":\"{}\"}}\n",
               ratio, rounds, all, tmp);
    return 0;
}
