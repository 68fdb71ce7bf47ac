// EngineHost with several hosts on one store (in one process, SQLite): the definitions watcher's
// poll loads another host's publish, a publish from stale definitions builds on the latest
// version, and the webhook back-off.

#include "teamflow/server/engine_host.hpp"

#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <thread>
#include <unistd.h>

namespace teamflow::server {
namespace {

using namespace std::chrono_literals;

const char* const v1 = "user ann { name \"Ann\" }\nmodule Deals {\n  field title: text\n}\n";
const char* const v2 = "user ann { name \"Ann\" }\nmodule Deals {\n  field title: text\n}\n"
                       "module Notes {\n  field text: text\n}\n";
const char* const v3 = "user ann { name \"Ann\" }\nmodule Deals {\n  field title: text\n}\n"
                       "module Notes {\n  field text: text\n}\nmodule Tasks {\n  field what: text\n}\n";

class EngineHostNodes : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = std::filesystem::temp_directory_path() /
               fmt::format("teamflow-host-{}-{}", ::getpid(), rd());
        std::filesystem::create_directories(dir_ / "defs");
        std::ofstream(dir_ / "defs" / "set.flow") << v1;
        config_.store.url = "sqlite://" + (dir_ / "teamflow.db").string();
        config_.definitions.dir = (dir_ / "defs").string();
        config_.auth.org_admins = {"ann"};
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::unique_ptr<EngineHost> open() {
        auto opened = EngineHost::open(config_);
        if (auto* error = std::get_if<std::string>(&opened)) {
            ADD_FAILURE() << *error;
            return nullptr;
        }
        return std::get<std::unique_ptr<EngineHost>>(std::move(opened));
    }
    static engine::PublishRequest request(const char* text, std::int64_t expected) {
        engine::PublishRequest r;
        r.files = {{"set.flow", text}};
        r.user = "ann";
        r.expected_version = expected;
        return r;
    }

    std::filesystem::path dir_;
    Config config_;
};

TEST_F(EngineHostNodes, TheWatcherLoadsAnotherHostsPublish) {
    auto a = open();
    auto b = open();
    ASSERT_TRUE(a && b);
    ASSERT_EQ(b->version(), 1);
    b->start_background();
    engine::PublishReport report;
    auto published = a->publish(request(v2, 1), report);
    ASSERT_TRUE(published.ok()) << published.error().to_string();
    // SQLite sends no notice: the poll (every 3 s) finds version 2.
    const auto deadline = std::chrono::steady_clock::now() + 90s;
    while (b->version() != 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(b->version(), 2);
    EXPECT_NE(b->engine().definitions()->find_module("Notes"), engine::npos32);
    ASSERT_TRUE(b->published_set());
    b->stop_background();
}

TEST_F(EngineHostNodes, APublishFromStaleDefinitionsBuildsOnTheLatestVersion) {
    auto a = open();
    auto b = open();
    auto c = open();
    ASSERT_TRUE(a && b && c);
    engine::PublishReport report;
    ASSERT_TRUE(a->publish(request(v2, 1), report).ok());
    const auto d = a->engine().definitions();
    const std::uint32_t notes = d->find_module("Notes");
    const std::uint32_t text = d->modules[notes].find_assignable("text");
    auto note = a->engine().create(notes, d->find_user("ann"), {{text, engine::Value::text("x")}});
    ASSERT_TRUE(note.ok()) << note.error().to_string();
    // No watcher runs: b and c still run version 1, which has no Notes module.
    ASSERT_EQ(b->version(), 1);
    ASSERT_EQ(c->version(), 1);

    // With If-Match on the version b runs: refused, and b now runs the latest.
    auto stale = b->publish(request(v3, 1), report);
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(stale.error().code, engine::ErrorCode::Conflict);
    EXPECT_EQ(b->version(), 2);

    // Without If-Match, c publishes version 1's text: checked against version 2, where dropping
    // Notes would strand its record (checked against version 1, nothing would be seen).
    engine::PublishReport refused;
    auto dropped = c->publish(request(v1, -1), refused);
    ASSERT_FALSE(dropped.ok()) << "published version " << dropped->version;
    EXPECT_EQ(dropped.error().code, engine::ErrorCode::Invalid) << dropped.error().to_string();
    ASSERT_FALSE(refused.stranded.empty());
    EXPECT_NE(refused.stranded[0].reason.find("Notes"), std::string::npos);
    EXPECT_EQ(c->version(), 2);
    EXPECT_EQ(c->store().latest_definitions_version(), 2);
    // A publish that keeps Notes goes on from version 2.
    auto kept = c->publish(request(v3, -1), report);
    ASSERT_TRUE(kept.ok()) << kept.error().to_string();
    EXPECT_EQ(kept->version, 3);
    EXPECT_NE(c->engine().definitions()->find_module("Tasks"), engine::npos32);
}

TEST(WebhookBackoff, DoublesFrom250MillisecondsUpToAMinute) {
    EXPECT_EQ(webhook_backoff(1), 250ms);
    EXPECT_EQ(webhook_backoff(2), 500ms);
    EXPECT_EQ(webhook_backoff(3), 1000ms);
    EXPECT_EQ(webhook_backoff(8), 32000ms);
    EXPECT_EQ(webhook_backoff(9), 60000ms);
    EXPECT_EQ(webhook_backoff(30), 60000ms);
    EXPECT_EQ(webhook_backoff(0), 250ms);
}

} // namespace
} // namespace teamflow::server
