// The service over real sockets on 127.0.0.1, port 0: routes, conventions, limits, keep-alive,
// pipelining and the graceful drain.

#include "http_client.hpp"
#include "teamflow/server/auth.hpp"
#include "teamflow/server/log.hpp"
#include "teamflow/server/problem.hpp"
#include "teamflow/server/routes.hpp"
#include "teamflow/server/server.hpp"

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <mutex>
#include <sstream>
#include <thread>

namespace teamflow::server {
namespace {

namespace json = boost::json;
using testing::Client;
using testing::HttpResponse;
using Headers = std::vector<std::pair<std::string, std::string>>;

const Headers amelie = {{"Authorization", "Bearer tok-amelie"}};
const Headers json_amelie = {{"Authorization", "Bearer tok-amelie"},
                             {"Content-Type", "application/json"}};

Config test_config(const std::function<void(Config&)>& tweak = nullptr) {
    ConfigOverrides none;
    auto parsed =
        parse_config(R"([server]
listen = "127.0.0.1:0"
threads = 2
workers = 2
max_body_bytes = 65536
request_timeout_ms = 5000
idle_timeout_ms = 5000
header_limit_bytes = 2048

[auth]
org_admins = ["bruno"]
tokens = { amelie = "tok-amelie" }
token_hashes = { bruno = "2ebf97a1a6da40bc99e9d490650d17f85ad24c39c0f3c25632dfa0f7bb9aa083" }

[log]
level = "off"
)",
                     "test.toml", none, [](const char*) -> const char* { return nullptr; });
    Config c = std::get<Config>(std::move(parsed));
    if (tweak) {
        tweak(c);
    }
    set_log_level(c.log.level);
    return c;
}

/// A running server with the real routes (and whatever a test adds before `start`).
class Harness {
public:
    explicit Harness(Config config = test_config(), RouteDeps deps = default_deps())
        : service_(std::move(config)) {
        register_routes(service_, deps);
    }
    ~Harness() { stop(); }
    Harness(const Harness&) = delete;
    Harness& operator=(const Harness&) = delete;

    static RouteDeps default_deps() {
        RouteDeps d;
        d.store_health = [] { return StoreHealth{"sqlite", true, {}}; };
        d.definitions_version = [] { return std::int64_t{7}; };
        return d;
    }

    Router& router() { return service_.router(); }
    Service& service() { return service_; }

