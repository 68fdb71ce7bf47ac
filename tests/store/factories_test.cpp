// The store factories and the conformance fixture (no tests of its own).

#include "store_fixture.hpp"
#include "teamflow/engine/memory_store.hpp"
#include "teamflow/engine/sqlite_store.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace teamflow::testing {

// Replaced by the PostgreSQL store's tests (a strong definition of the same function).
__attribute__((weak)) engine::Result<std::unique_ptr<engine::Store>>
make_pg_store(const std::string& url, bool fresh) {
    (void)url;
    (void)fresh;
    return engine::make_error(engine::ErrorCode::StoreUnavailable,
                              "the PostgreSQL store is not built into this test binary");
}

namespace {

std::string temp_path() {
    static std::atomic<int> n{0};
    return fmt::format("{}/teamflow-store-{}-{}.db", ::testing::TempDir(), ::getpid(), n++);
}

const char* env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
}

} // namespace

std::vector<StoreFactory> store_factories() {
    std::vector<StoreFactory> out;
    StoreFactory memory;
    memory.name = "memory";
    memory.open = [](std::string& location) -> engine::Result<std::unique_ptr<engine::Store>> {
        location.clear();
        return std::unique_ptr<engine::Store>(std::make_unique<engine::MemoryStore>());
    };
    memory.reopen = [](const std::string&) -> engine::Result<std::unique_ptr<engine::Store>> {
        return engine::make_error(engine::ErrorCode::Invalid, "the memory store is not durable");
    };
    memory.unavailable = [] { return std::string(); };
    out.push_back(std::move(memory));

    StoreFactory sqlite;
    sqlite.name = "sqlite";
    sqlite.durable = true;
    sqlite.reopen =
        [](const std::string& location) -> engine::Result<std::unique_ptr<engine::Store>> {
        auto s = engine::SqliteStore::open("sqlite://" + location);
        if (!s) {
            return std::move(s.error());
        }
        return std::unique_ptr<engine::Store>(std::move(s.value()));
    };
    sqlite.open = [reopen = sqlite.reopen](std::string& location) {
        location = temp_path();
        return reopen(location);
    };
    sqlite.unavailable = [] { return std::string(); };
    out.push_back(std::move(sqlite));

    StoreFactory pg;
    pg.name = "postgresql";
    pg.durable = true;
    pg.open = [](std::string& location) {
        location = env("TEAMFLOW_TEST_PG_URL") != nullptr ? env("TEAMFLOW_TEST_PG_URL") : "";
        return make_pg_store(location, true);
    };
    pg.reopen = [](const std::string& location) { return make_pg_store(location, false); };
    pg.unavailable = []() -> std::string {
        return env("TEAMFLOW_TEST_PG_URL") == nullptr ? "TEAMFLOW_TEST_PG_URL is not set" : "";
    };
    out.push_back(std::move(pg));
    return out;
}

void discard_store(const StoreFactory& factory, const std::string& location) {
    if (factory.name != "sqlite" || location.empty()) {
        return;
    }
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::remove((location + suffix).c_str());
    }
}

