// Real `teamflow serve` processes over loopback sockets: two nodes on one PostgreSQL sharing the
// load (concurrent transitions, a publish seen by the other node, webhooks delivered once, timers
// firing once), a server killed with SIGKILL under load that keeps every answered write (SQLite
// and PostgreSQL), and HEAD on GET routes. The processes find a free port themselves
// (`listen = "127.0.0.1:0"`) and report it with `--port-file`.

#include "http_client.hpp"

#include <atomic>
#include <barrier>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace teamflow::server {
namespace {

namespace json = boost::json;
using testing::Client;
using testing::HttpResponse;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// Generous: the machine is small and shared; conditions are polled, never timed.
constexpr auto deadline_after = 90s;

std::string pg_test_url() {
    const char* url = std::getenv("TEAMFLOW_TEST_PG_URL");
    return url == nullptr ? std::string() : std::string(url);
}

/// A PostgreSQL URL whose connections use `schema` (libpq's `options`): each test its own tables.
std::string with_search_path(const std::string& url, const std::string& schema) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") +
           "options=-csearch_path%3D" + schema;
}

/// A schema made for one test and dropped after it.
class PgSchema {
public:
    PgSchema(std::string url, std::string name) : url_(std::move(url)), name_(std::move(name)) {
        pqxx::connection c(url_);
        pqxx::nontransaction tx(c);
        tx.exec("CREATE SCHEMA " + tx.quote_name(name_));
    }
    ~PgSchema() {
        try {
            pqxx::connection c(url_);
            pqxx::nontransaction tx(c);
            tx.exec("DROP SCHEMA " + tx.quote_name(name_) + " CASCADE");
        } catch (const std::exception&) {
            // left behind in a throwaway test database
        }
    }
    PgSchema(const PgSchema&) = delete;
    PgSchema& operator=(const PgSchema&) = delete;

private:
    std::string url_;
    std::string name_;
};

/// A webhook receiver on 127.0.0.1 port 0: answers 503 while `down`, 200 otherwise, and keeps
/// every request's `Idempotency-Key`, body and the status it answered.
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
    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;

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

/// The definitions every node serves: a pipeline with a webhook on Submit and a 2 s timer.
std::string definitions(std::uint16_t hook_port, bool with_notes = false) {
    std::string text = fmt::format(R"(role Seller, Finance

user amelie {{ name "Amelie" email "amelie@x.test" roles Seller }}
user bruno  {{ name "Bruno" email "bruno@x.test" roles Finance }}

module Deals {{
  field title: text required
  field amount: currency
  field stage: picklist ["Open", "Review", "Won", "Lost", "Cooling", "Cold"] default "Open"
}}

blueprint Pipeline on Deals.stage {{
  transition Submit from Open to Review {{
    by owner
    require amount
    then webhook "http://127.0.0.1:{}/hook"
  }}
  transition Lose from Review to Lost {{
    by owner
    note required
  }}
  transition Cool from Lost to Cooling {{ by owner }}
  transition Freeze from Cooling to Cold after 2s {{ }}
}}
)",
                                   hook_port);
    if (with_notes) {
        text += "\nmodule Notes {\n  field text: text required\n}\n";
    }
    return text;
}

/// A `teamflow serve` process with its log in a file.
class ServeProcess {
public:
    ServeProcess(std::filesystem::path dir, std::string name, std::string config, std::string store)
        : dir_(std::move(dir)), name_(std::move(name)), config_(std::move(config)),
          store_(std::move(store)) {}
    ~ServeProcess() { stop(); }
    ServeProcess(const ServeProcess&) = delete;
    ServeProcess& operator=(const ServeProcess&) = delete;

    /// Starts the process and waits until it wrote its port file.
    ::testing::AssertionResult start() {
        const std::string port_file = (dir_ / (name_ + ".port")).string();
        const std::string log = (dir_ / (name_ + ".log")).string();
        std::error_code ec;
        std::filesystem::remove(port_file, ec);
        std::vector<std::string> args = {TEAMFLOW_CLI, "serve",         "--config",
                                         config_,      "--listen",      "127.0.0.1:0",
                                         "--store",    store_,          "--port-file",
                                         port_file};
        std::vector<char*> argv;
        for (std::string& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                         0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        const int rc = posix_spawn(&pid_, TEAMFLOW_CLI, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            pid_ = 0;
            return ::testing::AssertionFailure() << "cannot start " << TEAMFLOW_CLI << ": rc " << rc;
        }
        const auto deadline = Clock::now() + deadline_after;
        while (Clock::now() < deadline) {
            std::ifstream in(port_file);
            int port = 0;
            if (in >> port && port > 0) {
                port_ = static_cast<std::uint16_t>(port);
                return ::testing::AssertionSuccess();
            }
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = 0;
                return ::testing::AssertionFailure()
                       << name_ << " exited at start-up (status " << status << "):\n"
                       << log_text();
            }
            std::this_thread::sleep_for(20ms);
        }
        return ::testing::AssertionFailure() << name_ << " wrote no port file:\n" << log_text();
    }