    void start() {
        server_ = std::make_unique<Server>(service_);
        const auto error = server_->start();
        ASSERT_FALSE(error.has_value()) << *error;
        port_ = server_->port();
    }
    void stop() {
        if (server_) {
            server_->stop();
            server_->wait();
            server_.reset();
        }
    }
    Server& server() { return *server_; }
    std::uint16_t port() const { return port_; }

private:
    Service service_;
    std::unique_ptr<Server> server_;
    std::uint16_t port_ = 0;
};

json::object json_of(const HttpResponse& r) {
    json::error_code ec;
    json::value v = json::parse(r.body(), ec);
    if (ec || !v.is_object()) {
        ADD_FAILURE() << "not a JSON object: " << r.body();
        return {};
    }
    return v.as_object();
}

void expect_problem(const HttpResponse& r, unsigned status) {
    EXPECT_EQ(r.result_int(), status) << r.body();
    EXPECT_EQ(r[boost::beast::http::field::content_type], problem_content_type);
    const json::object o = json_of(r);
    EXPECT_EQ(o.at("status").as_int64(), static_cast<std::int64_t>(status));
    EXPECT_TRUE(o.contains("type") && o.contains("title") && o.contains("detail"));
}

std::string example_files_body(const std::string& example) {
    json::object files;
    for (const auto& entry : std::filesystem::directory_iterator(
             std::filesystem::path(TEAMFLOW_SOURCE_DIR) / "examples" / example)) {
        if (entry.path().extension() != ".flow") {
            continue;
        }
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        files[entry.path().filename().string()] = text.str();
    }
    return json::serialize(json::object{{"files", files}});
}

class Http : public ::testing::Test {
protected:
    void SetUp() override { h_.start(); }
    Harness h_;
};

TEST_F(Http, Healthz) {
    Client c(h_.port());
    const HttpResponse r = c.request("GET", "/healthz", {}, {{"X-Request-Id", "req-1"}});
    EXPECT_EQ(r.result_int(), 200u);
    EXPECT_EQ(r["X-Request-Id"], "req-1");
    EXPECT_EQ(r[boost::beast::http::field::content_type], json_content_type);
    const json::object o = json_of(r);
    EXPECT_EQ(o.at("status").as_string(), "ok");
    EXPECT_EQ(o.at("store").as_string(), "sqlite");
    EXPECT_EQ(o.at("definitions_version").as_int64(), 7);
}

TEST(HttpStore, HealthzIs503WhenTheStoreIsDown) {
    RouteDeps deps = Harness::default_deps();
    deps.store_health = [] { return StoreHealth{"postgresql", false, "connection refused"}; };
    Harness h(test_config(), deps);
    h.start();
    Client c(h.port());
    const HttpResponse r = c.request("GET", "/healthz");
    expect_problem(r, 503);
    EXPECT_EQ(json_of(r).at("store").as_string(), "postgresql");
    EXPECT_EQ(json_of(r).at("detail").as_string(), "connection refused");
}

TEST_F(Http, MetricsCountRequests) {
    Client c(h_.port());
    c.request("GET", "/healthz");
    c.request("GET", "/nowhere", {}, amelie);
    expect_problem(c.request("GET", "/metrics"), 401);
    const HttpResponse r = c.request("GET", "/metrics", {}, amelie);
    EXPECT_EQ(r.result_int(), 200u);
    EXPECT_EQ(r[boost::beast::http::field::content_type],
              "text/plain; version=0.0.4; charset=utf-8");
    const std::string& text = r.body();
    EXPECT_NE(text.find("teamflow_http_requests_total{route=\"/healthz\",method=\"GET\","
                        "status=\"200\"} 1"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("teamflow_http_requests_total{route=\"(unmatched)\",method=\"GET\","
                        "status=\"404\"} 1"),
              std::string::npos);
    EXPECT_NE(text.find("teamflow_http_request_duration_seconds_bucket{route=\"/healthz\","
                        "le=\"+Inf\"} 1"),
              std::string::npos);
    EXPECT_NE(text.find("# TYPE teamflow_transitions_total counter"), std::string::npos);
    EXPECT_NE(text.find("teamflow_timers_due 0"), std::string::npos);
}

TEST_F(Http, OpenApiIsPublic) {
    Client c(h_.port());
    const HttpResponse r = c.request("GET", "/openapi.json");
    EXPECT_EQ(r.result_int(), 200u);
    EXPECT_EQ(json_of(r).at("openapi").as_string(), "3.1.0");
}

TEST_F(Http, CheckGoodSources) {
    Client c(h_.port());
    const HttpResponse r =
        c.request("POST", "/v1/definitions/check", example_files_body("hiring"), json_amelie);
    ASSERT_EQ(r.result_int(), 200u) << r.body();
    const json::object o = json_of(r);
    EXPECT_TRUE(o.at("ok").as_bool()) << r.body();
    EXPECT_TRUE(o.at("diagnostics").is_array());
    EXPECT_FALSE(o.at("blueprints").as_array().empty()) << r.body();
}

TEST_F(Http, CheckBrokenSources) {
    Client c(h_.port());
    const HttpResponse r = c.request(
        "POST", "/v1/definitions/check",
        R"({"files": {"broken.flow": "module Deals {\n  field amount: nonsense\n"}})", json_amelie);
    ASSERT_EQ(r.result_int(), 200u) << r.body();
    const json::object o = json_of(r);
    EXPECT_FALSE(o.at("ok").as_bool());
    const json::array& ds = o.at("diagnostics").as_array();
    ASSERT_FALSE(ds.empty());
    const json::object& d = ds[0].as_object();
    EXPECT_EQ(d.at("file").as_string(), "broken.flow");
    EXPECT_EQ(d.at("severity").as_string(), "error");
    for (const char* key : {"line", "column", "end_line", "end_column", "code", "message"}) {
        EXPECT_TRUE(d.contains(key)) << key;
    }
}

TEST_F(Http, MalformedJsonIs400) {
    Client c(h_.port());
    expect_problem(c.request("POST", "/v1/definitions/check", "{\"files\": ", json_amelie), 400);
    expect_problem(c.request("POST", "/v1/definitions/check", "", json_amelie), 400);
}

TEST_F(Http, UnknownMemberAndWrongTypeAre422NamingTheField) {
    Client c(h_.port());
    HttpResponse r = c.request("POST", "/v1/definitions/check",
                               R"({"files": {"a.flow": ""}, "publish": true})", json_amelie);
    expect_problem(r, 422);
    json::array errors = json_of(r).at("errors").as_array();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].at("field").as_string(), "publish");

    r = c.request("POST", "/v1/definitions/check", R"({"files": ["a.flow"]})", json_amelie);
    expect_problem(r, 422);
    EXPECT_EQ(json_of(r).at("errors").as_array()[0].at("field").as_string(), "files");

    r = c.request("POST", "/v1/definitions/check", R"({"files": {"a.flow": 3}})", json_amelie);
    expect_problem(r, 422);
    EXPECT_EQ(json_of(r).at("errors").as_array()[0].at("field").as_string(), "files.a.flow");

    r = c.request("POST", "/v1/definitions/check", R"({})", json_amelie);
    expect_problem(r, 422);
    EXPECT_EQ(json_of(r).at("errors").as_array()[0].at("message").as_string(), "is required");
}

TEST_F(Http, WrongContentTypeIs415) {
    Client c(h_.port());
    expect_problem(
        c.request("POST", "/v1/definitions/check", R"({"files": {}})",
                  {{"Authorization", "Bearer tok-amelie"}, {"Content-Type", "text/plain"}}),
        415);
}

TEST_F(Http, OversizeBodyIs413) {
    Client c(h_.port());
    const std::string big = "{\"files\": {\"a.flow\": \"" + std::string(70000, 'x') + "\"}}";
    const HttpResponse r = c.request("POST", "/v1/definitions/check", big, json_amelie);
    expect_problem(r, 413);
    EXPECT_FALSE(r.keep_alive());
}

TEST_F(Http, OversizeChunkedBodyIs413) {
    Client c(h_.port());
    std::string raw = "POST /v1/definitions/check HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Bearer tok-amelie\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 20; ++i) {
        raw += "1000\r\n" + std::string(0x1000, ' ') + "\r\n";
    }
    raw += "0\r\n\r\n";
    c.send_raw(raw);
    expect_problem(c.read(), 413);
}

