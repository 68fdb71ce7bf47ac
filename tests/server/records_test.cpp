// The engine-backed routes over real sockets: a SQLite store (and PostgreSQL when
// TEAMFLOW_TEST_PG_URL is set) in a temporary folder, the service on 127.0.0.1 port 0, the timer
// scheduler and the outbox dispatcher running, and a webhook receiver in the test.

#include "http_client.hpp"
#include "teamflow/server/engine_host.hpp"
#include "teamflow/server/routes.hpp"
#include "teamflow/server/server.hpp"

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>

namespace teamflow::server {
namespace {

namespace json = boost::json;
using testing::Client;
using testing::HttpResponse;

/// A webhook receiver on 127.0.0.1 port 0: answers 503 while `down`, 200 otherwise.
class Receiver {
public:
    Receiver() : acceptor_(ioc_, {testing::net::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] { run(); });
    }
    ~Receiver() {
        stop_ = true;
        boost::system::error_code ec;
        testing::tcp::socket s(ioc_);
        s.connect(acceptor_.local_endpoint(), ec);
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    std::atomic<bool> down{true};

    struct Hit {
        std::string key;
        std::string body;
        int status = 0;
    };
    std::vector<Hit> hits() {
        std::lock_guard lock(mu_);
        return hits_;
    }

private:
    void run() {
        namespace http = testing::http;
        while (!stop_) {
            testing::tcp::socket socket(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec || stop_) {
                continue;
            }
            testing::beast::flat_buffer buffer;
            http::request<http::string_body> req;
            http::read(socket, buffer, req, ec);
            if (ec) {
                continue;
            }
            const int status = down ? 503 : 200;
            {
                std::lock_guard lock(mu_);
                hits_.push_back({std::string(req["Idempotency-Key"]), req.body(), status});
            }
            http::response<http::string_body> res{static_cast<http::status>(status), 11};
            res.body() = "{}";
            res.prepare_payload();
            http::write(socket, res, ec);
        }
    }

    testing::net::io_context ioc_;
    testing::tcp::acceptor acceptor_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::mutex mu_;
    std::vector<Hit> hits_;
};

std::string definitions(std::uint16_t hook_port) {
    return fmt::format(R"(role Seller, Finance

user amelie {{ name "Amelie" email "amelie@x.test" roles Seller }}
user bruno  {{ name "Bruno" email "bruno@x.test" roles Finance }}
user carla  {{ name "Carla" email "carla@x.test" }}
user dan    {{ name "Dan" email "dan@x.test" }}

module Deals {{
  field title: text required
  field amount: currency
  field discount: number default 0
  field stage: picklist ["Open", "Review", "Won", "Lost", "Cooling", "Cold"] default "Open"
}}

blueprint Pipeline on Deals.stage {{
  transition Submit from Open to Review {{
    by owner
    require amount
    validate discount <= 20 else "Discount {{discount}} is over 20"
    validate amount < 1000000 else "Amount too big"
    then webhook "http://127.0.0.1:{}/hook"
    then notify owner "Deal {{title}} submitted"
  }}
  transition Win from Review to Won {{
    by role Finance
    checklist "Contract signed"
  }}
  transition Lose from Review to Lost {{
    by owner
    note required
  }}
  transition Cool from Lost to Cooling {{ by owner }}
  transition Freeze from Cooling to Cold after 2s {{ }}
}}

teamspace Support {{
  members carla
  admins carla
  module Tickets {{
    field subject: text required
    field status: picklist ["New", "Done"] default "New"
    field internal: text
    accepts requests from Field {{ fields subject }}
    route requests {{ otherwise assign carla }}
  }}
}}

teamspace Field {{
  members amelie
  admins amelie
}}
)",
                       hook_port);
}

/// Which store the fixture runs on.
enum class StoreKind { Sqlite, Postgres };

class RecordsTest : public ::testing::TestWithParam<StoreKind> {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = std::filesystem::temp_directory_path() /
               fmt::format("teamflow-records-{}-{}", ::getpid(), rd());
        std::filesystem::create_directories(dir_ / "defs");
        std::ofstream(dir_ / "defs" / "test.flow") << definitions(receiver_.port());
        Config config;
        config.server.listen = "127.0.0.1:0";
        config.server.port = 0;
        config.server.workers = 8;
        if (GetParam() == StoreKind::Postgres) {
            const char* url = std::getenv("TEAMFLOW_TEST_PG_URL");
            if (url == nullptr || *url == '\0') {
                GTEST_SKIP() << "TEAMFLOW_TEST_PG_URL is not set";
            }
            config.store.url = url;
            config.store.pool = 4;
            pg_schema_ = fmt::format("records_test_{}_{}", ::getpid(), rd() % 1000000);
        } else {
            config.store.url = "sqlite://" + (dir_ / "teamflow.db").string();
        }
        config.definitions.dir = (dir_ / "defs").string();
        config.auth.org_admins = {"bruno"};
        config.auth.tokens = {
            {"amelie", "t-amelie"}, {"bruno", "t-bruno"}, {"carla", "t-carla"}, {"dan", "t-dan"}};
        config.webhooks.timeout_ms = 1000;
        const std::string test_name =
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
        config.webhooks.max_attempts = test_name.find("GivesUp") != std::string::npos ? 3 : 20;
        auto opened = EngineHost::open(config, pg_schema_);
        ASSERT_TRUE(std::holds_alternative<std::unique_ptr<EngineHost>>(opened))
            << std::get<std::string>(opened);
        host_ = std::get<std::unique_ptr<EngineHost>>(std::move(opened));
        service_ = std::make_unique<Service>(config);
        RouteDeps deps;
        deps.host = host_;
        auto host = host_;
        deps.store_health = [host] { return host->health(); };
        deps.definitions_version = [host] { return host->version(); };
        deps.published_set = [host] { return host->published_set(); };
        register_routes(*service_, deps);
        server_ = std::make_unique<Server>(*service_);
        auto error = server_->start();
        ASSERT_FALSE(error) << *error;
        host_->start_background();
    }

