// Handlers without sockets: the router, problems and strict bodies, If-Match, idempotency keys,
// cursors, bearer tokens, metrics and the pipeline around handlers.

#include "teamflow/server/auth.hpp"
#include "teamflow/server/metrics.hpp"
#include "teamflow/server/problem.hpp"
#include "teamflow/server/router.hpp"
#include "teamflow/server/service.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <stdexcept>

namespace teamflow::server {
namespace {

namespace json = boost::json;

Response ok_handler(const Request&, Context&) {
    return Response{};
}

Request make_request(std::string method, std::string target, std::string body = {},
                     std::vector<NameValue> headers = {}) {
    Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.headers = std::move(headers);
    std::string error;
    split_target(r, error);
    return r;
}

json::object body_of(const Response& r) {
    return json::parse(r.body).as_object();
}

template <class T> const Response& problem_of(const Decoded<T>& d) {
    return std::get<Response>(d);
}

TEST(Router, MatchesLiteralsAndDecodedParams) {
    Router router;
    ASSERT_TRUE(router.add("GET", "/v1/modules/{module}/records/{id}", ok_handler));
    ASSERT_TRUE(
        router.add("POST", "/v1/modules/{module}/records/{id}/transitions/{name}", ok_handler));
    const RouteMatch m =
        router.match("POST", "/v1/modules/deals/records/42/transitions/Win%20it%2Fnow");
    ASSERT_EQ(m.kind, RouteMatch::Kind::Found);
    EXPECT_EQ(m.route->pattern, "/v1/modules/{module}/records/{id}/transitions/{name}");
    ASSERT_EQ(m.params.size(), 3u);
    EXPECT_EQ(m.params[0], (NameValue{"module", "deals"}));
    EXPECT_EQ(m.params[2], (NameValue{"name", "Win it/now"}));
}

TEST(Router, LiteralSegmentsWinOverParams) {
    Router router;
    ASSERT_TRUE(router.add("GET", "/v1/definitions/{x}", ok_handler));
    ASSERT_TRUE(router.add("GET", "/v1/definitions/versions", ok_handler));
    EXPECT_EQ(router.match("GET", "/v1/definitions/versions").route->pattern,
              "/v1/definitions/versions");
    EXPECT_EQ(router.match("GET", "/v1/definitions/other").route->pattern, "/v1/definitions/{x}");
}

TEST(Router, UnknownPathsAndWrongMethods) {
    Router router;
    ASSERT_TRUE(router.add("POST", "/v1/definitions/check", ok_handler));
    ASSERT_TRUE(router.add("PUT", "/v1/definitions", ok_handler));
    ASSERT_TRUE(router.add("GET", "/v1/definitions", ok_handler));
    EXPECT_FALSE(router.add("GET", "/v1/definitions", ok_handler)); // taken
    EXPECT_FALSE(router.add("GET", "no-slash", ok_handler));
    EXPECT_FALSE(router.add("GET", "/a{b}", ok_handler));

    EXPECT_EQ(router.match("GET", "/v1/nothing").kind, RouteMatch::Kind::NotFound);
    EXPECT_EQ(router.match("GET", "/v1/definitions/").kind, RouteMatch::Kind::NotFound);
    EXPECT_EQ(router.match("GET", "/v1/definitions/%zz").kind, RouteMatch::Kind::BadPath);
    const RouteMatch m = router.match("DELETE", "/v1/definitions");
    ASSERT_EQ(m.kind, RouteMatch::Kind::MethodNotAllowed);
    EXPECT_EQ(m.allow, (std::vector<std::string>{"GET", "PUT"}));
    EXPECT_EQ(router.routes().size(), 3u);
}

TEST(Problem, ShapeIsRfc9457) {
    const Response r = unprocessable("nope", {{"discount", "must be at most 20"}});
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(r.content_type, problem_content_type);
    const json::object o = body_of(r);
    EXPECT_EQ(o.at("type").as_string(), "https://teamflow.dev/problems/validation-failed");
    EXPECT_EQ(o.at("status").as_int64(), 422);
    EXPECT_EQ(o.at("detail").as_string(), "nope");
    EXPECT_EQ(o.at("errors").as_array()[0].at("field").as_string(), "discount");
    EXPECT_EQ(unauthorized("x", false).header("WWW-Authenticate"), "Bearer realm=\"teamflow\"");
    EXPECT_EQ(method_not_allowed("GET", {"POST", "PUT"}).header("Allow"), "POST, PUT");
}

TEST(StrictBody, ContentTypeAndSyntax) {
    EXPECT_EQ(problem_of(parse_json_object_body(
                             make_request("POST", "/", "{}", {{"Content-Type", "text/plain"}})))
                  .status,
              415);
    EXPECT_EQ(problem_of(parse_json_object_body(make_request("POST", "/", "{}"))).status, 415);
    EXPECT_EQ(problem_of(parse_json_object_body(make_request(
                             "POST", "/", "{\"a\":", {{"Content-Type", "application/json"}})))
                  .status,
              400);
    EXPECT_EQ(problem_of(parse_json_object_body(
                             make_request("POST", "/", "", {{"Content-Type", "application/json"}})))
                  .status,
              400);
    EXPECT_EQ(problem_of(parse_json_object_body(make_request(
                             "POST", "/", "[1]", {{"content-type", "application/json"}})))
                  .status,
              422);
    EXPECT_TRUE(std::holds_alternative<json::object>(parse_json_object_body(
        make_request("POST", "/", "{}", {{"Content-Type", "Application/JSON; charset=utf-8"}}))));
    EXPECT_TRUE(is_json_content_type("application/merge-patch+json"));
    EXPECT_FALSE(is_json_content_type("application/jsonx"));
}

TEST(StrictBody, UnknownMembersAndWrongTypesNameTheField) {
    const json::object o =
        json::parse(R"({"fields": {"amount": "x", "extra": 1}, "note": 3, "other": true,
                        "checklist": ["a", 2]})")
            .as_object();
    std::vector<FieldError> errors;
    StrictObject top(o, "", errors);
    const json::object* fields = top.object("fields", true);
    EXPECT_FALSE(top.string("note").has_value());
    EXPECT_FALSE(top.strings("checklist").has_value());
    EXPECT_FALSE(top.string("required_one", true).has_value());
    ASSERT_NE(fields, nullptr);
    StrictObject inner(*fields, "fields", errors);
    EXPECT_EQ(inner.string("amount"), "x");
    EXPECT_FALSE(inner.finish());
    EXPECT_FALSE(top.finish());
    std::vector<std::string> named;
    for (const FieldError& e : errors) {
        named.push_back(e.field + ": " + e.message);
    }
    EXPECT_EQ(named, (std::vector<std::string>{
                         "note: must be a string, not a number",
                         "checklist[1]: must be a string, not a number",
                         "required_one: is required",
                         "fields.extra: unknown member",
                         "other: unknown member",
                     }));
}

TEST(Conventions, IfMatch) {
    const auto parse = [](std::string value) {
        return parse_if_match(make_request("PUT", "/", "", {{"If-Match", std::move(value)}}));
    };
    EXPECT_EQ(std::get<IfMatch>(parse_if_match(make_request("PUT", "/"))).kind,
              IfMatch::Kind::Absent);
    EXPECT_EQ(std::get<IfMatch>(parse("*")).kind, IfMatch::Kind::Any);
    const IfMatch m = std::get<IfMatch>(parse("\"3\", W/\"4\", \"5\""));
    EXPECT_TRUE(m.matches(3));
    EXPECT_FALSE(m.matches(4));
    EXPECT_TRUE(m.matches(5));
    EXPECT_EQ(std::get<IfMatch>(parse("\"7\"")).expected_version(), 7);
    EXPECT_EQ(problem_of(parse("7")).status, 400);
    EXPECT_EQ(etag(12), "\"12\"");
}

TEST(Conventions, IdempotencyKey) {
    const auto parse = [](std::string value) {
        return parse_idempotency_key(
            make_request("POST", "/", "", {{"Idempotency-Key", std::move(value)}}));
    };
    EXPECT_FALSE(
        std::get<std::optional<std::string>>(parse_idempotency_key(make_request("POST", "/")))
            .has_value());
    EXPECT_EQ(*std::get<std::optional<std::string>>(parse(std::string(200, 'k'))),
              std::string(200, 'k'));
    EXPECT_EQ(problem_of(parse(std::string(201, 'k'))).status, 400);
    EXPECT_EQ(problem_of(parse("")).status, 400);
}

TEST(Conventions, CursorsAndPaging) {
    for (const std::string raw : {"", "a", "ab", "abc", "abcd", "\xff\x00\x10 id=42"}) {
        const std::string c = encode_cursor(raw);
        EXPECT_EQ(c.find_first_of("+/="), std::string::npos);
        EXPECT_EQ(decode_cursor(c), raw);
    }
    EXPECT_FALSE(decode_cursor("a").has_value());
    EXPECT_FALSE(decode_cursor("ab+c").has_value());
    EXPECT_FALSE(decode_cursor("YR").has_value()); // non-canonical trailing bits

    const auto page = std::get<PageRequest>(
        parse_page_request(make_request("GET", "/x?limit=10&after=" + encode_cursor("id:7"))));
    EXPECT_EQ(page.limit, 10u);
    EXPECT_EQ(page.after, "id:7");
    EXPECT_EQ(std::get<PageRequest>(parse_page_request(make_request("GET", "/x"))).limit, 50u);
    EXPECT_EQ(problem_of(parse_page_request(make_request("GET", "/x?limit=0"))).status, 400);
    EXPECT_EQ(problem_of(parse_page_request(make_request("GET", "/x?limit=201"))).status, 400);
    EXPECT_EQ(problem_of(parse_page_request(make_request("GET", "/x?limit=1e3"))).status, 400);
    EXPECT_EQ(problem_of(parse_page_request(make_request("GET", "/x?after=%21"))).status, 400);
}

TEST(Auth, Sha256AndHashedTokens) {
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    AuthConfig config;
    config.tokens = {{"amelie", "dev-token-amelie"}};
    config.token_hashes = {{"bruno", sha256_hex("prod-token-bruno")}};
    config.org_admins = {"bruno"};
    const Authenticator auth(config);
    AuthFailure failure = AuthFailure::Missing;

    auto id = auth.authenticate("Bearer prod-token-bruno", failure);
    ASSERT_TRUE(id.has_value());
    EXPECT_EQ(id->user, "bruno");
    EXPECT_TRUE(id->org_admin);
    id = auth.authenticate("bearer   dev-token-amelie ", failure);
    ASSERT_TRUE(id.has_value());
    EXPECT_EQ(id->user, "amelie");
    EXPECT_FALSE(id->org_admin);

    EXPECT_FALSE(auth.authenticate(std::nullopt, failure));
    EXPECT_EQ(failure, AuthFailure::Missing);
    EXPECT_FALSE(auth.authenticate("Basic YWJj", failure));
    EXPECT_EQ(failure, AuthFailure::Malformed);
    EXPECT_FALSE(auth.authenticate("Bearer ", failure));
    EXPECT_EQ(failure, AuthFailure::Malformed);
    EXPECT_FALSE(auth.authenticate("Bearer dev-token-amelie2", failure));
    EXPECT_EQ(failure, AuthFailure::Unknown);
    // The digest itself is not a token.
    EXPECT_FALSE(auth.authenticate("Bearer " + sha256_hex("prod-token-bruno"), failure));
}

TEST(Metrics, PrometheusText) {
    Metrics m;
    m.record_request("/healthz", "GET", 200, 0.003);
    m.record_request("/healthz", "GET", 200, 0.3);
    m.record_transition("Deal \"Pipeline\"", "ok");
    m.set_outbox_backlog("pending", 4);
    m.describe("teamflow_custom", MetricType::Gauge, "A custom gauge");
    m.on_scrape([](Metrics& self) { self.set("teamflow_custom", {}, 9); });
    const std::string text = m.render();
    EXPECT_NE(text.find("# TYPE teamflow_http_requests_total counter\n"), std::string::npos);
    EXPECT_NE(
        text.find(
            "teamflow_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2\n"),
        std::string::npos)
        << text;
    EXPECT_NE(
        text.find(
            "teamflow_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 1\n"),
        std::string::npos)
        << text;
    EXPECT_NE(
        text.find(
            "teamflow_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 2\n"),
        std::string::npos);
    EXPECT_NE(text.find("teamflow_http_request_duration_seconds_count{route=\"/healthz\"} 2\n"),
              std::string::npos);
    EXPECT_NE(
        text.find(
            "teamflow_transitions_total{blueprint=\"Deal \\\"Pipeline\\\"\",outcome=\"ok\"} 1\n"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("teamflow_outbox_backlog{status=\"pending\"} 4\n"), std::string::npos);
    EXPECT_NE(text.find("teamflow_timers_due 0\n"), std::string::npos);
    EXPECT_NE(text.find("teamflow_custom 9\n"), std::string::npos);
}

Config pipeline_config() {
    Config c;
    c.auth.tokens = {{"amelie", "tok-amelie"}};
    c.auth.org_admins = {"amelie"};
    return c;
}

TEST(Pipeline, AuthRoutingAndExceptions) {
    Service service(pipeline_config());
    service.router().add("GET", "/whoami/{x}", [](const Request& r, Context& c) {
        return json_response(json::object{{"user", c.user},
                                          {"admin", c.org_admin},
                                          {"x", r.param("x")},
                                          {"q", r.query_param("q").value_or("")},
                                          {"route", r.route}});
    });
    service.router().add("GET", "/boom", [](const Request&, Context&) -> Response {
        throw std::runtime_error("bug");
    });
    service.router().add(
        "GET", "/open",
        [](const Request&, Context& c) { return json_response(json::string(c.user)); },
        Access::Public);

    Response r = service.handle(
        make_request("GET", "/whoami/a%2Fb?q=a+b", "",
                     {{"Authorization", "Bearer tok-amelie"}, {"X-Request-Id", "abc-123"}}));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("X-Request-Id"), "abc-123");
    const json::object o = body_of(r);
    EXPECT_EQ(o.at("user").as_string(), "amelie");
    EXPECT_TRUE(o.at("admin").as_bool());
    EXPECT_EQ(o.at("x").as_string(), "a/b");
    EXPECT_EQ(o.at("q").as_string(), "a b");
    EXPECT_EQ(o.at("route").as_string(), "/whoami/{x}");

    r = service.handle(make_request("GET", "/whoami/a"));
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer realm=\"teamflow\"");
    EXPECT_EQ(r.header("X-Request-Id")->size(), 16u);
    r = service.handle(make_request("GET", "/whoami/a", "", {{"Authorization", "Bearer bad"}}));
    EXPECT_EQ(r.status, 401);

    r = service.handle(make_request("GET", "/boom", "", {{"Authorization", "Bearer tok-amelie"}}));
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.content_type, problem_content_type);

    r = service.handle(make_request("GET", "/open"));
    EXPECT_EQ(r.status, 200);
    r = service.handle(make_request("POST", "/open"));
    EXPECT_EQ(r.status, 405);
    r = service.handle(make_request("GET", "/nowhere"));
    EXPECT_EQ(r.status, 404);
    r = service.handle(make_request("GET", "/open?a=%zz"));
    EXPECT_EQ(r.status, 400);

    EXPECT_EQ(service.metrics().value("teamflow_http_requests_total",
                                      {{"route", "/boom"}, {"method", "GET"}, {"status", "500"}}),
              1);
    EXPECT_EQ(service.metrics().value(
                  "teamflow_http_requests_total",
                  {{"route", std::string(unmatched_route)}, {"method", "GET"}, {"status", "404"}}),
              1);
}

} // namespace
} // namespace teamflow::server