TEST_F(Http, OversizeHeadersAre431) {
    Client c(h_.port());
    const HttpResponse r =
        c.request("GET", "/healthz", {}, {{"X-Padding", std::string(4096, 'p')}});
    expect_problem(r, 431);
}

TEST_F(Http, MissingOrBadTokenIs401WithWwwAuthenticate) {
    Client c(h_.port());
    HttpResponse r = c.request("POST", "/v1/definitions/check", R"({"files": {}})",
                               {{"Content-Type", "application/json"}});
    expect_problem(r, 401);
    EXPECT_EQ(r[boost::beast::http::field::www_authenticate].substr(0, 6), "Bearer");
    r = c.request("POST", "/v1/definitions/check", R"({"files": {}})",
                  {{"Content-Type", "application/json"}, {"Authorization", "Bearer nope"}});
    expect_problem(r, 401);
    EXPECT_EQ(r[boost::beast::http::field::www_authenticate].substr(0, 6), "Bearer");
}

TEST_F(Http, HashedTokenAuthenticates) {
    Client c(h_.port());
    EXPECT_EQ(
        c.request("GET", "/metrics", {}, {{"Authorization", "Bearer tok-bruno"}}).result_int(),
        200u);
}

TEST_F(Http, UnknownRouteIs404AndWrongMethodIs405) {
    Client c(h_.port());
    expect_problem(c.request("GET", "/v1/nothing/here", {}, amelie), 404);
    const HttpResponse r = c.request("GET", "/v1/definitions/check", {}, amelie);
    expect_problem(r, 405);
    EXPECT_EQ(r[boost::beast::http::field::allow], "POST");
}