    /// SIGKILL: no drain, no clean-up.
    void kill_hard() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = 0;
        }
    }

    /// SIGTERM, then waits for the exit status (SIGKILL if it does not stop in time).
    int stop() {
        if (pid_ <= 0) {
            return -1;
        }
        ::kill(pid_, SIGTERM);
        int status = 0;
        const auto deadline = Clock::now() + deadline_after;
        while (Clock::now() < deadline) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = 0;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(20ms);
        }
        kill_hard();
        return -2;
    }

    std::uint16_t port() const { return port_; }
    std::string log_text() const {
        std::ifstream in(dir_ / (name_ + ".log"));
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

private:
    std::filesystem::path dir_;
    std::string name_;
    std::string config_;
    std::string store_;
    pid_t pid_ = 0;
    std::uint16_t port_ = 0;
};

/// One answer; status 0 when the connection failed (the server is down).
struct Answer {
    int status = 0;
    json::value body;
    std::string raw;
    std::string etag;
};

Answer call(std::uint16_t port, const std::string& user, const std::string& method,
            const std::string& target, const std::string& body = {},
            std::vector<std::pair<std::string, std::string>> headers = {}) {
    Answer a;
    try {
        Client client(port);
        headers.emplace_back("Authorization", "Bearer t-" + user);
        if (!body.empty()) {
            headers.emplace_back("Content-Type", "application/json");
        }
        client.send(method, target, body, headers);
        boost::beast::error_code ec;
        HttpResponse r = client.read(ec);
        if (ec) {
            return a;
        }
        a.status = static_cast<int>(r.result_int());
        a.raw = r.body();
        a.etag = std::string(r[boost::beast::http::field::etag]);
        boost::system::error_code jec;
        a.body = json::parse(a.raw, jec);
    } catch (const std::exception&) {
        a.status = 0;
    }
    return a;
}

std::string if_match(std::int64_t version) { return fmt::format("\"{}\"", version); }

/// Polls `done` until it holds or the deadline passes.
template <class F>
bool eventually(F&& done) {
    const auto deadline = Clock::now() + deadline_after;
    while (Clock::now() < deadline) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(50ms);
    }
    return done();
}

enum class StoreKind { Sqlite, Postgres };

