// `teamflow-bench engine`: the Acme DealPipeline lifecycle of the shipped definitions on the
// in-memory store, single thread: create a deal, Qualify, Ask discount (to "Discount approval"),
// both parallel approvals, Win (which files a routed request into Marketing.SalesMaterials,
// renders the webhook's JSON payload and queues a notification). Prints one JSON line with the
// transition throughput, the cost of each step and of listing the available transitions, and the
// memory held per record.
//
// Timing: records are processed in batches; each batch is created, then each step is run over the
// whole batch between two clock reads, so clock reads do not weigh on the per-step figures. Calls
// are prepared by transition index (as an HTTP handler caching the index would); a second pass
// performs the same lifecycle by transition name.

#include "bench.hpp"

#include "teamflow/dsl/frontend.hpp"
#include "teamflow/engine/engine.hpp"
#include "teamflow/engine/memory_store.hpp"

#include <fmt/format.h>

#include <malloc.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace teamflow;

constexpr std::size_t step_count = 5;
constexpr std::array<const char*, step_count> step_keys{"qualify", "ask_discount", "finance",
                                                        "counsel", "win"};
constexpr std::array<const char*, step_count> step_names{"Qualify", "Ask discount",
                                                         "Finance approves", "Counsel approves",
                                                         "Win"};

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool check(const engine::Status& s, const char* what) {
    if (!s) {
        std::fprintf(stderr, "teamflow-bench engine: %s refused: %s\n", what,
                     s.error().to_string().c_str());
    }
    return s.ok();
}

template <class T>
bool check(const engine::Result<T>& r, const char* what) {
    if (!r) {
        std::fprintf(stderr, "teamflow-bench engine: %s refused: %s\n", what,
                     r.error().to_string().c_str());
    }
    return r.ok();
}

int fail(const std::string& why) {
    std::fprintf(stderr, "teamflow-bench engine: %s\n", why.c_str());
    return 1;
}

/// Bytes in use on the heap (glibc).
std::size_t heap_in_use() { return mallinfo2().uordblks; }

struct Timings {
    long lifecycles = 0;
    double create_s = 0;
    std::array<double, step_count> step_s{};
    double transitions_s() const {
        double s = 0;
        for (double x : step_s) {
            s += x;
        }
        return s;
    }
};

} // namespace