TEST_F(Http, KeepAliveServesSeveralRequestsOnOneConnection) {
    Client c(h_.port());
    for (int i = 0; i < 5; ++i) {
        const HttpResponse r = c.request("GET", "/healthz");
        EXPECT_EQ(r.result_int(), 200u);
        EXPECT_TRUE(r.keep_alive());
    }
    expect_problem(c.request("POST", "/v1/definitions/check", "{", json_amelie), 400);
    EXPECT_EQ(c.request("GET", "/openapi.json").result_int(), 200u);
}

TEST_F(Http, PipelinedRequestsAreAnsweredInOrder) {
    Client c(h_.port());
    std::string raw;
    for (int i = 0; i < 6; ++i) {
        const std::string target = i % 2 == 0 ? "/healthz" : "/nowhere";
        raw += "GET " + target + " HTTP/1.1\r\nHost: x\r\nX-Request-Id: p" + std::to_string(i) +
               "\r\n\r\n";
    }
    c.send_raw(raw);
    for (int i = 0; i < 6; ++i) {
        const HttpResponse r = c.read();
        EXPECT_EQ(r["X-Request-Id"], "p" + std::to_string(i));
        EXPECT_EQ(r.result_int(), i % 2 == 0 ? 200u : 404u) << i;
    }
}

TEST_F(Http, BadInputNeverAnswers5xx) {
    const std::vector<std::string> raws = {
        "GET /v1/definitions/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /healthz?a=%g0 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST /v1/definitions/check HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        "POST /v1/definitions/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-amelie\r\n"
        "Content-Type: application/json\r\nContent-Length: 9\r\n\r\n\xff\xfe{}[]\"\\u",
        "POST /v1/definitions/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-amelie\r\n"
        "Content-Type: application/json\r\nContent-Length: 37\r\n\r\n"
        "{\"files\": {\"a.flow\": \"\\u0000\\ud800\"}}",
    };
    for (const std::string& raw : raws) {
        Client c(h_.port());
        c.send_raw(raw);
        boost::beast::error_code ec;
        const HttpResponse r = c.read(ec);
        if (!ec) {
            EXPECT_LT(r.result_int(), 500u) << raw << "\n" << r.body();
        }
    }
}

TEST(HttpLimits, ConnectionsOverTheLimitAre503) {
    Harness h(test_config([](Config& c) { c.server.max_connections = 1; }));
    h.start();
    Client first(h.port());
    EXPECT_EQ(first.request("GET", "/healthz").result_int(), 200u);
    Client second(h.port());
    const HttpResponse r = second.request("GET", "/healthz");
    expect_problem(r, 503);
    EXPECT_FALSE(r.keep_alive());
    EXPECT_EQ(first.request("GET", "/healthz").result_int(), 200u);
}

TEST(HttpLimits, IdleConnectionsTimeOut) {
    Harness h(test_config([](Config& c) { c.server.idle_timeout_ms = 100; }));
    h.start();
    Client c(h.port());
    EXPECT_EQ(c.request("GET", "/healthz").result_int(), 200u);
    EXPECT_TRUE(c.closed_by_peer());
}

TEST(HttpLimits, RequestsThatStopHalfwayTimeOut) {
    Harness h(test_config([](Config& c) { c.server.request_timeout_ms = 200; }));
    h.start();
    // Cut in the header, and cut in the body: both closed once request_timeout_ms has passed
    // since the request's first byte (the idle timeout is 5 s).
    Client header(h.port());
    header.send_raw("GET /healthz HTTP/1.1\r\nHo");
    Client body(h.port());
    body.send_raw("POST /v1/definitions/check HTTP/1.1\r\nHost: x\r\n"
                  "Authorization: Bearer tok-amelie\r\nContent-Type: application/json\r\n"
                  "Content-Length: 100\r\n\r\n{\"files\"");
    EXPECT_TRUE(header.closed_by_peer());
    EXPECT_TRUE(body.closed_by_peer());
}

