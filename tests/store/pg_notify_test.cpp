// PostgreSQL publish notices: a publish committed through one store (node) is announced to the
// listeners of every store on the same schema, and only of that schema; a node still on older
// definitions cannot overwrite records with them. Needs
// TEAMFLOW_TEST_PG_URL (skipped without it, failed when CI is set).

#include "teamflow/engine/clock.hpp"
#include "teamflow/engine/definitions.hpp"
#include "teamflow/engine/engine.hpp"
#include "teamflow/engine/pg_store.hpp"

#include <cstdlib>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <unistd.h>

using namespace teamflow;

namespace {

class PgNotice : public ::testing::Test {
protected:
    void SetUp() override {
        const char* url = std::getenv("TEAMFLOW_TEST_PG_URL");
        if (url == nullptr || *url == '\0') {
            if (std::getenv("CI") != nullptr) {
                FAIL() << "TEAMFLOW_TEST_PG_URL is required in CI";
            }
            GTEST_SKIP() << "TEAMFLOW_TEST_PG_URL is not set";
        }
        url_ = url;
        for (const std::string& s : schemas_) {
            pqxx::connection c(url_);
            pqxx::nontransaction tx(c);
            tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(s) + " CASCADE");
            tx.exec("CREATE SCHEMA " + tx.quote_name(s));
        }
    }
    void TearDown() override {
        if (url_.empty()) {
            return;
        }
        for (const std::string& s : schemas_) {
            try {
                pqxx::connection c(url_);
                pqxx::nontransaction tx(c);
                tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(s) + " CASCADE");
            } catch (const std::exception&) {
            }
        }
    }
    std::unique_ptr<engine::PgStore> open(const std::string& schema) {
        auto s = engine::PgStore::open(engine::PgStoreOptions{url_, 2, schema});
        EXPECT_TRUE(s.ok()) << s.error().to_string();
        return s.ok() ? std::move(s.value()) : nullptr;
    }

    std::string url_;
    const std::vector<std::string> schemas_ = {fmt::format("teamflow_notify_{}", ::getpid()),
                                               fmt::format("teamflow_notify_{}_b", ::getpid())};
};

TEST_F(PgNotice, APublishIsAnnouncedToTheOtherStoresOfItsSchema) {
    auto a = open(schemas_[0]);
    auto b = open(schemas_[0]);
    auto elsewhere = open(schemas_[1]);
    ASSERT_TRUE(a && b && elsewhere);
    // The first call starts listening; nothing was published yet.
    auto first = b->await_publish_notice(0);
    ASSERT_TRUE(first.ok()) << first.error().to_string();
    EXPECT_FALSE(*first);
    ASSERT_TRUE(elsewhere->await_publish_notice(0).ok());
    EXPECT_EQ(b->latest_definitions_version(), 0);

    engine::ChangeSet cs;
    engine::DefinitionsVersion& v = cs.publish.emplace();
    v.version = 1;
    v.files = {{"notes.flow", "module Notes {\n  field text: text required\n}\n"}};
    v.published_by = "system";
    auto defs = engine::compile_version(v);
    ASSERT_TRUE(defs.ok()) << defs.error().to_string();
    cs.publish_defs = defs.value();
    ASSERT_TRUE(a->commit(cs).ok());

    bool noticed = false;
    for (int k = 0; k < 60 && !noticed; ++k) { // up to a minute, usually at once
        auto r = b->await_publish_notice(1000);
        ASSERT_TRUE(r.ok()) << r.error().to_string();
        noticed = *r;
    }
    EXPECT_TRUE(noticed);
    EXPECT_EQ(b->latest_definitions_version(), 1);
    // Another schema on the same database hears the channel but not this schema's publish.
    auto other = elsewhere->await_publish_notice(200);
    ASSERT_TRUE(other.ok()) << other.error().to_string();
    EXPECT_FALSE(*other);
    EXPECT_EQ(elsewhere->latest_definitions_version(), 0);

    // A refused publish (not the next version) announces nothing.
    engine::ChangeSet again;
    again.publish = v; // version 1 again
    again.publish_defs = defs.value();
    auto refused = a->commit(again);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, engine::ErrorCode::Conflict);
    auto none = b->await_publish_notice(200);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(*none);
}

TEST_F(PgNotice, ANodeOnOlderDefinitionsCannotOverwriteRecords) {
    auto a = open(schemas_[0]);
    auto b = open(schemas_[0]);
    ASSERT_TRUE(a && b);
    const std::string v1 = "user ann { name \"Ann\" }\nmodule Notes {\n  field text: text\n}\n";
    const std::string v2 =
        "user ann { name \"Ann\" }\nmodule Notes {\n  field text: text\n  field extra: text\n}\n";
    engine::DefinitionsVersion first;
    first.version = 1;
    first.files = {{"notes.flow", v1}};
    auto defs1 = engine::compile_version(first);
    ASSERT_TRUE(defs1.ok()) << defs1.error().to_string();
    engine::TestClock clock;
    engine::Engine node_a(defs1.value(), *a, clock);
    engine::Engine node_b(defs1.value(), *b, clock);
    engine::PublishRequest publish;
    publish.files = first.files;
    publish.user = "ann";
    publish.expected_version = 0;
    ASSERT_TRUE(node_a.publish(publish).ok());
    const auto d1 = node_a.definitions();
    const std::uint32_t notes = d1->find_module("Notes");
    const engine::UserId ann = d1->find_user("ann");
    auto created = node_a.create(
        notes, ann, {{d1->modules[notes].find_assignable("text"), engine::Value::text("one")}});
    ASSERT_TRUE(created.ok()) << created.error().to_string();
    const engine::RecordId id = created->id;

    // Node A publishes version 2 (a new field) and sets it; node B has not reloaded yet.
    publish.files = {{"notes.flow", v2}};
    publish.expected_version = 1;
    ASSERT_TRUE(node_a.publish(publish).ok());
    const auto d2 = node_a.definitions();
    const std::uint32_t extra = d2->modules[notes].find_assignable("extra");
    ASSERT_TRUE(node_a.update(id, ann, {{extra, engine::Value::text("kept")}}).ok());
    auto stale = node_b.update(
        id, ann, {{d1->modules[notes].find_assignable("text"), engine::Value::text("two")}});
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(stale.error().code, engine::ErrorCode::Conflict) << stale.error().to_string();
    EXPECT_NE(stale.error().detail.find("definitions changed"), std::string::npos)
        << stale.error().detail;

    // Once B has loaded version 2, the same write goes through and keeps A's value.
    ASSERT_EQ(node_b.load_latest().value(), 2);
    ASSERT_TRUE(node_b
                    .update(id, ann,
                            {{d2->modules[notes].find_assignable("text"),
                              engine::Value::text("two")}})
                    .ok());
    auto now = node_a.get(id, ann);
    ASSERT_TRUE(now.ok());
    EXPECT_EQ(now->fields[extra].s, "kept");
    EXPECT_EQ(now->fields[d2->modules[notes].find_assignable("text")].s, "two");
}

} // namespace