    void TearDown() override {
        if (server_) {
            server_->stop();
            server_->wait();
        }
        if (host_) {
            host_->stop_background();
        }
        server_.reset();
        service_.reset();
        host_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    /// One call as `user`; the body parsed when it is JSON.
    struct Answer {
        int status = 0;
        json::value body;
        HttpResponse raw;
    };
    Answer call(const std::string& user, const std::string& method, const std::string& target,
                const std::string& body = {},
                std::vector<std::pair<std::string, std::string>> headers = {}) {
        Client client(server_->port());
        headers.emplace_back("Authorization", "Bearer t-" + user);
        if (!body.empty()) {
            headers.emplace_back("Content-Type", "application/json");
        }
        Answer a;
        a.raw = client.request(method, target, body, headers);
        a.status = static_cast<int>(a.raw.result_int());
        boost::system::error_code ec;
        a.body = json::parse(a.raw.body(), ec);
        return a;
    }

    std::string
    create_deal(const std::string& fields = R"({"title": "Acme", "amount": "1200.50"})") {
        Answer a = call("amelie", "POST", "/v1/modules/Deals/records",
                        fmt::format(R"({{"fields": {}}})", fields));
        EXPECT_EQ(a.status, 201) << a.raw.body();
        return a.status == 201 ? std::string(a.body.at("id").as_string()) : "0";
    }

    std::string stage(const std::string& id) {
        Answer a = call("amelie", "GET", "/v1/modules/Deals/records/" + id);
        return json::serialize(a.body.at("blueprint").at("state"));
    }

    std::filesystem::path dir_;
    std::string pg_schema_;
    Receiver receiver_;
    std::shared_ptr<EngineHost> host_;
    std::unique_ptr<Service> service_;
    std::unique_ptr<Server> server_;
};

TEST_P(RecordsTest, HealthReportsTheStoreAndVersion) {
    Answer a = call("amelie", "GET", "/healthz");
    ASSERT_EQ(a.status, 200) << a.raw.body();
    EXPECT_EQ(a.body.at("store").as_string(),
              GetParam() == StoreKind::Sqlite ? "sqlite" : "postgresql");
    EXPECT_EQ(a.body.at("definitions_version").as_int64(), 1);
}

TEST_P(RecordsTest, CreateReadListUpdateDelete) {
    Answer created = call("amelie", "POST", "/v1/modules/Deals/records",
                          R"({"fields": {"title": "Acme", "amount": "1200.50"}})");
    ASSERT_EQ(created.status, 201) << created.raw.body();
    const std::string id(created.body.at("id").as_string());
    EXPECT_EQ(created.raw["Location"], "/v1/modules/Deals/records/" + id);
    EXPECT_EQ(created.raw["ETag"], "\"1\"");
    EXPECT_EQ(created.body.at("version").as_int64(), 1);
    EXPECT_EQ(created.body.at("owner").as_string(), "amelie");
    EXPECT_EQ(created.body.at("blueprint").at("state").as_string(), "Open");
    EXPECT_NE(created.raw.body().find(R"("amount":1200.5)"), std::string::npos)
        << created.raw.body();

    Answer got = call("amelie", "GET", "/v1/modules/Deals/records/" + id);
    EXPECT_EQ(got.status, 200);
    EXPECT_EQ(got.raw["ETag"], "\"1\"");
    EXPECT_EQ(call("amelie", "GET", "/v1/modules/Deals/records/999999").status, 404);
    EXPECT_EQ(call("amelie", "GET", "/v1/modules/Nope/records/1").status, 404);

    const std::string second = create_deal(R"({"title": "Beta", "amount": 10})");
    Answer page = call("amelie", "GET", "/v1/modules/Deals/records?limit=1");
    ASSERT_EQ(page.status, 200) << page.raw.body();
    ASSERT_EQ(page.body.at("items").as_array().size(), 1u);
    ASSERT_TRUE(page.body.at("next").is_string());
    Answer rest = call("amelie", "GET",
                       "/v1/modules/Deals/records?limit=1&after=" +
                           std::string(page.body.at("next").as_string()));
    ASSERT_EQ(rest.status, 200) << rest.raw.body();
    ASSERT_EQ(rest.body.at("items").as_array().size(), 1u);
    EXPECT_EQ(rest.body.at("items").at(0).at("id").as_string(), second);
    EXPECT_TRUE(rest.body.at("next").is_null());
    Answer filtered = call("amelie", "GET", "/v1/modules/Deals/records?title=Beta&state=Open");
    ASSERT_EQ(filtered.status, 200) << filtered.raw.body();
    ASSERT_EQ(filtered.body.at("items").as_array().size(), 1u);
    Answer owned = call("amelie", "GET", "/v1/modules/Deals/records?owner=amelie");
    ASSERT_EQ(owned.status, 200) << owned.raw.body();
    EXPECT_EQ(owned.body.at("items").as_array().size(), 2u);
    EXPECT_EQ(call("amelie", "GET", "/v1/modules/Deals/records?nope=1").status, 400);

    Answer patched = call("amelie", "PATCH", "/v1/modules/Deals/records/" + id,
                          R"({"fields": {"discount": 5}})", {{"If-Match", "\"1\""}});
    ASSERT_EQ(patched.status, 200) << patched.raw.body();
    EXPECT_EQ(patched.body.at("version").as_int64(), 2);
    Answer stale = call("amelie", "PATCH", "/v1/modules/Deals/records/" + id,
                        R"({"fields": {"discount": 6}})", {{"If-Match", "\"1\""}});
    EXPECT_EQ(stale.status, 409) << stale.raw.body();
    Answer governed = call("amelie", "PATCH", "/v1/modules/Deals/records/" + id,
                           R"({"fields": {"stage": "Won"}})");
    EXPECT_EQ(governed.status, 422) << governed.raw.body();
    EXPECT_NE(governed.raw.body().find("governed-by-blueprint"), std::string::npos);
    Answer unknown = call("amelie", "PATCH", "/v1/modules/Deals/records/" + id,
                          R"({"fields": {"discount": 1}, "extra": true})");
    EXPECT_EQ(unknown.status, 422);
    Answer wrong =
        call("amelie", "POST", "/v1/modules/Deals/records", R"({"fields": {"title": ["x"]}})");
    EXPECT_EQ(wrong.status, 422);
    EXPECT_NE(wrong.raw.body().find("fields.title"), std::string::npos) << wrong.raw.body();
    Answer bad_json = call("amelie", "POST", "/v1/modules/Deals/records", "{nope");
    EXPECT_EQ(bad_json.status, 400);

    EXPECT_EQ(call("amelie", "DELETE", "/v1/modules/Deals/records/" + second).status, 204);
    EXPECT_EQ(call("amelie", "GET", "/v1/modules/Deals/records/" + second).status, 404);
}

TEST_P(RecordsTest, TransitionsDryRunRefusalsAndHistory) {
    const std::string id = create_deal(R"({"title": "Acme", "amount": 2000000, "discount": 30})");
    const std::string base = "/v1/modules/Deals/records/" + id;

    Answer list = call("amelie", "GET", base + "/transitions");
    ASSERT_EQ(list.status, 200) << list.raw.body();
    EXPECT_EQ(list.body.at("state").as_string(), "Open");
    ASSERT_EQ(list.body.at("transitions").as_array().size(), 1u);
    EXPECT_EQ(list.body.at("transitions").at(0).at("name").as_string(), "Submit");
    Answer none = call("bruno", "GET", base + "/transitions");
    EXPECT_EQ(none.body.at("transitions").as_array().size(), 0u) << none.raw.body();
    Answer all = call("bruno", "GET", base + "/transitions?all=true");
    ASSERT_EQ(all.body.at("transitions").as_array().size(), 1u) << all.raw.body();
    EXPECT_FALSE(all.body.at("transitions").at(0).at("available").as_bool());

    Answer invalid = call("amelie", "POST", base + "/transitions/Submit", "{}");
    ASSERT_EQ(invalid.status, 422) << invalid.raw.body();
    EXPECT_EQ(invalid.body.at("errors").as_array().size(), 2u) << invalid.raw.body();
    EXPECT_EQ(call("bruno", "POST", base + "/transitions/Submit", "{}").status, 403);
    EXPECT_EQ(call("amelie", "POST", base + "/transitions/Win", "{}").status, 404);

    Answer dry = call("amelie", "POST", base + "/transitions/Submit?dry_run=true",
                      R"({"fields": {"amount": 500, "discount": 10}})");
    ASSERT_EQ(dry.status, 200) << dry.raw.body();
    EXPECT_EQ(dry.body.at("record").at("blueprint").at("state").as_string(), "Review");
    EXPECT_EQ(dry.body.at("actions").as_array().size(), 2u); // the webhook and the notification
    EXPECT_EQ(stage(id), "\"Open\"");

    Answer done = call("amelie", "POST", base + "/transitions/Submit",
                       R"({"fields": {"amount": 500, "discount": 10}, "note": "go"})");
    ASSERT_EQ(done.status, 200) << done.raw.body();
    EXPECT_EQ(done.body.at("transition").at("from").as_string(), "Open");
    EXPECT_EQ(done.body.at("transition").at("to").as_string(), "Review");
    EXPECT_EQ(done.body.at("transition").at("by").as_string(), "amelie");
    EXPECT_TRUE(done.body.at("transition").at("id").is_string());

    EXPECT_EQ(call("amelie", "POST", base + "/transitions/Win", "{}").status, 403);
    EXPECT_EQ(call("bruno", "POST", base + "/transitions/Win", "{}").status, 422);
    Answer stale = call("bruno", "POST", base + "/transitions/Win",
                        R"({"checklist": ["Contract signed"]})", {{"If-Match", "\"1\""}});
    EXPECT_EQ(stale.status, 409) << stale.raw.body();
    Answer won =
        call("bruno", "POST", base + "/transitions/Win", R"({"checklist": ["Contract signed"]})");
    ASSERT_EQ(won.status, 200) << won.raw.body();

    Answer history = call("amelie", "GET", base + "/history");
    ASSERT_EQ(history.status, 200) << history.raw.body();
    const auto& items = history.body.at("items").as_array();
    ASSERT_EQ(items.size(), 3u) << history.raw.body();
    EXPECT_EQ(items.at(0).at("kind").as_string(), "created");
    EXPECT_EQ(items.at(1).at("name").as_string(), "Submit");
    EXPECT_EQ(items.at(1).at("note").as_string(), "go");
    EXPECT_EQ(items.at(2).at("to").as_string(), "Won");

    // Admin move: not for amelie, yes for bruno (org admin).
    EXPECT_EQ(call("amelie", "POST", base + "/move", R"({"state": "Open", "reason": "x"})").status,
              403);
    Answer bad_state = call("bruno", "POST", base + "/move", R"({"state": "Nope", "reason": "x"})");
    EXPECT_EQ(bad_state.status, 422);
    Answer moved =
        call("bruno", "POST", base + "/move", R"({"state": "Open", "reason": "reopened"})");
    ASSERT_EQ(moved.status, 200) << moved.raw.body();
    EXPECT_EQ(moved.body.at("blueprint").at("state").as_string(), "Open");

    Answer metrics = call("amelie", "GET", "/metrics");
    ASSERT_EQ(metrics.status, 200);
    const std::string& text = metrics.raw.body();
    EXPECT_NE(text.find(R"(teamflow_transitions_total{blueprint="Pipeline",outcome="ok"} 2)"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(R"(outcome="not-owner")"), std::string::npos);
    EXPECT_NE(text.find("teamflow_outbox_backlog"), std::string::npos);
}

TEST_P(RecordsTest, ConcurrentTransitionsOnOneRecordHaveOneWinner) {
    const std::string id = create_deal();
    const std::string target = "/v1/modules/Deals/records/" + id + "/transitions/Submit";
    std::vector<int> statuses(6);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < statuses.size(); ++i) {
        threads.emplace_back([&, i] { statuses[i] = call("amelie", "POST", target, "{}").status; });
    }
    for (auto& t : threads) {
        t.join();
    }
    int won = 0;
    for (int s : statuses) {
        won += s == 200 ? 1 : 0;
        EXPECT_TRUE(s == 200 || s == 409 || s == 404) << s;
    }
    EXPECT_EQ(won, 1);
}

TEST_P(RecordsTest, BulkTransition) {
    const std::string a = create_deal();
    const std::string b = create_deal(R"({"title": "No amount"})");
    Answer bulk = call("amelie", "POST", "/v1/modules/Deals/transitions/Submit",
                       fmt::format(R"({{"ids": ["{}", "{}", "999999"]}})", a, b));
    ASSERT_EQ(bulk.status, 200) << bulk.raw.body();
    const auto& results = bulk.body.at("results").as_array();
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results.at(0).at("status").as_int64(), 200);
    EXPECT_EQ(results.at(1).at("status").as_int64(), 422);
    EXPECT_EQ(results.at(2).at("status").as_int64(), 404);
}