class NodesTest : public ::testing::TestWithParam<StoreKind> {
protected:
    void SetUp() override {
        std::random_device rd;
        const unsigned tag = rd() % 1000000;
        dir_ = std::filesystem::temp_directory_path() /
               fmt::format("teamflow-nodes-{}-{}", ::getpid(), tag);
        std::filesystem::create_directories(dir_ / "defs");
        std::ofstream(dir_ / "defs" / "test.flow") << definitions(receiver_.port());
        if (GetParam() == StoreKind::Postgres) {
            const std::string url = pg_test_url();
            if (url.empty()) {
                if (std::getenv("CI") != nullptr) {
                    FAIL() << "TEAMFLOW_TEST_PG_URL is required in CI";
                }
                GTEST_SKIP() << "TEAMFLOW_TEST_PG_URL is not set";
            }
            const std::string schema = fmt::format("nodes_test_{}_{}", ::getpid(), tag);
            schema_ = std::make_unique<PgSchema>(url, schema);
            store_ = with_search_path(url, schema);
        } else {
            store_ = "sqlite://" + (dir_ / "teamflow.db").string();
        }
        config_ = (dir_ / "teamflow.toml").string();
        std::ofstream(config_) << fmt::format(R"([server]
listen = "127.0.0.1:0"
threads = 2
workers = 4
request_timeout_ms = 20000

[store]
url = "{}"
pool = 4

[definitions]
dir = "{}"

[auth]
org_admins = ["bruno"]
tokens = {{ amelie = "t-amelie", bruno = "t-bruno" }}

[webhooks]
timeout_ms = 1000
max_attempts = 30

[log]
level = "warn"
)",
                                              store_, (dir_ / "defs").string());
    }

    void TearDown() override {
        nodes_.clear(); // SIGTERM each
        schema_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    /// Starts one more node on the same store.
    ServeProcess& node() {
        nodes_.push_back(std::make_unique<ServeProcess>(
            dir_, fmt::format("node{}", nodes_.size()), config_, store_));
        EXPECT_TRUE(nodes_.back()->start());
        return *nodes_.back();
    }

    /// Creates a deal on a node; its id (empty when refused).
    std::string create_deal(std::uint16_t port, const std::string& title) {
        Answer a = call(port, "amelie", "POST", "/v1/modules/Deals/records",
                        fmt::format(R"({{"fields": {{"title": "{}", "amount": "100.00"}}}})",
                                    title));
        EXPECT_EQ(a.status, 201) << a.raw;
        return a.status == 201 ? std::string(a.body.at("id").as_string()) : std::string();
    }

    Answer transition(std::uint16_t port, const std::string& id, const std::string& name,
                      std::int64_t version, const std::string& body = "{}") {
        return call(port, "amelie", "POST",
                    "/v1/modules/Deals/records/" + id + "/transitions/" + name, body,
                    {{"If-Match", if_match(version)}});
    }

    json::array history(std::uint16_t port, const std::string& id) {
        Answer a = call(port, "amelie", "GET", "/v1/modules/Deals/records/" + id + "/history");
        EXPECT_EQ(a.status, 200) << a.raw;
        return a.status == 200 ? a.body.at("items").as_array() : json::array();
    }

    std::string state(std::uint16_t port, const std::string& id) {
        Answer a = call(port, "amelie", "GET", "/v1/modules/Deals/records/" + id);
        if (a.status != 200) {
            return {};
        }
        return std::string(a.body.at("blueprint").at("state").as_string());
    }

    std::filesystem::path dir_;
    Receiver receiver_;
    std::unique_ptr<PgSchema> schema_;
    std::string store_;
    std::string config_;
    std::vector<std::unique_ptr<ServeProcess>> nodes_;
};

class TwoNodesTest : public NodesTest {};

// --- two nodes on one PostgreSQL ----------------------------------------------------------------

TEST_P(TwoNodesTest, ConcurrentTransitionsHaveOneWinnerPerVersion) {
    ServeProcess& a = node();
    ServeProcess& b = node();
    ASSERT_NE(a.port(), 0);
    ASSERT_NE(b.port(), 0);
    const std::uint16_t ports[2] = {a.port(), b.port()};
    constexpr int records = 4;
    constexpr int threads = 6;
    std::vector<std::string> ids;
    for (int r = 0; r < records; ++r) {
        ids.push_back(create_deal(ports[r % 2], fmt::format("Deal {}", r)));
        ASSERT_FALSE(ids.back().empty());
    }
    // Each round: every thread (half on each node) tries the same transition from the same
    // version; exactly one may win, the others are 409.
    const std::vector<std::pair<std::string, std::string>> rounds = {
        {"Submit", "{}"}, {"Lose", R"({"note": "lost"})"}, {"Cool", "{}"}};
    std::mutex mu;
    std::map<std::pair<int, int>, std::vector<int>> statuses; // (record, round) → statuses
    std::barrier sync(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int r = 0; r < records; ++r) {
                for (std::size_t k = 0; k < rounds.size(); ++k) {
                    sync.arrive_and_wait();
                    const Answer ans = transition(ports[t % 2], ids[static_cast<std::size_t>(r)],
                                                  rounds[k].first, static_cast<std::int64_t>(k) + 1,
                                                  rounds[k].second);
                    std::lock_guard lock(mu);
                    statuses[{r, static_cast<int>(k)}].push_back(ans.status);
                }
            }
        });
    }
    for (std::thread& t : pool) {
        t.join();
    }
    for (const auto& [key, got] : statuses) {
        EXPECT_EQ(std::count(got.begin(), got.end(), 200), 1)
            << "record " << key.first << " round " << key.second;
        EXPECT_EQ(std::count(got.begin(), got.end(), 409), threads - 1)
            << "record " << key.first << " round " << key.second;
    }
    // The history, read on either node, has each transition once, in order, one per version.
    for (const std::string& id : ids) {
        for (std::uint16_t port : ports) {
            const json::array h = history(port, id);
            std::vector<std::string> names;
            std::int64_t last_version = 0;
            for (const json::value& e : h) {
                const std::int64_t v = e.at("version").as_int64();
                EXPECT_GT(v, last_version);
                last_version = v;
                if (e.at("kind").as_string() == "transition") {
                    names.emplace_back(e.at("name").as_string());
                }
            }
            EXPECT_EQ(names, (std::vector<std::string>{"Submit", "Lose", "Cool"})) << id;
        }
    }
}