std::vector<std::pair<std::string, std::string>> conformance_files() {
    return {{"conformance.flow", R"flow(
role Manager

user ann { name "Ann" roles Manager }
user bob { name "Bob" }
user cid { name "Cid" }

module Accounts {
  field name: text required unique
  field city: text
}

module Deals {
  field name: text required
  field account: lookup Accounts
  field amount: currency required
  field closes: date
  field stage: picklist ["Open", "Review", "Won", "Lost"] default "Open"
  field note: text
  field reviewer: user
}

teamspace Ops {
  members bob, cid
  admins ann
  modules Deals

  module Tickets {
    field title: text required
    field status: picklist ["New", "Done"] default "New"
    accepts requests from Ops {
      fields title
    }
    route requests {
      otherwise assign round robin members
    }
  }

  module Jobs {
    field title: text required
    field status: picklist ["New", "Done"] default "New"
    accepts requests from Ops {
      fields title
    }
    route requests {
      otherwise assign least loaded members
    }
  }
}

blueprint Pipeline on Deals.stage {
  transition Submit from "Open" to "Review" {
    by owner
    then notify owner "Deal {name} submitted"
    then webhook "http://127.0.0.1:9/hook"
  }
  transition Reopen from "Review" to "Open" {
    by owner
  }
  transition Win from "Review" to "Won" {
    by owner
  }
  transition Lose from any to "Lost" {
    by owner
  }
  transition Expire from "Review" to "Lost" after 2d {
    when amount > 0
  }
  sla "Review" within 1d {
    then notify role Manager "{name} is late"
  }
}

blueprint JobFlow on Jobs.status {
  transition Finish from "New" to "Done" {
    by assignee
  }
}
)flow"}};
}

std::shared_ptr<const engine::Definitions>
compile_files(const std::vector<std::pair<std::string, std::string>>& files,
              std::int64_t version) {
    engine::DefinitionsVersion v;
    v.version = version;
    v.files = files;
    auto d = engine::compile_version(v);
    EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().to_string());
    return d.ok() ? d.value() : nullptr;
}

void StoreTest::SetUp() {
    const StoreFactory& f = GetParam();
    const std::string why = f.unavailable();
    if (!why.empty()) {
        if (env("CI") != nullptr) {
            FAIL() << f.name << " store required in CI: " << why;
        }
        GTEST_SKIP() << f.name << ": " << why;
    }
    auto s = f.open(location_);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    store_ = std::move(s.value());
    start_engine();
}

void StoreTest::TearDown() {
    engine_.reset();
    store_.reset();
    discard_store(GetParam(), location_);
}

void StoreTest::start_engine(std::shared_ptr<const engine::Definitions> defs) {
    if (!defs) {
        defs = compile_files(conformance_files());
        ASSERT_TRUE(defs);
    }
    defs_ = defs;
    engine_ = std::make_unique<engine::Engine>(defs_, *store_, clock_,
                                               engine::EngineOptions{{"ann"}, 50});
}

void StoreTest::reopen() {
    auto defs = engine_->definitions();
    engine_.reset();
    store_.reset();
    auto s = GetParam().reopen(location_);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    store_ = std::move(s.value());
    start_engine(defs);
}

engine::RecordId StoreTest::account(const std::string& name) {
    const std::uint32_t m = module("Accounts");
    auto r = engine_->create(m, user("ann"), {{field(m, "name"), engine::Value::text(name)}});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
    return r.ok() ? r->id : 0;
}

engine::RecordId StoreTest::deal(const std::string& name, const char* amount,
                                 const std::string& who) {
    const std::uint32_t m = module("Deals");
    auto r = engine_->create(
        m, user(who),
        {{field(m, "name"), engine::Value::text(name)},
         {field(m, "amount"), engine::Value::number_scaled(*engine::parse_decimal(amount))}});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
    return r.ok() ? r->id : 0;
}

engine::Result<engine::TransitionOutcome> StoreTest::go(engine::RecordId id,
                                                        const std::string& name,
                                                        const std::string& who) {
    engine::TransitionCall call;
    call.record = id;
    call.name = name;
    call.user = user(who);
    return engine_->transition(call);
}

engine::Record StoreTest::rec(engine::RecordId id) {
    engine::Record r;
    EXPECT_TRUE(store_->read_record(id, r)) << "no record " << id;
    return r;
}

std::string StoreTest::text(engine::RecordId id, const std::string& f) {
    const engine::Record r = rec(id);
    const std::uint32_t k = defs_->modules[r.module].find_field(f);
    if (k >= r.fields.size()) {
        return "<no field>";
    }
    return engine::format_value(r.fields[k].view(), defs_->user_ids);
}

} // namespace teamflow::testing