TEST_P(RecordsTest, IdempotentRetries) {
    const std::string body = R"({"fields": {"title": "Once", "amount": 1}})";
    Answer first =
        call("amelie", "POST", "/v1/modules/Deals/records", body, {{"Idempotency-Key", "k-1"}});
    ASSERT_EQ(first.status, 201);
    Answer again =
        call("amelie", "POST", "/v1/modules/Deals/records", body, {{"Idempotency-Key", "k-1"}});
    ASSERT_EQ(again.status, 201);
    EXPECT_EQ(again.body.at("id"), first.body.at("id"));
    EXPECT_EQ(call("amelie", "GET", "/v1/modules/Deals/records?title=Once")
                  .body.at("items")
                  .as_array()
                  .size(),
              1u);
    Answer other = call("amelie", "POST", "/v1/modules/Deals/records",
                        R"({"fields": {"title": "Twice"}})", {{"Idempotency-Key", "k-1"}});
    EXPECT_EQ(other.status, 422);
}

TEST_P(RecordsTest, RequestsAreRoutedAndHiddenFromOutsiders) {
    Answer filed = call("amelie", "POST", "/v1/teamspaces/Support/modules/Tickets/requests",
                        R"({"fields": {"subject": "Laptop broken"}})");
    ASSERT_EQ(filed.status, 201) << filed.raw.body();
    EXPECT_EQ(filed.body.at("requester").as_string(), "amelie");
    EXPECT_EQ(filed.body.at("assignee").as_string(), "carla");
    const std::string id(filed.body.at("id").as_string());

    EXPECT_EQ(call("dan", "GET", "/v1/modules/Tickets/records/" + id).status, 404);
    EXPECT_EQ(call("amelie", "GET", "/v1/modules/Tickets/records/" + id).status, 200);
    EXPECT_EQ(call("carla", "GET", "/v1/modules/Tickets/records/" + id).status, 200);
    EXPECT_EQ(call("dan", "GET", "/v1/modules/Tickets/records").body.at("items").as_array().size(),
              0u);
    Answer refused = call("dan", "POST", "/v1/teamspaces/Support/modules/Tickets/requests",
                          R"({"fields": {"subject": "x"}})");
    EXPECT_EQ(refused.status, 403) << refused.raw.body();

    Answer mine = call("amelie", "GET", "/v1/me/requests?status=all");
    ASSERT_EQ(mine.status, 200);
    EXPECT_EQ(mine.body.at("items").as_array().size(), 1u);
    Answer assigned = call("carla", "GET", "/v1/me/assigned");
    EXPECT_EQ(assigned.body.at("items").as_array().size(), 1u);
    EXPECT_EQ(call("amelie", "GET", "/v1/me/notifications").status, 200);
    EXPECT_EQ(call("amelie", "GET", "/v1/outbox").status, 403);
    EXPECT_EQ(call("bruno", "GET", "/v1/outbox?status=pending").status, 200);
}