TEST_P(TwoNodesTest, APublishOnOneNodeReachesTheOther) {
    ServeProcess& a = node();
    ServeProcess& b = node();
    ASSERT_NE(b.port(), 0);
    json::object files;
    files["test.flow"] = definitions(receiver_.port(), true);
    json::object body;
    body["files"] = files;
    Answer published = call(a.port(), "bruno", "PUT", "/v1/definitions", json::serialize(body),
                            {{"If-Match", if_match(1)}});
    ASSERT_EQ(published.status, 200) << published.raw;
    EXPECT_EQ(published.body.at("version").as_int64(), 2);
    // Node B's engine loads version 2 without a restart (a NOTIFY, or the poll when that is
    // missed): `/healthz` reports the version the node runs, not the store's latest.
    EXPECT_TRUE(eventually([&] {
        Answer v = call(b.port(), "bruno", "GET", "/healthz");
        return v.status == 200 && v.body.at("definitions_version").as_int64() == 2;
    })) << b.log_text();
    Answer v2 = call(b.port(), "bruno", "GET", "/v1/definitions");
    ASSERT_EQ(v2.status, 200) << v2.raw;
    EXPECT_EQ(v2.body.at("version").as_int64(), 2);
    Answer note = call(b.port(), "amelie", "POST", "/v1/modules/Notes/records",
                       R"({"fields": {"text": "seen on B"}})");
    EXPECT_EQ(note.status, 201) << note.raw;
    // B cannot publish over version 2 from version 1.
    Answer stale = call(b.port(), "bruno", "PUT", "/v1/definitions", json::serialize(body),
                        {{"If-Match", if_match(1)}});
    EXPECT_EQ(stale.status, 409) << stale.raw;
    Answer health = call(b.port(), "bruno", "GET", "/healthz");
    EXPECT_EQ(health.status, 200) << health.raw;
}

TEST_P(TwoNodesTest, AWebhookIsDeliveredOnceAndLaterWhenTheReceiverComesBack) {
    ServeProcess& a = node();
    ServeProcess& b = node();
    ASSERT_NE(b.port(), 0);
    const std::uint16_t ports[2] = {a.port(), b.port()};
    constexpr int deals = 6;
    receiver_.down = true;
    for (int k = 0; k < deals; ++k) {
        const std::string id = create_deal(ports[k % 2], fmt::format("Hook {}", k));
        ASSERT_FALSE(id.empty());
        ASSERT_EQ(transition(ports[(k + 1) % 2], id, "Submit", 1).status, 200);
    }
    // Refused while the receiver is down (each delivery tried, with back-off) …
    ASSERT_TRUE(eventually([&] { return receiver_.hits().size() >= 2 * deals; }));
    Answer none = call(a.port(), "bruno", "GET", "/v1/outbox?status=delivered");
    ASSERT_EQ(none.status, 200) << none.raw;
    EXPECT_TRUE(none.body.at("items").as_array().empty());
    // Both nodes count the shared backlog (in the store, without loading the rows).
    for (std::uint16_t port : ports) {
        Answer metrics = call(port, "bruno", "GET", "/metrics");
        ASSERT_EQ(metrics.status, 200);
        EXPECT_NE(metrics.raw.find(fmt::format("teamflow_outbox_backlog{{status=\"pending\"}} {}\n",
                                               deals)),
                  std::string::npos)
            << metrics.raw;
    }
    // … then delivered once it is back.
    receiver_.down = false;
    ASSERT_TRUE(eventually([&] {
        Answer d = call(b.port(), "bruno", "GET", "/v1/outbox?status=delivered");
        return d.status == 200 && d.body.at("items").as_array().size() == deals;
    })) << a.log_text() << b.log_text();
    const auto hits = receiver_.hits();
    std::map<std::string, int> delivered;
    std::map<std::string, std::set<std::string>> bodies;
    for (const Receiver::Hit& h : hits) {
        EXPECT_FALSE(h.key.empty());
        bodies[h.key].insert(h.body);
        if (h.status == 200) {
            ++delivered[h.key];
        }
    }
    EXPECT_EQ(bodies.size(), static_cast<std::size_t>(deals)); // one key per delivery
    EXPECT_EQ(delivered.size(), static_cast<std::size_t>(deals));
    for (const auto& [key, n] : delivered) {
        EXPECT_EQ(n, 1) << key << " was delivered " << n << " times";
        EXPECT_EQ(bodies[key].size(), 1u) << key << ": every retry carries the same body";
    }
    Answer drained = call(b.port(), "bruno", "GET", "/metrics");
    EXPECT_NE(drained.raw.find("teamflow_outbox_backlog{status=\"pending\"} 0\n"),
              std::string::npos)
        << drained.raw;
    Answer outbox = call(a.port(), "bruno", "GET", "/v1/outbox?status=delivered");
    for (const json::value& row : outbox.body.at("items").as_array()) {
        EXPECT_GE(row.at("attempts").as_int64(), 2); // failed at least once, then delivered
    }
}