/// A public route `GET /test/slow` whose handler blocks until released.
class SlowRoute {
public:
    explicit SlowRoute(Harness& h) {
        h.router().add(
            "GET", "/test/slow",
            [this](const Request&, Context&) {
                std::unique_lock lock(mutex_);
                ++entered_;
                cv_.notify_all();
                cv_.wait(lock, [this] { return released_; });
                return json_response(json::object{{"done", true}});
            },
            Access::Public);
    }
    ~SlowRoute() { release(); }
    SlowRoute(const SlowRoute&) = delete;
    SlowRoute& operator=(const SlowRoute&) = delete;

    bool wait_entered(int n) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return entered_ >= n; });
    }
    void release() {
        {
            std::lock_guard lock(mutex_);
            released_ = true;
        }
        cv_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int entered_ = 0;
    bool released_ = false;
};

TEST(HttpDrain, InFlightRequestCompletesWhenStopIsRequested) {
    Harness h;
    SlowRoute slow(h);
    h.start();

    Client busy(h.port());
    busy.send("GET", "/test/slow");
    ASSERT_TRUE(slow.wait_entered(1));
    // A blocked handler does not block the I/O threads.
    Client idle(h.port());
    EXPECT_EQ(idle.request("GET", "/healthz").result_int(), 200u);

    h.server().stop();
    // The idle connection is closed; the in-flight request still completes.
    EXPECT_TRUE(idle.closed_by_peer());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    slow.release();
    const HttpResponse r = busy.read();
    EXPECT_EQ(r.result_int(), 200u);
    EXPECT_EQ(json_of(r).at("done").as_bool(), true);
    EXPECT_FALSE(r.keep_alive());
    h.server().wait();
}

TEST(HttpLimits, QueueOverTheLimitIs429) {
    Harness h(test_config([](Config& c) {
        c.server.workers = 1;
        c.server.max_queued_requests = 1;
    }));
    SlowRoute slow(h);
    h.start();
    Client first(h.port());
    first.send("GET", "/test/slow");
    ASSERT_TRUE(slow.wait_entered(1));
    Client second(h.port());
    const HttpResponse r = second.request("GET", "/openapi.json");
    expect_problem(r, 429);
    EXPECT_EQ(r[boost::beast::http::field::retry_after], "1");
    slow.release();
    EXPECT_EQ(first.read().result_int(), 200u);
    EXPECT_EQ(second.request("GET", "/openapi.json").result_int(), 200u);
}

TEST(HttpHealth, HealthzAnswersWhileEveryWorkerIsBusy) {
    RouteDeps deps = Harness::default_deps();
    deps.store_health_max_age = std::chrono::hours(1);
    Harness h(test_config([](Config& c) {
                  c.server.workers = 1;
                  c.server.max_queued_requests = 1;
              }),
              deps);
    SlowRoute slow(h);
    h.start();
    Client c(h.port());
    EXPECT_EQ(c.request("GET", "/healthz").result_int(), 200u); // probes the store
    Client first(h.port());
    first.send("GET", "/test/slow");
    ASSERT_TRUE(slow.wait_entered(1));
    // The only worker is blocked and the queue is full: the probe's answer is still fresh, so
    // /healthz is answered on the I/O thread, with its request id, counted in the metrics.
    for (int i = 0; i < 3; ++i) {
        const HttpResponse r = c.request("GET", "/healthz", {}, {{"X-Request-Id", "hz-1"}});
        EXPECT_EQ(r.result_int(), 200u);
        EXPECT_EQ(r["X-Request-Id"], "hz-1");
        EXPECT_EQ(json_of(r).at("definitions_version").as_int64(), 7);
    }
    Client other(h.port());
    expect_problem(other.request("GET", "/openapi.json"), 429);
    slow.release();
    EXPECT_EQ(first.read().result_int(), 200u);
    const std::string text = c.request("GET", "/metrics", {}, amelie).body();
    EXPECT_NE(text.find("teamflow_http_requests_total{route=\"/healthz\",method=\"GET\","
                        "status=\"200\"} 4\n"),
              std::string::npos)
        << text;
}