TEST_P(RecordsTest, WebhookIsRetriedUntilTheReceiverComesBack) {
    const std::string id = create_deal();
    ASSERT_EQ(
        call("amelie", "POST", "/v1/modules/Deals/records/" + id + "/transitions/Submit", "{}")
            .status,
        200);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (receiver_.hits().size() < 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_GE(receiver_.hits().size(), 2u);
    Answer pending = call("bruno", "GET", "/v1/outbox?status=pending");
    ASSERT_EQ(pending.body.at("items").as_array().size(), 1u) << pending.raw.body();
    EXPECT_GE(pending.body.at("items").at(0).at("attempts").as_int64(), 1);
    EXPECT_EQ(pending.body.at("items").at(0).at("last_error").as_string(), "HTTP 503");

    receiver_.down = false;
    while (
        call("bruno", "GET", "/v1/outbox?status=delivered").body.at("items").as_array().empty() &&
        std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Answer delivered = call("bruno", "GET", "/v1/outbox?status=delivered");
    ASSERT_EQ(delivered.body.at("items").as_array().size(), 1u);
    const auto hits = receiver_.hits();
    std::set<std::string> keys;
    for (const auto& h : hits) {
        keys.insert(h.key);
        EXPECT_NE(h.body.find("\"id\":\"" + id + "\""), std::string::npos);
    }
    EXPECT_EQ(keys.size(), 1u) << "one Idempotency-Key per delivery";
    EXPECT_EQ(hits.back().status, 200);
}

TEST_P(RecordsTest, WebhookGivesUpAfterMaxAttempts) {
    const std::string id = create_deal();
    ASSERT_EQ(
        call("amelie", "POST", "/v1/modules/Deals/records/" + id + "/transitions/Submit", "{}")
            .status,
        200);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (call("bruno", "GET", "/v1/outbox?status=failed").body.at("items").as_array().empty() &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Answer failed = call("bruno", "GET", "/v1/outbox?status=failed");
    ASSERT_EQ(failed.body.at("items").as_array().size(), 1u) << failed.raw.body();
    EXPECT_EQ(failed.body.at("items").at(0).at("attempts").as_int64(), 3);
    EXPECT_EQ(receiver_.hits().size(), 3u);
}

TEST_P(RecordsTest, TimerFiresAfterTwoSeconds) {
    const std::string id = create_deal();
    const std::string base = "/v1/modules/Deals/records/" + id + "/transitions/";
    ASSERT_EQ(call("amelie", "POST", base + "Submit", "{}").status, 200);
    Answer lost = call("amelie", "POST", base + "Lose", "{}");
    EXPECT_EQ(lost.status, 422) << "note required";
    ASSERT_EQ(call("amelie", "POST", base + "Lose", R"({"note": "too pricey"})").status, 200);
    ASSERT_EQ(call("amelie", "POST", base + "Cool", "{}").status, 200);
    EXPECT_EQ(stage(id), "\"Cooling\"");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
    while (stage(id) != "\"Cold\"" && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(stage(id), "\"Cold\"");
    Answer history = call("amelie", "GET", "/v1/modules/Deals/records/" + id + "/history");
    EXPECT_EQ(history.body.at("items").as_array().back().at("kind").as_string(), "automatic");
}

TEST_P(RecordsTest, PublishingDefinitions) {
    Answer current = call("amelie", "GET", "/v1/definitions");
    ASSERT_EQ(current.status, 200) << current.raw.body();
    EXPECT_EQ(current.body.at("version").as_int64(), 1);
    const std::string source(current.body.at("files").at("test.flow").as_string());
    json::object files;
    files["test.flow"] = source + "\nrole Extra\n";
    json::object body;
    body["files"] = files;
    const std::string good = json::serialize(body);

    EXPECT_EQ(call("amelie", "PUT", "/v1/definitions", good).status, 403);
    Answer broken = call("bruno", "PUT", "/v1/definitions", R"({"files": {"a.flow": "module {"}})");
    ASSERT_EQ(broken.status, 422) << broken.raw.body();
    EXPECT_FALSE(broken.body.at("diagnostics").as_array().empty());
    EXPECT_EQ(call("bruno", "PUT", "/v1/definitions", good, {{"If-Match", "\"7\""}}).status, 409);
    Answer published = call("bruno", "PUT", "/v1/definitions", good, {{"If-Match", "\"1\""}});
    ASSERT_EQ(published.status, 200) << published.raw.body();
    EXPECT_EQ(published.body.at("version").as_int64(), 2);
    EXPECT_EQ(call("amelie", "GET", "/healthz").body.at("definitions_version").as_int64(), 2);
    Answer versions = call("amelie", "GET", "/v1/definitions/versions");
    ASSERT_EQ(versions.body.at("items").as_array().size(), 2u);
    EXPECT_EQ(versions.body.at("items").at(0).at("version").as_int64(), 2);

    // Removing a state that holds a record strands it: 422 naming the record.
    const std::string id = create_deal();
    ASSERT_EQ(call("bruno", "POST", "/v1/modules/Deals/records/" + id + "/move",
                   R"({"state": "Cold", "reason": "test"})")
                  .status,
              200);
    std::string without_cold = source;
    without_cold.replace(without_cold.find(R"(, "Cold"])"), 9, "]");
    const std::string freeze = "transition Freeze from Cooling to Cold after 2s { }";
    without_cold.replace(without_cold.find(freeze), freeze.size(), "");
    json::object smaller;
    smaller["test.flow"] = without_cold;
    json::object smaller_body;
    smaller_body["files"] = smaller;
    Answer stranded = call("bruno", "PUT", "/v1/definitions", json::serialize(smaller_body));
    ASSERT_EQ(stranded.status, 422) << stranded.raw.body();
    ASSERT_EQ(stranded.body.at("stranded").as_array().size(), 1u) << stranded.raw.body();
    EXPECT_EQ(stranded.body.at("stranded").at(0).at("id").as_string(), id);
    EXPECT_EQ(stranded.body.at("stranded").at(0).at("state").as_string(), "Cold");

    // A teamspace admin publishes only their teamspace's things.
    Answer outside = call("carla", "PUT", "/v1/teamspaces/Support/definitions",
                          R"({"files": {"extra.flow": "role Sneaky\n"}})");
    EXPECT_EQ(outside.status, 403) << outside.raw.body();
    Answer team = call("carla", "PUT", "/v1/teamspaces/Support/definitions",
                       R"({"files": {"support.flow": )"
                       R"("blueprint TicketFlow on Tickets.status {\n)"
                       R"(  transition Close from New to Done { by owner }\n}\n"}})");
    ASSERT_EQ(team.status, 200) << team.raw.body();
    EXPECT_EQ(team.body.at("version").as_int64(), 3);
    EXPECT_EQ(call("carla", "GET", "/v1/blueprints/TicketFlow").status, 200);
    EXPECT_EQ(call("amelie", "PUT", "/v1/teamspaces/Support/definitions",
                   R"({"files": {"x.flow": "role X\n"}})")
                  .status,
              403);
}

/// Every item of a list, walking `path` (with `?` or `&` appended) `limit` at a time: each page
/// at most `limit`, `next` a string until the last page, where it is null; no id twice.
std::vector<json::value> walk(const std::function<json::value(const std::string&)>& get,
                              const std::string& path, int limit, const char* id_member = "id") {
    std::vector<json::value> out;
    std::set<std::string> seen;
    std::string target = fmt::format("{}{}limit={}", path,
                                     path.find('?') == std::string::npos ? '?' : '&', limit);
    for (int guard = 0; guard < 200; ++guard) {
        const json::value page = get(target);
        const json::array& items = page.at("items").as_array();
        EXPECT_LE(items.size(), static_cast<std::size_t>(limit)) << target;
        for (const json::value& item : items) {
            const std::string id = json::serialize(item.at(id_member));
            EXPECT_TRUE(seen.insert(id).second) << "twice: " << id << " in " << target;
            out.push_back(item);
        }
        if (page.at("next").is_null()) {
            return out;
        }
        EXPECT_EQ(items.size(), static_cast<std::size_t>(limit)) << target;
        target = fmt::format("{}{}limit={}&after={}", path,
                             path.find('?') == std::string::npos ? '?' : '&', limit,
                             std::string(page.at("next").as_string()));
    }
    ADD_FAILURE() << "paging " << path << " did not end";
    return out;
}

TEST_P(RecordsTest, EveryListIsPagedToTheEnd) {
    const auto getter = [this](const std::string& user) {
        return [this, user](const std::string& target) {
            Answer a = call(user, "GET", target);
            EXPECT_EQ(a.status, 200) << target << ": " << a.raw.body();
            return a.status == 200 ? a.body : json::parse(R"({"items": [], "next": null})");
        };
    };
    // Seven requests filed by amelie, assigned to carla; one closed by carla is not "open".
    std::vector<std::string> filed;
    for (int k = 0; k < 7; ++k) {
        Answer a = call("amelie", "POST", "/v1/teamspaces/Support/modules/Tickets/requests",
                        fmt::format(R"({{"fields": {{"subject": "Ticket {}"}}}})", k));
        ASSERT_EQ(a.status, 201) << a.raw.body();
        filed.emplace_back(a.body.at("id").as_string());
    }
    // Five deals submitted: five webhooks, five notifications; one deal updated six times.
    std::vector<std::string> deals;
    for (int k = 0; k < 5; ++k) {
        deals.push_back(create_deal(fmt::format(R"({{"title": "Deal {}", "amount": 10}})", k)));
        ASSERT_EQ(call("amelie", "POST",
                       "/v1/modules/Deals/records/" + deals.back() + "/transitions/Submit", "{}")
                      .status,
                  200);
    }
    for (int k = 0; k < 6; ++k) {
        ASSERT_EQ(call("amelie", "PATCH", "/v1/modules/Deals/records/" + deals[0],
                       fmt::format(R"({{"fields": {{"discount": {}}}}})", k))
                      .status,
                  200);
    }
    // Three more definitions versions.
    const std::string source(
        call("bruno", "GET", "/v1/definitions").body.at("files").at("test.flow").as_string());
    for (int k = 0; k < 3; ++k) {
        json::object body{{"files", json::object{{"test.flow", source + fmt::format("\n# v{}\n", k)}}}};
        ASSERT_EQ(call("bruno", "PUT", "/v1/definitions", json::serialize(body)).status, 200);
    }

    for (const int limit : {1, 2, 3, 200}) {
        SCOPED_TRACE(fmt::format("limit {}", limit));
        const auto mine = walk(getter("amelie"), "/v1/me/requests?status=all", limit);
        ASSERT_EQ(mine.size(), filed.size());
        for (std::size_t k = 0; k < filed.size(); ++k) {
            EXPECT_EQ(mine[k].at("id").as_string(), filed[k]);
            EXPECT_EQ(mine[k].at("module").as_string(), "Tickets");
        }
        EXPECT_EQ(walk(getter("amelie"), "/v1/me/requests", limit).size(), filed.size());
        const auto assigned = walk(getter("carla"), "/v1/me/assigned", limit);
        ASSERT_EQ(assigned.size(), filed.size());
        EXPECT_EQ(assigned.back().at("id").as_string(), filed.back());
        EXPECT_TRUE(walk(getter("dan"), "/v1/me/assigned", limit).empty());

        // History: oldest first, every version once.
        const auto history = walk(getter("amelie"),
                                  "/v1/modules/Deals/records/" + deals[0] + "/history", limit);
        ASSERT_EQ(history.size(), 8u);
        for (std::size_t k = 0; k < history.size(); ++k) {
            EXPECT_EQ(history[k].at("version").as_int64(), static_cast<std::int64_t>(k + 1));
        }
        EXPECT_EQ(history[0].at("kind").as_string(), "created");
        EXPECT_EQ(history[1].at("name").as_string(), "Submit");

        // Notifications: newest first.
        const auto notes = walk(getter("amelie"), "/v1/me/notifications", limit);
        ASSERT_EQ(notes.size(), 5u);
        EXPECT_EQ(notes.front().at("message").as_string(), "Deal Deal 4 submitted");
        EXPECT_EQ(notes.back().at("message").as_string(), "Deal Deal 0 submitted");
        EXPECT_TRUE(walk(getter("dan"), "/v1/me/notifications", limit).empty());

        // The outbox: webhooks only, oldest first.
        const auto hooks = walk(getter("bruno"), "/v1/outbox", limit);
        ASSERT_EQ(hooks.size(), 5u);
        for (std::size_t k = 0; k < hooks.size(); ++k) {
            EXPECT_EQ(hooks[k].at("record").as_string(), deals[k]);
        }

        // Definitions versions: newest first.
        const auto versions = walk(getter("amelie"), "/v1/definitions/versions", limit,
                                   "version");
        ASSERT_EQ(versions.size(), 4u);
        for (std::size_t k = 0; k < versions.size(); ++k) {
            EXPECT_EQ(versions[k].at("version").as_int64(), static_cast<std::int64_t>(4 - k));
        }

        // Blueprints, and records.
        EXPECT_EQ(walk(getter("amelie"), "/v1/blueprints", limit, "name").size(), 1u);
        EXPECT_EQ(walk(getter("amelie"), "/v1/modules/Deals/records", limit).size(), 5u);
    }
}

TEST_P(RecordsTest, BadPagingParametersAre400NamingTheParameter) {
    const std::string deal = create_deal();
    for (const std::string& path : std::vector<std::string>{
             "/v1/me/requests", "/v1/me/assigned", "/v1/me/notifications", "/v1/outbox",
          "/v1/definitions/versions", "/v1/blueprints", "/v1/modules/Deals/records",
          std::string("/v1/modules/Deals/records/") + deal + "/history"}) {
        for (const auto& [query, param] :
             std::vector<std::pair<std::string, std::string>>{{"limit=0", "limit"},
                                                              {"limit=201", "limit"},
                                                              {"limit=-1", "limit"},
                                                              {"limit=ten", "limit"},
                                                              {"limit=", "limit"},
                                                              {"after=%21%21", "after"},
                                                              {"after=A", "after"},
                                                              {"after=LTE", "after"}}) {
            if (param == "after" && path == "/v1/blueprints" && query == "after=LTE") {
                continue; // any name is a cursor there ("-1")
            }
            Answer a = call("bruno", "GET", path + "?" + query);
            EXPECT_EQ(a.status, 400) << path << "?" << query << ": " << a.raw.body();
            EXPECT_EQ(std::string(a.raw[testing::http::field::content_type])
                          .rfind("application/problem+json", 0),
                      0u)
                << path << "?" << query;
            if (a.status == 400) {
                EXPECT_EQ(a.body.at("errors").at(0).at("field").as_string(), param)
                    << path << "?" << query;
            }
        }
    }
    Answer status = call("amelie", "GET", "/v1/me/requests?status=closed");
    EXPECT_EQ(status.status, 400);
    EXPECT_EQ(status.body.at("errors").at(0).at("field").as_string(), "status");
    Answer outbox = call("bruno", "GET", "/v1/outbox?status=sent");
    EXPECT_EQ(outbox.status, 400);
    EXPECT_EQ(outbox.body.at("errors").at(0).at("field").as_string(), "status");
}

TEST_P(RecordsTest, TeamBlueprintsAreHiddenFromOutsiders) {
    Answer team = call("carla", "PUT", "/v1/teamspaces/Support/definitions",
                       R"({"files": {"support.flow": )"
                       R"("blueprint TicketFlow on Tickets.status {\n)"
                       R"(  transition Close from New to Done { by owner }\n}\n"}})");
    ASSERT_EQ(team.status, 200) << team.raw.body();
    const auto names = [&](const std::string& user) {
        std::set<std::string> out;
        Answer a = call(user, "GET", "/v1/blueprints");
        EXPECT_EQ(a.status, 200) << a.raw.body();
        for (const json::value& item : a.body.at("items").as_array()) {
            out.insert(std::string(item.at("name").as_string()));
        }
        return out;
    };
    EXPECT_EQ(names("carla"), (std::set<std::string>{"Pipeline", "TicketFlow"}));
    EXPECT_EQ(names("bruno"), (std::set<std::string>{"Pipeline", "TicketFlow"}));
    EXPECT_EQ(names("dan"), (std::set<std::string>{"Pipeline"}));
    EXPECT_EQ(names("amelie"), (std::set<std::string>{"Pipeline"})); // files requests, not a member
    // Answered exactly as a blueprint that does not exist.
    for (const std::string path :
         {"/v1/blueprints/TicketFlow", "/v1/blueprints/TicketFlow/diagram?format=dot"}) {
        Answer hidden = call("dan", "GET", path);
        EXPECT_EQ(hidden.status, 404) << path << ": " << hidden.raw.body();
        EXPECT_EQ(hidden.body.at("detail").as_string(), "no blueprint \"TicketFlow\"");
    }
    // Not even the name leaks through a suggestion.
    Answer near = call("dan", "GET", "/v1/blueprints/TicketFlo");
    EXPECT_EQ(near.status, 404);
    EXPECT_EQ(near.raw.body().find("TicketFlow"), std::string::npos) << near.raw.body();
    EXPECT_EQ(call("carla", "GET", "/v1/blueprints/TicketFlow").status, 200);
    EXPECT_EQ(call("bruno", "GET", "/v1/blueprints/TicketFlow/diagram?format=dot").status, 200);
    EXPECT_EQ(call("carla", "GET", "/v1/blueprints/TicketFlow/diagram?format=dot").status, 200);
    EXPECT_NE(call("carla", "GET", "/v1/blueprints/TicketFlo").raw.body().find("TicketFlow"),
              std::string::npos);
    EXPECT_EQ(call("dan", "GET", "/v1/blueprints/Pipeline").status, 200);
}

TEST_P(RecordsTest, TeamPublishRefusesEveryDeclarationOutsideTheTeamspace) {
    const std::string own_teamspace =
        R"(teamspace Support {\n  members carla\n  admins carla\n  module Tickets {\n)"
        R"(    field subject: text required\n    field status: picklist [\"New\", \"Done\"] )"
        R"(default \"New\"\n  }\n}\n)";
    struct Case {
        std::string source;
        std::string names; // what the 403 must name
    };
    const std::vector<Case> cases = {
        {R"(role Sneaky\n)", "role Sneaky"},
        {R"(user eve { name \"Eve\" }\n)", "user eve"},
        {R"(module Leads {\n  field name: text\n}\n)", "org module Leads"},
        {R"(teamspace Field {\n  members amelie\n}\n)", "teamspace Field"},
        {R"(teamspace Other {\n  members dan\n  module Notes {\n    field t: text\n  }\n}\n)",
         "teamspace Other"},
        {R"(blueprint Mine on Deals.stage {\n  transition Go from Open to Won { by owner }\n}\n)",
         "blueprint Mine on Deals"},
        {R"(blueprint Mine on Tickets.status {\n  transition Go from New to Done {\n)"
         R"(    by owner\n    then create Deals { title = subject }\n  }\n}\n)",
         "blueprint Mine: create Deals"},
        {R"(blueprint Mine on Tickets.status {\n  transition Go from New to Done {\n)"
         R"(    by owner\n    then request Field.Asks { title = subject }\n  }\n}\n)",
         "blueprint Mine: request into Field.Asks"},
        {R"(blueprint Mine on Tickets.status {\n  sla \"New\" within 1d {\n)"
         R"(    then create Deals { title = subject }\n  }\n}\n)",
         "blueprint Mine: create Deals"},
    };
    for (const Case& c : cases) {
        Answer a = call("carla", "PUT", "/v1/teamspaces/Support/definitions",
                        R"({"files": {"extra.flow": ")" + c.source + R"("}})");
        EXPECT_EQ(a.status, 403) << c.source << ": " << a.raw.body();
        const std::string detail =
            a.body.is_object() ? std::string(a.body.at("detail").as_string()) : "";
        EXPECT_NE(detail.find("extra.flow"), std::string::npos) << detail;
        EXPECT_NE(detail.find(c.names), std::string::npos) << c.names << " in " << detail;
        EXPECT_NE(detail.find("line "), std::string::npos) << detail;
        if (a.body.is_object()) {
            EXPECT_EQ(a.body.at("errors").at(0).at("field").as_string(), "files.extra.flow");
        }
    }
    // Replacing the org file is refused too, naming what it declares now.
    Answer org = call("carla", "PUT", "/v1/teamspaces/Support/definitions",
                      R"({"files": {"test.flow": ")" + own_teamspace + R"("}})");
    EXPECT_EQ(org.status, 403) << org.raw.body();
    EXPECT_NE(org.raw.body().find("as published now"), std::string::npos) << org.raw.body();
    EXPECT_EQ(call("amelie", "GET", "/healthz").body.at("definitions_version").as_int64(), 1);
    // The teamspace's own things pass: a blueprint on its module, acting on its own records.
    Answer ok = call("carla", "PUT", "/v1/teamspaces/Support/definitions",
                     R"({"files": {"support.flow": )"
                     R"("blueprint TicketFlow on Tickets.status {\n)"
                     R"(  transition Close from New to Done {\n    by owner\n)"
                     R"(    then set subject = \"closed\"\n    then notify owner \"done\"\n  }\n}\n"}})");
    EXPECT_EQ(ok.status, 200) << ok.raw.body();
    EXPECT_EQ(call("dan", "PUT", "/v1/teamspaces/Support/definitions",
                   R"({"files": {"support.flow": "# nothing\n"}})")
                  .status,
              403);
    EXPECT_EQ(call("carla", "PUT", "/v1/teamspaces/Nowhere/definitions",
                   R"({"files": {"support.flow": "# nothing\n"}})")
                  .status,
              404);
}


TEST_P(RecordsTest, EveryWriteRouteRefusesBadBodiesWithTheRightProblem) {
    const std::string deal = create_deal();
    const std::string other = create_deal(R"({"title": "Other", "amount": 5})");
    struct Route {
        std::string user, method, target;
        std::string wrong_type; // a body with one member of the wrong JSON type
        std::string member;     // the member it names
    };
    const std::vector<Route> routes = {
        {"amelie", "POST", "/v1/modules/Deals/records", R"({"fields": "Acme"})", "fields"},
        {"amelie", "PATCH", "/v1/modules/Deals/records/" + deal, R"({"fields": [1]})", "fields"},
        {"amelie", "PATCH", "/v1/modules/Deals/records/" + deal,
         R"({"fields": {"title": {"a": 1}}})", "fields.title"},
        {"amelie", "POST", "/v1/modules/Deals/records/" + deal + "/transitions/Submit",
         R"({"note": 5})", "note"},
        {"amelie", "POST", "/v1/modules/Deals/records/" + deal + "/transitions/Submit",
         R"({"checklist": "all"})", "checklist"},
        {"amelie", "POST", "/v1/modules/Deals/transitions/Submit", R"({"ids": "1,2"})", "ids"},
        {"bruno", "POST", "/v1/modules/Deals/records/" + other + "/move",
         R"({"state": 3, "reason": "x"})", "state"},
        {"amelie", "POST", "/v1/teamspaces/Support/modules/Tickets/requests",
         R"({"fields": true})", "fields"},
        {"amelie", "POST", "/v1/definitions/check", R"({"files": ["a.flow"]})", "files"},
        {"bruno", "PUT", "/v1/definitions", R"({"files": {"a.flow": 1}})", "files.a.flow"},
        {"carla", "PUT", "/v1/teamspaces/Support/definitions", R"({"files": null})", "files"},
        {"amelie", "POST", "/v1/diagram?blueprint=Pipeline", R"({"files": 7})", "files"},
    };
    const auto raw = [&](const Route& r, const std::string& body, const std::string& type) {
        Client client(server_->port());
        std::vector<std::pair<std::string, std::string>> headers = {
            {"Authorization", "Bearer t-" + r.user}};
        if (!type.empty()) {
            headers.emplace_back("Content-Type", type);
        }
        Answer a;
        a.raw = client.request(r.method, r.target, body, headers);
        a.status = static_cast<int>(a.raw.result_int());
        boost::system::error_code ec;
        a.body = json::parse(a.raw.body(), ec);
        return a;
    };
    const auto expect_problem = [](const Answer& a, int status, const std::string& field,
                                   const std::string& what) {
        EXPECT_EQ(a.status, status) << what << ": " << a.raw.body();
        EXPECT_EQ(std::string(a.raw[testing::http::field::content_type])
                      .rfind("application/problem+json", 0),
                  0u)
            << what;
        ASSERT_TRUE(a.body.is_object()) << what << ": " << a.raw.body();
        EXPECT_EQ(a.body.at("status").as_int64(), status) << what;
        EXPECT_FALSE(a.body.at("detail").as_string().empty()) << what;
        if (!field.empty()) {
            bool named = false;
            for (const json::value& e : a.body.at("errors").as_array()) {
                named = named || e.at("field").as_string() == field;
            }
            EXPECT_TRUE(named) << what << " does not name " << field << ": " << a.raw.body();
        }
    };
    for (const Route& r : routes) {
        const std::string what = r.method + " " + r.target;
        SCOPED_TRACE(what);
        expect_problem(raw(r, R"({"fields": )", "application/json"), 400, "", "truncated JSON");
        expect_problem(raw(r, "{'a': 1}", "application/json"), 400, "", "not JSON");
        expect_problem(raw(r, R"([1, 2])", "application/json"), 422, "", "an array");
        expect_problem(raw(r, R"({"fields": {}})", "text/plain"), 415, "", "text/plain");
        expect_problem(raw(r, R"({"fields": {}})", "application/x-www-form-urlencoded"), 415, "",
                       "a form");
        expect_problem(raw(r, R"({"bogus": 1})", "application/json"), 422, "bogus",
                       "an unknown member");
        expect_problem(raw(r, r.wrong_type, "application/json"), 422, r.member, "a wrong type");
    }
    // Nothing of that changed anything.
    Answer d = call("amelie", "GET", "/v1/modules/Deals/records/" + deal);
    EXPECT_EQ(d.body.at("version").as_int64(), 1);
    EXPECT_EQ(call("amelie", "GET", "/healthz").body.at("definitions_version").as_int64(), 1);
    EXPECT_TRUE(call("amelie", "GET", "/v1/me/requests?status=all")
                    .body.at("items")
                    .as_array()
                    .empty());
}

TEST_P(RecordsTest, BadQueryParametersAndPathsAre400Or404NamingWhatIsWrong) {
    const std::string deal = create_deal();
    const std::string base = "/v1/modules/Deals/records/" + deal;
    struct Case {
        std::string user, method, target, body;
        int status;
        std::string field;
    };
    const std::vector<Case> cases = {
        {"amelie", "GET", base + "/transitions?all=maybe", "", 400, "all"},
        {"amelie", "POST", base + "/transitions/Submit?dry_run=yes", "{}", 400, "dry_run"},
        {"amelie", "GET", "/v1/blueprints/Pipeline/diagram?format=gif", "", 400, "format"},
        {"amelie", "POST", "/v1/diagram?format=svg", R"({"files": {"a.flow": ""}})", 400,
         "blueprint"},
        {"amelie", "GET", "/v1/modules/Deals/records?amount=lots", "", 400, ""},
        {"amelie", "GET", "/v1/modules/Deals/records?nope=1", "", 400, "nope"},
        {"amelie", "PATCH", base, R"({"fields": {"discount": 1}})", 400, "If-Match"},
        {"amelie", "POST", "/v1/modules/Deals/records", R"({"fields": {"title": "x"}})", 400,
         "Idempotency-Key"},
        {"amelie", "GET", "/v1/modules/Deals/records/abc", "", 404, ""},
        {"amelie", "GET", "/v1/modules/Deals/records/-1", "", 404, ""},
        {"amelie", "GET", "/v1/modules/Nope/records", "", 404, ""},
        {"amelie", "GET", base + "/history?limit=0", "", 400, "limit"},
        {"amelie", "POST", base + "/transitions/Nope", "{}", 404, ""},
        {"amelie", "POST", "/v1/teamspaces/Nowhere/modules/Tickets/requests",
         R"({"fields": {}})", 404, ""},
        {"amelie", "POST", "/v1/teamspaces/Support/modules/Deals/requests", R"({"fields": {}})",
         404, ""},
    };
    for (const Case& c : cases) {
        const std::string what = c.method + " " + c.target;
        std::vector<std::pair<std::string, std::string>> headers;
        if (c.field == "If-Match") {
            headers.emplace_back("If-Match", "version one");
        }
        if (c.field == "Idempotency-Key") {
            headers.emplace_back("Idempotency-Key", "");
        }
        Answer a = call(c.user, c.method, c.target, c.body, headers);
        EXPECT_EQ(a.status, c.status) << what << ": " << a.raw.body();
        ASSERT_TRUE(a.body.is_object()) << what << ": " << a.raw.body();
        EXPECT_EQ(a.body.at("status").as_int64(), c.status) << what;
        if (!c.field.empty()) {
            ASSERT_TRUE(a.body.as_object().contains("errors")) << what << ": " << a.raw.body();
            EXPECT_EQ(a.body.at("errors").at(0).at("field").as_string(), c.field)
                << what << ": " << a.raw.body();
        }
    }
    EXPECT_EQ(call("amelie", "GET", base).body.at("version").as_int64(), 1);
}


TEST_P(RecordsTest, ARequesterSeesTheRequestFieldsAndTheStateOnly) {
    Answer team = call("carla", "PUT", "/v1/teamspaces/Support/definitions",
                       R"({"files": {"support.flow": )"
                       R"("blueprint TicketFlow on Tickets.status {\n)"
                       R"(  transition Close from New to Done { by owner }\n}\n"}})");
    ASSERT_EQ(team.status, 200) << team.raw.body();
    Answer filed = call("amelie", "POST", "/v1/teamspaces/Support/modules/Tickets/requests",
                        R"({"fields": {"subject": "Laptop broken"}})");
    ASSERT_EQ(filed.status, 201) << filed.raw.body();
    const std::string id(filed.body.at("id").as_string());
    const std::string path = "/v1/modules/Tickets/records/" + id;
    EXPECT_FALSE(filed.body.at("fields").as_object().contains("internal")) << filed.raw.body();
    ASSERT_EQ(call("carla", "PATCH", path, R"({"fields": {"internal": "vip"}})").status, 200);
    ASSERT_EQ(call("carla", "POST", path + "/transitions/Close", R"({"note": "fixed, vip"})")
                  .status,
              200);

    const auto fields_of = [&](const std::string& user) {
        Answer a = call(user, "GET", path);
        EXPECT_EQ(a.status, 200) << a.raw.body();
        return a.status == 200 ? a.body.at("fields").as_object() : json::object();
    };
    const json::object mine = fields_of("amelie");
    EXPECT_EQ(mine.at("subject").as_string(), "Laptop broken");
    EXPECT_EQ(mine.at("status").as_string(), "Done");
    EXPECT_FALSE(mine.contains("internal"));
    EXPECT_EQ(fields_of("carla").at("internal").as_string(), "vip");
    EXPECT_EQ(fields_of("bruno").at("internal").as_string(), "vip");
    Answer get = call("amelie", "GET", path);
    EXPECT_EQ(get.body.at("requester").as_string(), "amelie");
    EXPECT_EQ(get.body.at("assignee").as_string(), "carla");
    EXPECT_EQ(get.raw.body().find("vip"), std::string::npos) << get.raw.body();

    // "My requests", the history and the listing tell nothing more.
    Answer listed = call("amelie", "GET", "/v1/me/requests?status=all");
    ASSERT_EQ(listed.body.at("items").as_array().size(), 1u);
    EXPECT_EQ(listed.raw.body().find("vip"), std::string::npos) << listed.raw.body();
    Answer history = call("amelie", "GET", path + "/history");
    ASSERT_EQ(history.status, 200) << history.raw.body();
    ASSERT_EQ(history.body.at("items").as_array().size(), 3u) << history.raw.body();
    EXPECT_EQ(history.raw.body().find("vip"), std::string::npos) << history.raw.body();
    EXPECT_EQ(history.body.at("items").at(2).at("to").as_string(), "Done");
    Answer theirs = call("carla", "GET", path + "/history");
    EXPECT_NE(theirs.raw.body().find("vip"), std::string::npos) << theirs.raw.body();
    EXPECT_EQ(call("amelie", "GET", "/v1/modules/Tickets/records?internal=vip")
                  .body.at("items")
                  .as_array()
                  .size(),
              0u);
    EXPECT_EQ(call("amelie", "GET", "/v1/modules/Tickets/records?subject=Laptop%20broken")
                  .body.at("items")
                  .as_array()
                  .size(),
              1u);
    EXPECT_EQ(call("carla", "GET", "/v1/modules/Tickets/records?internal=vip")
                  .body.at("items")
                  .as_array()
                  .size(),
              1u);
}