TEST_P(TwoNodesTest, AnAfterTwoSecondsTimerFiresOnceWithBothNodesRunning) {
    ServeProcess& a = node();
    ServeProcess& b = node();
    ASSERT_NE(b.port(), 0);
    const std::uint16_t ports[2] = {a.port(), b.port()};
    receiver_.down = false;
    constexpr int deals = 4;
    std::vector<std::string> ids;
    for (int k = 0; k < deals; ++k) {
        const std::string id = create_deal(ports[k % 2], fmt::format("Cold {}", k));
        ASSERT_FALSE(id.empty());
        ASSERT_EQ(transition(ports[k % 2], id, "Submit", 1).status, 200);
        ASSERT_EQ(transition(ports[(k + 1) % 2], id, "Lose", 2, R"({"note": "no budget"})").status,
                  200);
        ASSERT_EQ(transition(ports[k % 2], id, "Cool", 3).status, 200);
        ids.push_back(id);
    }
    for (const std::string& id : ids) {
        EXPECT_TRUE(eventually([&] { return state(b.port(), id) == "Cold"; }))
            << id << ": " << state(b.port(), id);
    }
    for (const std::string& id : ids) {
        int fired = 0;
        for (const json::value& e : history(a.port(), id)) {
            if (e.at("kind").as_string() == "automatic") {
                ++fired;
                EXPECT_EQ(e.at("name").as_string(), "Freeze");
                EXPECT_EQ(e.at("version").as_int64(), 5);
            }
        }
        EXPECT_EQ(fired, 1) << id;
    }
}

INSTANTIATE_TEST_SUITE_P(Postgres, TwoNodesTest, ::testing::Values(StoreKind::Postgres),
                         [](const auto&) { return std::string("postgresql"); });

// --- SIGKILL under load -------------------------------------------------------------------------

TEST_P(NodesTest, EveryAnsweredWriteSurvivesAKill) {
    ServeProcess& server = node();
    ASSERT_NE(server.port(), 0);
    const std::uint16_t port = server.port();
    struct Written {
        std::string id;
        std::int64_t version = 0;
        bool submitted = false;
    };
    std::mutex mu;
    std::vector<Written> written;
    std::atomic<int> answered{0};
    std::atomic<bool> stop{false};
    constexpr int threads = 4;
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t) {
        clients.emplace_back([&, t] {
            for (int k = 0; !stop; ++k) {
                Answer created = call(port, "amelie", "POST", "/v1/modules/Deals/records",
                                      fmt::format(R"({{"fields": {{"title": "T{}-{}", )"
                                                  R"("amount": "{}.00"}}}})",
                                                  t, k, k + 1));
                if (created.status != 201) {
                    return; // killed
                }
                Written w{std::string(created.body.at("id").as_string()),
                          created.body.at("version").as_int64(), false};
                {
                    std::lock_guard lock(mu);
                    written.push_back(w);
                }
                ++answered;
                Answer moved = call(port, "amelie", "POST",
                                    "/v1/modules/Deals/records/" + w.id + "/transitions/Submit",
                                    "{}", {{"If-Match", if_match(w.version)}});
                if (moved.status != 200) {
                    return;
                }
                {
                    std::lock_guard lock(mu);
                    for (Written& x : written) {
                        if (x.id == w.id) {
                            x.version = moved.body.at("record").at("version").as_int64();
                            x.submitted = true;
                        }
                    }
                }
                ++answered;
            }
        });
    }
    // Kill it in the middle of the load.
    const bool loaded = eventually([&] { return answered >= 60; });
    server.kill_hard();
    stop = true;
    for (std::thread& t : clients) {
        t.join();
    }
    ASSERT_TRUE(loaded) << server.log_text();

    ServeProcess& again = node();
    ASSERT_NE(again.port(), 0);
    ASSERT_GE(written.size(), 30u);
    int submitted = 0;
    for (const Written& w : written) {
        Answer rec = call(again.port(), "amelie", "GET", "/v1/modules/Deals/records/" + w.id);
        ASSERT_EQ(rec.status, 200) << "record " << w.id << " answered 201 but is gone: " << rec.raw;
        EXPECT_GE(rec.body.at("version").as_int64(), w.version) << w.id;
        if (!w.submitted) {
            continue;
        }
        ++submitted;
        EXPECT_EQ(rec.body.at("blueprint").at("state").as_string(), "Review") << w.id;
        bool found = false;
        for (const json::value& e : history(again.port(), w.id)) {
            found = found || (e.at("kind").as_string() == "transition" &&
                              e.at("name").as_string() == "Submit");
        }
        EXPECT_TRUE(found) << "the answered Submit of " << w.id << " is not in its history";
    }
    EXPECT_GT(submitted, 0);
}