namespace teamflow::bench {

/// Runs `records` lifecycles against `defs`; prints the JSON line. Returns an exit status.
int engine_lifecycle(std::shared_ptr<const engine::Definitions> defs, long records, long by_name,
                     long listings, long batch) {
    using engine::Value;
    const engine::Definitions& d = *defs;
    engine::MemoryStore store;
    engine::TestClock clock;
    engine::Engine eng(defs, store, clock);

    const std::uint32_t accounts = d.find_module("Accounts");
    const std::uint32_t deals = d.find_module("Deals");
    const std::uint32_t materials = d.find_module("SalesMaterials");
    if (accounts == engine::npos32 || deals == engine::npos32 || materials == engine::npos32 ||
        d.blueprint_of(deals) == nullptr) {
        return fail("the definitions lack Accounts, Deals, SalesMaterials or DealPipeline");
    }
    const engine::ModuleDef& dm = d.modules[deals];
    const engine::BlueprintDef& bp = *d.blueprint_of(deals);
    const engine::UserId jeanne = d.find_user("jeanne");
    const engine::UserId paul = d.find_user("paul");
    const engine::UserId lea = d.find_user("lea");
    if (jeanne == engine::npos32 || paul == engine::npos32 || lea == engine::npos32) {
        return fail("the definitions lack the users jeanne, paul or lea");
    }

    auto acct = eng.create(accounts, jeanne,
                           {{d.modules[accounts].find_field("name"), Value::text("Acme")}});
    if (!check(acct, "create account")) {
        return 1;
    }
    const std::vector<engine::FieldAssign> deal_fields{
        {dm.find_field("name"), Value::text("Big deal")},
        {dm.find_field("account"), Value::record(acct->id)},
        {dm.find_field("amount"), Value::integer(50000)},
        {dm.find_field("close_date"), Value::date(*engine::parse_date("2030-01-01"))},
    };
    std::array<engine::TransitionCall, step_count> calls;
    const std::array<engine::UserId, step_count> who{jeanne, jeanne, paul, lea, jeanne};
    for (std::size_t s = 0; s < step_count; ++s) {
        calls[s].transition = bp.find_transition(step_names[s]);
        calls[s].user = who[s];
        if (calls[s].transition == engine::npos32) {
            return fail(fmt::format("DealPipeline has no transition \"{}\"", step_names[s]));
        }
    }
    calls[1].fields.push_back({dm.find_field("discount"), Value::integer(25)});
    calls[3].checklist = {"Terms checked", "Liability capped"};
    calls[4].note = "Signed";

    std::vector<engine::RecordId> ids(static_cast<std::size_t>(batch));
    // One pass: `count` lifecycles in batches; `named` calls transitions by name.
    const auto run = [&](long count, bool named, Timings& t) {
        std::array<engine::TransitionCall, step_count> cs = calls;
        if (named) {
            for (std::size_t s = 0; s < step_count; ++s) {
                cs[s].transition = engine::npos32;
                cs[s].name = step_names[s];
            }
        }
        for (long done = 0; done < count;) {
            const auto n = static_cast<std::size_t>(std::min(batch, count - done));
            auto t0 = Clock::now();
            for (std::size_t k = 0; k < n; ++k) {
                auto deal = eng.create(deals, jeanne, deal_fields);
                if (!check(deal, "create deal")) {
                    return false;
                }
                ids[k] = deal->id;
            }
            t.create_s += seconds_since(t0);
            for (std::size_t s = 0; s < step_count; ++s) {
                engine::TransitionCall& call = cs[s];
                t0 = Clock::now();
                for (std::size_t k = 0; k < n; ++k) {
                    call.record = ids[k];
                    if (!check(eng.transition(call), step_names[s])) {
                        return false;
                    }
                }
                t.step_s[s] += seconds_since(t0);
            }
            done += static_cast<long>(n);
            t.lifecycles = done;
        }
        return true;
    };

    // Warm-up (buffers, thread-local scratch), not counted.
    Timings warm;
    if (!run(std::min<long>(batch, records), false, warm)) {
        return 1;
    }
    const std::size_t records_before = store.record_count();
    const std::size_t heap_before = heap_in_use();
    Timings main;
    if (!run(records, false, main)) {
        return 1;
    }
    const std::size_t heap_after = heap_in_use();
    const std::size_t records_after = store.record_count();
    const engine::RecordId last_deal = ids[static_cast<std::size_t>((records - 1) % batch)];

    // The lifecycle did what the blueprint says: the deal is won, with its history, and the
    // request was filed, routed and queued with the webhook and the notification.
    {
        auto r = eng.get(last_deal, jeanne);
        if (!check(r, "read deal")) {
            return 1;
        }
        const engine::Cell& stage = r->fields[bp.field];
        if (stage.s != "Closed won") {
            return fail("the last deal is in \"" + stage.s + "\", not \"Closed won\"");
        }
        const auto history = store.history(last_deal);
        if (history.size() != 6 || history.back().name != "Win" || history.back().note != "Signed") {
            return fail(fmt::format("the last deal has {} history entries", history.size()));
        }
        if (records_after - records_before != static_cast<std::size_t>(2 * records)) {
            return fail(fmt::format("{} records for {} lifecycles", records_after - records_before,
                                    records));
        }
        const auto material = store.list(materials, 0, SIZE_MAX);
        engine::Record req;
        if (material.empty() || !store.read_record(material.back(), req) ||
            req.assignee == engine::no_user || req.fields[d.modules[materials].find_field("deal")].i !=
                                                   last_deal) {
            return fail("the last request was not filed and routed");
        }
    }

    Timings named;
    if (by_name > 0 && !run(by_name, true, named)) {
        return 1;
    }
    const auto notified = store.notifications(jeanne).size();
    const auto expected = static_cast<std::size_t>(std::min<long>(batch, records) + records +
                                                   by_name);
    if (notified != expected) {
        return fail(fmt::format("{} notifications queued, {} expected", notified, expected));
    }

    // Listing: a fresh deal in "Qualification", listed by its owner (Qualify, Lose available).
    auto listed = eng.create(deals, jeanne, deal_fields);
    if (!check(listed, "create deal")) {
        return 1;
    }
    std::vector<engine::AvailableTransition> out;
    const auto l0 = Clock::now();
    for (long k = 0; k < listings; ++k) {
        if (!check(eng.list_transitions(listed->id, jeanne, false, out), "listing")) {
            return 1;
        }
    }
    const double list_s = seconds_since(l0);

    const std::size_t stored = store.record_count();
    const double transitions = static_cast<double>(main.lifecycles * step_count);
    const double transition_s = main.transitions_s();
    const auto per = [](double s, double n) { return n > 0 ? s * 1e9 / n : 0.0; };
    const auto lifecycles = static_cast<double>(main.lifecycles);
    std::string steps;
    for (std::size_t s = 0; s < step_count; ++s) {
        steps += fmt::format("{}\"{}\":{:.0f}", s == 0 ? "" : ",", step_keys[s],
                             per(main.step_s[s], lifecycles));
    }
    fmt::print("{{\"bench\":\"engine\",\"definitions\":\"DealPipeline\",\"records\":{},"
               "\"transitions\":{},\"seconds\":{:.3f},\"transitions_per_s\":{:.0f},"
               "\"ns_per_transition\":{:.1f},\"ns_per_create\":{:.1f},"
               "\"ns_per_transition_by_name\":{:.1f},\"list_ns\":{:.1f},\"available\":{},"
               "\"stored_records\":{},\"bytes_per_record\":{},\"history_bytes_per_record\":{},"
               "\"heap_bytes_per_lifecycle\":{},\"ns_per_step\":{{{}}}}}\n",
               main.lifecycles, main.lifecycles * static_cast<long>(step_count),
               main.create_s + transition_s, transitions / transition_s,
               per(transition_s, transitions), per(main.create_s, lifecycles),
               per(named.transitions_s(), static_cast<double>(named.lifecycles * step_count)),
               per(list_s, static_cast<double>(listings)), out.size(), stored,
               store.record_bytes() / std::max<std::size_t>(stored, 1),
               store.history_bytes() / std::max<std::size_t>(stored, 1),
               heap_after > heap_before ? (heap_after - heap_before) / static_cast<std::size_t>(
                                                                           main.lifecycles)
                                        : 0,
               steps);
    return 0;
}

} // namespace teamflow::bench

