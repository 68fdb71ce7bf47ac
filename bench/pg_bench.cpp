// `teamflow-bench pg`: the engine on the PostgreSQL store against pgbench on the same database.
// For each concurrency (1, 8, 32 by default), in the same run:
//  (a) pgbench runs a custom script with the SQL one transition issues (the record's UPDATE, a
//      history INSERT, an outbox INSERT, in one transaction) on the engine's own tables, for a
//      fixed time, with prepared statements;
//  (b) the engine runs the DealPipeline lifecycle (create a deal, Qualify, Ask discount, both
//      approvals, Win) on as many threads, through one PgStore with a pool of that size.
// The two take turns `--rounds` times (default 3) per concurrency, so that a load coming and going
// on a shared machine weighs on both. One JSON line per concurrency: the mean pgbench tps, engine
// commits/s (every create and transition is one commit) and transitions/s, and the median of the
// rounds' ratios of engine commits/s to pgbench tps (with every round's ratio).

#include "bench.hpp"

#include "teamflow/dsl/frontend.hpp"
#include "teamflow/engine/engine.hpp"
#include "teamflow/engine/pg_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace teamflow;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* pgbench_path = "/usr/lib/postgresql/15/bin/pgbench";
constexpr const char* psql_path = "/usr/lib/postgresql/15/bin/psql";

std::vector<int> parse_list(const char* s) {
    std::vector<int> out;
    while (*s != '\0') {
        char* end = nullptr;
        const long v = std::strtol(s, &end, 10);
        if (end == s || v <= 0) {
            return {};
        }
        out.push_back(static_cast<int>(v));
        s = *end == ',' ? end + 1 : end;
    }
    return out;
}

// Runs a shell command; its standard output.
std::string run_command(const std::string& command, int& status) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) {
        status = -1;
        return out;
    }
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
        out.append(buf, n);
    }
    status = ::pclose(p);
    return out;
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    out += '\'';
    return out;
}

// The lifecycle's fixed inputs.
struct Lifecycle {
    std::uint32_t deals = 0;
    std::vector<engine::FieldAssign> deal_fields;
    std::vector<engine::TransitionCall> steps;
    engine::UserId owner = engine::no_user;
};

struct EngineFigures {
    double seconds = 0;
    long commits = 0;
    long transitions = 0;
    long errors = 0;
    std::string first_error;
};

EngineFigures run_engine(engine::Engine& eng, const Lifecycle& life, int threads, double seconds) {
    std::atomic<bool> stop{false};
    std::atomic<long> commits{0};
    std::atomic<long> transitions{0};
    std::atomic<long> errors{0};
    std::string first_error;
    std::atomic<bool> have_error{false};
    const auto note = [&](const engine::Error& e) {
        ++errors;
        if (!have_error.exchange(true)) {
            first_error = e.to_string();
        }
    };
    std::vector<std::thread> pool;
    const auto t0 = SteadyClock::now();
    for (int k = 0; k < threads; ++k) {
        pool.emplace_back([&] {
            long c = 0;
            long t = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                auto deal = eng.create(life.deals, life.owner, life.deal_fields);
                if (!deal) {
                    note(deal.error());
                    continue;
                }
                ++c;
                for (engine::TransitionCall call : life.steps) {
                    call.record = deal->id;
                    auto r = eng.transition(call);
                    if (!r) {
                        note(r.error());
                        break;
                    }
                    ++c;
                    ++t;
                }
            }
            commits += c;
            transitions += t;
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& th : pool) {
        th.join();
    }
    EngineFigures f;
    f.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    f.commits = commits;
    f.transitions = transitions;
    f.errors = errors;
    f.first_error = first_error;
    return f;
}

} // namespace