// --- HEAD ---------------------------------------------------------------------------------------

/// Sends HEAD, then GET of the same target on one connection; both answers.
std::pair<testing::http::response<testing::http::empty_body>, HttpResponse>
head_then_get(std::uint16_t port, const std::string& target, const std::string& token) {
    namespace http = testing::http;
    testing::net::io_context ioc;
    testing::tcp::socket socket(ioc);
    socket.connect({testing::net::ip::make_address("127.0.0.1"), port});
    testing::beast::flat_buffer buffer;
    const auto request = [&](http::verb verb) {
        http::request<http::empty_body> req{verb, target, 11};
        req.set(http::field::host, "127.0.0.1");
        if (!token.empty()) {
            req.set(http::field::authorization, "Bearer " + token);
        }
        http::write(socket, req);
    };
    request(http::verb::head);
    http::response_parser<http::empty_body> head;
    head.skip(true); // a response to HEAD has no body, whatever its Content-Length says
    http::read(socket, buffer, head);
    request(http::verb::get);
    HttpResponse get;
    http::read(socket, buffer, get);
    return {head.release(), std::move(get)};
}

TEST_P(NodesTest, HeadAnswersEveryGetRouteWithoutABody) {
    ServeProcess& server = node();
    ASSERT_NE(server.port(), 0);
    const std::string id = create_deal(server.port(), "Head");
    ASSERT_FALSE(id.empty());
    for (const std::string& target :
         {std::string("/healthz"), std::string("/openapi.json"), std::string("/v1/blueprints"),
          "/v1/modules/Deals/records/" + id, std::string("/v1/modules/Deals/records?limit=5")}) {
        const auto [head, get] = head_then_get(server.port(), target, "t-amelie");
        EXPECT_EQ(head.result_int(), 200u) << target;
        EXPECT_EQ(get.result_int(), 200u) << target;
        EXPECT_EQ(head[testing::http::field::content_length],
                  std::to_string(get.body().size()))
            << target;
        EXPECT_EQ(head[testing::http::field::content_type], get[testing::http::field::content_type])
            << target;
    }
    // The same answers as GET when GET is refused: 401 without a token, 404 for no record.
    EXPECT_EQ(head_then_get(server.port(), "/v1/blueprints", "").first.result_int(), 401u);
    EXPECT_EQ(head_then_get(server.port(), "/v1/modules/Deals/records/999999", "t-amelie")
                  .first.result_int(),
              404u);
    // A path without GET is still 405 for HEAD; a path with GET lists HEAD in `Allow`.
    const auto post_only = head_then_get(server.port(), "/v1/definitions/check", "t-amelie");
    EXPECT_EQ(post_only.first.result_int(), 405u);
    EXPECT_EQ(post_only.first[testing::http::field::allow], "POST");
    Client c(server.port());
    const HttpResponse del =
        c.request("DELETE", "/v1/blueprints", {}, {{"Authorization", "Bearer t-amelie"}});
    EXPECT_EQ(del.result_int(), 405u);
    EXPECT_EQ(del[testing::http::field::allow], "GET, HEAD");
}

INSTANTIATE_TEST_SUITE_P(Stores, NodesTest,
                         ::testing::Values(StoreKind::Sqlite, StoreKind::Postgres),
                         [](const auto& p) {
                             return std::string(p.param == StoreKind::Sqlite ? "sqlite"
                                                                             : "postgresql");
                         });

} // namespace
} // namespace teamflow::server