TEST(HttpHealth, HealthzProbesTheStoreOncePerMaxAge) {
    auto probes = std::make_shared<std::atomic<int>>(0);
    RouteDeps deps = Harness::default_deps();
    deps.store_health = [probes] {
        ++*probes;
        return StoreHealth{"postgresql", true, {}};
    };
    deps.store_health_max_age = std::chrono::hours(1);
    Harness h(test_config(), deps);
    h.start();
    Client c(h.port());
    for (int i = 0; i < 20; ++i) {
        const HttpResponse r = c.request("GET", "/healthz");
        EXPECT_EQ(r.result_int(), 200u);
        EXPECT_EQ(json_of(r).at("store").as_string(), "postgresql");
    }
    EXPECT_EQ(probes->load(), 1);
}

TEST(HttpHealth, HealthzSeesTheStoreGoDownOnceTheLastProbeIsOld) {
    auto up = std::make_shared<std::atomic<bool>>(true);
    RouteDeps deps = Harness::default_deps();
    deps.store_health = [up] {
        return up->load() ? StoreHealth{"postgresql", true, {}}
                          : StoreHealth{"postgresql", false, "connection refused"};
    };
    deps.store_health_max_age = std::chrono::milliseconds(20);
    Harness h(test_config(), deps);
    h.start();
    Client c(h.port());
    EXPECT_EQ(c.request("GET", "/healthz").result_int(), 200u);
    *up = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    HttpResponse r = c.request("GET", "/healthz");
    while (r.result_int() == 200u && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        r = c.request("GET", "/healthz");
    }
    expect_problem(r, 503);
    EXPECT_EQ(json_of(r).at("detail").as_string(), "connection refused");
    *up = true;
    r = c.request("GET", "/healthz");
    while (r.result_int() != 200u && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        r = c.request("GET", "/healthz");
    }
    EXPECT_EQ(r.result_int(), 200u);
}

TEST_F(Http, RequestsSplitAnywhereOrPipelinedWithBodiesAreReadWhole) {
    const std::string body = R"({"files": {"a.flow": "role R"}})";
    const std::string post = "POST /v1/definitions/check HTTP/1.1\r\nHost: x\r\n"
                             "Authorization: Bearer tok-amelie\r\n"
                             "Content-Type: application/json\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body;
    // Two whole requests and the first half of a third in one write, the rest later.
    Client c(h_.port());
    const std::size_t cut = post.size() - body.size() / 2;
    c.send_raw(post + post + post.substr(0, cut));
    for (int i = 0; i < 2; ++i) {
        const HttpResponse r = c.read();
        EXPECT_EQ(r.result_int(), 200u) << r.body();
        EXPECT_EQ(json_of(r).at("ok").as_bool(), true);
    }
    c.send_raw(post.substr(cut));
    HttpResponse r = c.read();
    EXPECT_EQ(r.result_int(), 200u) << r.body();
    // A request cut inside its header, then one sent a byte at a time.
    c.send_raw(post.substr(0, 20));
    c.send_raw(post.substr(20));
    EXPECT_EQ(c.read().result_int(), 200u);
    for (const char ch : post) {
        c.send_raw(std::string(1, ch));
    }
    r = c.read();
    EXPECT_EQ(r.result_int(), 200u) << r.body();
    EXPECT_EQ(json_of(r).at("ok").as_bool(), true);
}

TEST_F(Http, ExpectContinueGetsAnInterimResponse) {
    Client c(h_.port());
    const std::string body = R"({"files": {"a.flow": ""}})";
    c.send_raw("POST /v1/definitions/check HTTP/1.1\r\nHost: x\r\n"
               "Authorization: Bearer tok-amelie\r\nContent-Type: application/json\r\n"
               "Expect: 100-continue\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n");
    EXPECT_EQ(c.read().result_int(), 100u);
    c.send_raw(body);
    EXPECT_EQ(c.read().result_int(), 200u);
}

} // namespace
} // namespace teamflow::server