int run_pg_bench(int argc, char** argv) {
    const char* env_url = std::getenv("TEAMFLOW_TEST_PG_URL");
    std::string url = env_url != nullptr ? env_url : "";
    double seconds = 10;
    int rounds = 3;
    long commit_batches = 4;
    std::vector<int> clients{1, 8, 32};
    std::string schema = "teamflow_bench";
    std::string dir = std::string(TEAMFLOW_SOURCE_DIR) + "/definitions";
    const char* usage = "usage: teamflow-bench pg [--url URL] [--seconds S] [--rounds N] [--clients 1,8,32] "
                        "[--commit-batches N] "
                        "[--schema NAME] [--definitions DIR]\n";
    for (int k = 1; k < argc; ++k) {
        const bool more = k + 1 < argc;
        if (std::strcmp(argv[k], "--url") == 0 && more) {
            url = argv[++k];
        } else if (std::strcmp(argv[k], "--seconds") == 0 && more) {
            seconds = std::atof(argv[++k]);
        } else if (std::strcmp(argv[k], "--commit-batches") == 0 && more) {
            commit_batches = std::atol(argv[++k]);
        } else if (std::strcmp(argv[k], "--rounds") == 0 && more) {
            rounds = std::atoi(argv[++k]);
        } else if (std::strcmp(argv[k], "--clients") == 0 && more) {
            clients = parse_list(argv[++k]);
        } else if (std::strcmp(argv[k], "--schema") == 0 && more) {
            schema = argv[++k];
        } else if (std::strcmp(argv[k], "--definitions") == 0 && more) {
            dir = argv[++k];
        } else {
            std::fputs(usage, stderr);
            return 2;
        }
    }
    if (url.empty() || clients.empty() || seconds < 1 || rounds < 1) {
        std::fputs("teamflow-bench pg: needs --url or TEAMFLOW_TEST_PG_URL, --seconds of at "
                   "least 1, positive --rounds and --clients\n",
                   stderr);
        return 2;
    }
    int max_clients = 1;
    for (int c : clients) {
        max_clients = std::max(max_clients, c);
    }

    dsl::LoadError error;
    auto set = dsl::load_definition_set({dir}, error);
    if (set == nullptr || !set->ok()) {
        std::fprintf(stderr, "teamflow-bench pg: the definitions do not load: %s\n",
                     error.message.c_str());
        return 1;
    }
    auto compiled = engine::compile_definitions(*set);
    if (!compiled) {
        std::fprintf(stderr, "teamflow-bench pg: %s\n", compiled.error().to_string().c_str());
        return 1;
    }
    const auto defs = compiled.value();
    const engine::Definitions& d = *defs;

    // A fresh schema for the run (pgbench's rows and the engine's share it).
    int status = 0;
    const std::string psql = fmt::format("{} -X -q -v ON_ERROR_STOP=1 {}", psql_path,
                                         shell_quote(url));
    run_command(fmt::format("{} -c {} >&2", psql,
                            shell_quote(fmt::format("DROP SCHEMA IF EXISTS \"{}\" CASCADE; "
                                                    "CREATE SCHEMA \"{}\"",
                                                    schema, schema))),
                status);
    if (status != 0) {
        std::fprintf(stderr, "teamflow-bench pg: cannot create schema %s\n", schema.c_str());
        return 1;
    }
    engine::PgStoreOptions options{url, static_cast<std::size_t>(max_clients), schema};
    options.commit_batches = static_cast<std::size_t>(std::max(0L, commit_batches));
    auto opened = engine::PgStore::open(options);
    if (!opened) {
        std::fprintf(stderr, "teamflow-bench pg: %s\n", opened.error().to_string().c_str());
        return 1;
    }
    engine::PgStore& store = *opened.value();
    engine::SystemClock clock;
    engine::Engine eng(defs, store, clock, engine::EngineOptions{{}, 8});

    Lifecycle life;
    life.deals = d.find_module("Deals");
    const std::uint32_t accounts = d.find_module("Accounts");
    life.owner = d.find_user("jeanne");
    const engine::UserId paul = d.find_user("paul");
    const engine::UserId lea = d.find_user("lea");
    if (life.deals == engine::npos32 || accounts == engine::npos32 ||
        d.blueprint_of(life.deals) == nullptr || life.owner == engine::npos32 ||
        paul == engine::npos32 || lea == engine::npos32) {
        std::fputs("teamflow-bench pg: the definitions lack DealPipeline or its users\n", stderr);
        return 1;
    }
    const engine::ModuleDef& dm = d.modules[life.deals];
    const engine::BlueprintDef& bp = *d.blueprint_of(life.deals);
    auto acct = eng.create(accounts, life.owner,
                           {{d.modules[accounts].find_field("name"), engine::Value::text("Acme")}});
    if (!acct) {
        std::fprintf(stderr, "teamflow-bench pg: %s\n", acct.error().to_string().c_str());
        return 1;
    }
    life.deal_fields = {
        {dm.find_field("name"), engine::Value::text("Big deal")},
        {dm.find_field("account"), engine::Value::record(acct->id)},
        {dm.find_field("amount"), engine::Value::integer(50000)},
        {dm.find_field("close_date"), engine::Value::date(*engine::parse_date("2030-01-01"))},
    };
    const char* names[] = {"Qualify", "Ask discount", "Finance approves", "Counsel approves",
                           "Win"};
    const engine::UserId who[] = {life.owner, life.owner, paul, lea, life.owner};
    for (std::size_t s = 0; s < 5; ++s) {
        engine::TransitionCall& c = life.steps.emplace_back();
        c.transition = bp.find_transition(names[s]);
        c.user = who[s];
        if (c.transition == engine::npos32) {
            std::fprintf(stderr, "teamflow-bench pg: DealPipeline has no \"%s\"\n", names[s]);
            return 1;
        }
    }
    life.steps[1].fields.push_back({dm.find_field("discount"), engine::Value::integer(25)});
    life.steps[3].checklist = {"Terms checked", "Liability capped"};
    life.steps[4].note = "Signed";

    // Deals for pgbench to update: made by the engine, so the rows are real ones.
    constexpr int seeded = 2000;
    engine::RecordId first = 0;
    engine::RecordId last = 0;
    for (int k = 0; k < seeded; ++k) {
        auto r = eng.create(life.deals, life.owner, life.deal_fields);
        if (!r) {
            std::fprintf(stderr, "teamflow-bench pg: %s\n", r.error().to_string().c_str());
            return 1;
        }
        first = first == 0 ? r->id : first;
        last = r->id;
    }
    engine::Record sample;
    store.read_record(first, sample);
    // The SQL of one transition, as the store issues it (the same columns and values).
    char script_path[] = "/tmp/teamflow-pgbench-XXXXXX";
    const int fd = ::mkstemp(script_path);
    if (fd < 0) {
        std::perror("teamflow-bench pg: mkstemp");
        return 1;
    }
    ::close(fd);
    {
        std::ofstream script(script_path);
        script << "\\set id random(" << first << ", " << last << ")\n"
               << "BEGIN;\n"
               << "UPDATE records SET module = 'Deals', version = version + 1, owner = 'jeanne', "
                  "created_by = 'jeanne', requester = '', assignee = '', created_at = created_at, "
                  "updated_at = updated_at + 1, governed = true, deleted = false, "
                  "state = 'Negotiation', state_version = version + 1, state_entered_at = "
                  "updated_at, parallel_done = '[]'::jsonb, fields = fields WHERE id = :id AND "
                  "version = version AND NOT EXISTS (SELECT 1 FROM definitions WHERE version > "
                  "1);\n"
               << "INSERT INTO history (record, module, kind, name, from_state, to_state, "
                  "by_user, at, version, note, reason, changes, checklist) VALUES (:id, 'Deals', "
                  "'transition', 'Qualify', 'Qualification', 'Negotiation', 'jeanne', 1767603600, "
                  "2, '', '', '[[\"probability\",10,40]]'::jsonb, '[]'::jsonb);\n"
               << "INSERT INTO outbox (kind, record, module, recipient, text, url, payload, "
                  "created_at, status, attempts, last_error) VALUES (0, :id, 'Deals', 'jeanne', "
                  "'Deal Big deal won', '', '', 1767603600, 0, 0, '');\n"
               << "END;\n";
    }

    int worst = 0;
    double worst_ratio = 1e9;
    for (int c : clients) {
        // pgbench and the engine take turns, `rounds` times: the machine is shared, and a load
        // that comes and goes then weighs on both. The ratio reported is the median round's.
        std::vector<double> ratios;
        double pgbench_sum = 0;
        double commits_sum = 0;
        double transitions_sum = 0;
        double seconds_sum = 0;
        long errors = 0;
        std::string first_error;
        for (int round = 0; round < rounds; ++round) {
            // (a) pgbench.
            const int threads = std::min(c, 2);
            const std::string cmd = fmt::format(
                "PGOPTIONS={} {} -n -M prepared -f {} -c {} -j {} -T {} {} 2>&1",
                shell_quote("-c search_path=" + schema), pgbench_path, script_path, c, threads,
                static_cast<int>(seconds + 0.5), shell_quote(url));
            const std::string out = run_command(cmd, status);
            const auto at = out.find("tps = ");
            if (status != 0 || at == std::string::npos) {
                std::fprintf(stderr, "teamflow-bench pg: pgbench failed:\n%s\n", out.c_str());
                std::remove(script_path);
                return 1;
            }
            const double pgbench_tps = std::atof(out.c_str() + at + 6);
            // (b) the engine.
            const EngineFigures f = run_engine(eng, life, c, seconds);
            const double commits_per_s = static_cast<double>(f.commits) / f.seconds;
            const double ratio = pgbench_tps > 0 ? commits_per_s / pgbench_tps : 0;
            ratios.push_back(ratio);
            pgbench_sum += pgbench_tps;
            commits_sum += commits_per_s;
            transitions_sum += static_cast<double>(f.transitions) / f.seconds;
            seconds_sum += f.seconds;
            errors += f.errors;
            if (first_error.empty() && !f.first_error.empty()) {
                first_error = ",\"first_error\":";
                engine::append_json_string(first_error, f.first_error.substr(0, 160));
            }
            if (rounds > 1) {
                fmt::print("{{\"bench\":\"pg\",\"clients\":{},\"round\":{},\"pgbench_tps\":{:.0f},"
                           "\"engine_commits_per_s\":{:.0f},\"ratio\":{:.3f}}}\n",
                           c, round + 1, pgbench_tps, commits_per_s, ratio);
                std::fflush(stdout);
            }
        }
        std::vector<double> sorted = ratios;
        std::sort(sorted.begin(), sorted.end());
        const double ratio = sorted[sorted.size() / 2];
        if (ratio < worst_ratio) {
            worst_ratio = ratio;
            worst = c;
        }
        std::string all;
        for (double r : ratios) {
            all += fmt::format("{}{:.3f}", all.empty() ? "" : ",", r);
        }
        const double n = static_cast<double>(rounds);
        fmt::print("{{\"bench\":\"pg\",\"clients\":{},\"rounds\":{},\"seconds\":{:.1f},"
                   "\"pgbench_tps\":{:.0f},\"engine_commits_per_s\":{:.0f},"
                   "\"engine_transitions_per_s\":{:.0f},\"ratio\":{:.3f},\"round_ratios\":[{}],"
                   "\"engine_errors\":{}{}}}\n",
                   c, rounds, seconds_sum / n, pgbench_sum / n, commits_sum / n,
                   transitions_sum / n, ratio, all, errors, first_error);
        std::fflush(stdout);
    }
    std::remove(script_path);
    fmt::print("{{\"bench\":\"pg\",\"summary\":true,\"worst_ratio\":{:.3f},\"worst_clients\":{},"
               "\"target\":0.9,\"met\":{}}}\n",
               worst_ratio, worst, worst_ratio >= 0.9 ? "true" : "false");
    return 0;
}