TEST_P(RecordsTest, ForbiddenAndUnknownAnswersOverSockets) {
    const std::string deal = create_deal();
    const std::string path = "/v1/modules/Deals/records/" + deal;
    // Not the owner: 403, and the record stays.
    Answer del = call("dan", "DELETE", path);
    EXPECT_EQ(del.status, 403) << del.raw.body();
    EXPECT_EQ(call("amelie", "GET", path).status, 200);
    // A stale If-Match on DELETE: 409; a malformed one: 400 naming the header.
    EXPECT_EQ(call("amelie", "DELETE", path, {}, {{"If-Match", "\"9\""}}).status, 409);
    Answer bad = call("amelie", "DELETE", path, {}, {{"If-Match", "nine"}});
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.body.at("errors").at(0).at("field").as_string(), "If-Match");
    // Unknown things are 404 on every route that names them.
    for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/v1/modules/Deals/records/424242"},
             {"DELETE", "/v1/modules/Deals/records/424242"},
             {"GET", "/v1/modules/Deals/records/424242/history"},
             {"GET", "/v1/modules/Deals/records/424242/transitions"},
             {"GET", "/v1/modules/Nope/records/1/history"},
             {"GET", "/v1/blueprints/Nope"},
             {"GET", "/v1/blueprints/Nope/diagram"},
             {"GET", "/v1/nothing-here"}}) {
        Answer a = call("amelie", method, target);
        EXPECT_EQ(a.status, 404) << method << " " << target << ": " << a.raw.body();
        EXPECT_TRUE(a.body.is_object() && a.body.as_object().contains("detail"))
            << method << " " << target;
    }
    // A team module's record is 404 to an outsider on every route, never 403.
    Answer filed = call("amelie", "POST", "/v1/teamspaces/Support/modules/Tickets/requests",
                        R"({"fields": {"subject": "Printer"}})");
    ASSERT_EQ(filed.status, 201) << filed.raw.body();
    const std::string ticket =
        "/v1/modules/Tickets/records/" + std::string(filed.body.at("id").as_string());
    for (const auto& [method, target, body] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"GET", ticket, ""},
             {"GET", ticket + "/history", ""},
             {"GET", ticket + "/transitions", ""},
             {"PATCH", ticket, R"({"fields": {"subject": "x"}})"},
             {"DELETE", ticket, ""}}) {
        Answer a = call("dan", method, target, body);
        EXPECT_EQ(a.status, 404) << method << " " << target << ": " << a.raw.body();
    }
    // Org-admin-only routes.
    EXPECT_EQ(call("amelie", "GET", "/v1/outbox").status, 403);
    EXPECT_EQ(call("amelie", "PUT", "/v1/definitions", R"({"files": {"a.flow": ""}})").status,
              403);
    Answer move = call("dan", "POST", path + "/move", R"({"state": "Won", "reason": "x"})");
    EXPECT_EQ(move.status, 403) << move.raw.body();
    EXPECT_EQ(call("amelie", "GET", path).body.at("version").as_int64(), 1);
}


INSTANTIATE_TEST_SUITE_P(Stores, RecordsTest,
                         ::testing::Values(StoreKind::Sqlite, StoreKind::Postgres),
                         [](const auto& param_info) {
                             return param_info.param == StoreKind::Sqlite ? "sqlite" : "postgresql";
                         });

} // namespace
} // namespace teamflow::server