int run_engine_bench(int argc, char** argv) {
    long records = 200000;
    long by_name = -1;
    long listings = 1000000;
    long batch = 256;
    std::string dir = std::string(TEAMFLOW_SOURCE_DIR) + "/definitions";
    const char* usage = "usage: teamflow-bench engine [--records N] [--by-name N] [--listings N] "
                        "[--batch N] [--definitions DIR]\n";
    for (int k = 1; k < argc; ++k) {
        const bool more = k + 1 < argc;
        if (std::strcmp(argv[k], "--records") == 0 && more) {
            records = std::atol(argv[++k]);
        } else if (std::strcmp(argv[k], "--by-name") == 0 && more) {
            by_name = std::atol(argv[++k]);
        } else if (std::strcmp(argv[k], "--listings") == 0 && more) {
            listings = std::atol(argv[++k]);
        } else if (std::strcmp(argv[k], "--batch") == 0 && more) {
            batch = std::atol(argv[++k]);
        } else if (std::strcmp(argv[k], "--definitions") == 0 && more) {
            dir = argv[++k];
        } else {
            std::fputs(usage, stderr);
            return 2;
        }
    }
    if (by_name < 0) {
        by_name = records / 4;
    }
    if (records <= 0 || listings <= 0 || batch <= 0) {
        std::fprintf(stderr, "teamflow-bench engine: counts must be positive\n");
        return 2;
    }
    dsl::LoadError error;
    auto set = dsl::load_definition_set({dir}, error);
    if (set == nullptr) {
        std::fprintf(stderr, "teamflow-bench engine: %s\n", error.message.c_str());
        return 2;
    }
    if (!set->ok()) {
        std::fputs(
            dsl::render_diagnostics(set->sources, set->diagnostics.diagnostics(), false).c_str(),
            stderr);
        return 1;
    }
    auto defs = engine::compile_definitions(*set);
    if (!defs) {
        std::fprintf(stderr, "teamflow-bench engine: %s\n", defs.error().to_string().c_str());
        return 1;
    }
    // `set` outlives the run: the definitions point into its sources.
    return teamflow::bench::engine_lifecycle(defs.value(), records, by_name, listings, batch);
}
