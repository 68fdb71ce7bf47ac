// Blueprints as JSON, diagrams of the published set and of unpublished sources, and the preview
// page's files: through the whole pipeline (routing, auth, problems), without sockets.

#include "teamflow/server/diagram_routes.hpp"
#include "teamflow/server/routes.hpp"
#include "teamflow/server/web_routes.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace teamflow::server {
namespace {

namespace json = boost::json;

constexpr const char* token = "tok-ada";

constexpr const char* tickets_flow = R"(role Support
user ada { name "Ada"  roles Support }
module Tickets {
  field title: text required
  field status: picklist ["New", "In progress", "Resolved", "Closed"] default "New"
}
blueprint TicketFlow on Tickets.status when title is not empty {
  transition Start from "New" to "In progress" {
    by role Support
    when title is not empty
    require title
    checklist "Read it"
    then set title = "x"
  }
  transition Close from "In progress" to "Closed" after 7d {
  }
  transition Drop from any to "Closed" {
    by owner, role Support
  }
  sla "In progress" within 2d {
    then notify owner "Ticket {title} is late"
  }
}
)";

class DiagramRoutes : public ::testing::Test {
protected:
    DiagramRoutes() : service_(make_config()) {
        RouteDeps deps;
        deps.definitions_version = [] { return std::int64_t{7}; };
        std::shared_ptr<const dsl::DefinitionSet> set =
            dsl::compile_sources({{"tickets.flow", tickets_flow}});
        EXPECT_TRUE(set->ok());
        deps.published_set = [set] { return set; };
        register_routes(service_, deps);
    }

    static Config make_config() {
        Config c;
        c.auth.tokens = {{"ada", token}};
        return c;
    }

    Response call(std::string method, std::string target, std::string body = {},
                  bool authenticated = true) {
        Request r;
        r.method = std::move(method);
        r.target = std::move(target);
        r.body = std::move(body);
        if (authenticated) {
            r.headers.emplace_back("Authorization", std::string("Bearer ") + token);
        }
        if (!r.body.empty()) {
            r.headers.emplace_back("Content-Type", "application/json");
        }
        return service_.handle(std::move(r));
    }

    static std::string files_body(const std::string& source) {
        return json::serialize(json::object{{"files", json::object{{"t.flow", source}}}});
    }

    Service service_;
};

json::object body_of(const Response& r) {
    return json::parse(r.body).as_object();
}

TEST_F(DiagramRoutes, ListsThePublishedBlueprints) {
    const Response r = call("GET", "/v1/blueprints");
    ASSERT_EQ(r.status, 200) << r.body;
    const json::object body = body_of(r);
    const json::array& items = body.at("items").as_array();
    ASSERT_EQ(items.size(), 1u);
    const json::object& bp = items[0].as_object();
    EXPECT_EQ(bp.at("name").as_string(), "TicketFlow");
    EXPECT_EQ(bp.at("module").as_string(), "Tickets");
    EXPECT_EQ(bp.at("field").as_string(), "status");
    EXPECT_EQ(bp.at("states").as_array().size(), 4u);
    EXPECT_EQ(bp.at("transitions").as_int64(), 3);
    EXPECT_EQ(call("GET", "/v1/blueprints", {}, false).status, 401);
}

TEST_F(DiagramRoutes, DescribesOneBlueprint) {
    const Response r = call("GET", "/v1/blueprints/TicketFlow");
    ASSERT_EQ(r.status, 200) << r.body;
    const json::object bp = body_of(r);
    EXPECT_EQ(bp.at("criteria").as_string(), "title is not empty");
    EXPECT_EQ(bp.at("initial").as_string(), "New");
    const json::array& states = bp.at("states").as_array();
    EXPECT_TRUE(states[0].as_object().at("initial").as_bool());
    EXPECT_FALSE(states[0].as_object().at("final").as_bool());
    EXPECT_TRUE(states[3].as_object().at("final").as_bool()); // Closed
    EXPECT_EQ(states[1].as_object().at("slas").as_array()[0].as_object().at("text").as_string(),
              "2d");
    const json::array& ts = bp.at("transitions").as_array();
    ASSERT_EQ(ts.size(), 3u);
    const json::object& start = ts[0].as_object();
    EXPECT_EQ(start.at("from").as_array()[0].as_string(), "New");
    EXPECT_EQ(start.at("to").as_array()[0].as_string(), "In progress");
    EXPECT_EQ(start.at("owners").as_array()[0].as_string(), "role Support");
    EXPECT_EQ(start.at("criteria").as_string(), "title is not empty");
    EXPECT_EQ(start.at("require").as_array()[0].as_string(), "title");
    EXPECT_EQ(start.at("checklist").as_array()[0].as_string(), "Read it");
    EXPECT_EQ(start.at("actions").as_array()[0].as_object().at("text").as_string(),
              "set title = \"x\"");
    const json::object& close = ts[1].as_object();
    EXPECT_EQ(close.at("kind").as_string(), "automatic");
    EXPECT_EQ(close.at("timers").as_array()[0].as_object().at("seconds").as_int64(), 7 * 86400);
    const json::object& drop = ts[2].as_object();
    EXPECT_TRUE(drop.at("from_any").as_bool());
    EXPECT_EQ(drop.at("from").as_array().size(), 3u); // every state but "Closed"

    const Response missing = call("GET", "/v1/blueprints/TicketFlo");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.content_type, problem_content_type);
    EXPECT_NE(missing.body.find("did you mean"), std::string::npos) << missing.body;
}

TEST_F(DiagramRoutes, DrawsPublishedBlueprintsInEveryFormat) {
    Response r = call("GET", "/v1/blueprints/TicketFlow/diagram");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "image/svg+xml");
    EXPECT_NE(r.body.find("<svg"), std::string::npos);
    EXPECT_NE(r.body.find("In progress"), std::string::npos);
    EXPECT_EQ(r.header("ETag").value_or(""), "\"7\"");

    // The second answer comes from the cache, byte for byte.
    EXPECT_EQ(call("GET", "/v1/blueprints/TicketFlow/diagram?format=svg").body, r.body);

    r = call("GET", "/v1/blueprints/TicketFlow/diagram?format=png");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "image/png");
    EXPECT_EQ(r.body.substr(1, 3), "PNG");

    r = call("GET", "/v1/blueprints/TicketFlow/diagram?format=dot");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "text/vnd.graphviz; charset=utf-8");
    EXPECT_EQ(r.body.rfind("digraph", 0), 0u);

    r = call("GET", "/v1/blueprints/TicketFlow/diagram?format=gif");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.content_type, problem_content_type);
    EXPECT_EQ(call("GET", "/v1/blueprints/Nope/diagram").status, 404);
}

TEST_F(DiagramRoutes, DrawsUnpublishedSources) {
    Response r =
        call("POST", "/v1/diagram?blueprint=TicketFlow&format=svg", files_body(tickets_flow));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "image/svg+xml");
    EXPECT_NE(r.body.find("Resolved"), std::string::npos);

    // Sources that do not compile: 422 with the diagnostics.
    std::string broken = tickets_flow;
    broken.replace(broken.find("to \"Closed\" after"), 11, "to \"Closd\"");
    r = call("POST", "/v1/diagram?blueprint=TicketFlow", files_body(broken));
    ASSERT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(r.content_type, problem_content_type);
    const json::object problem = body_of(r);
    const json::array& diagnostics = problem.at("diagnostics").as_array();
    ASSERT_FALSE(diagnostics.empty());
    EXPECT_EQ(diagnostics[0].as_object().at("file").as_string(), "t.flow");
    EXPECT_GT(diagnostics[0].as_object().at("line").as_int64(), 1);

    // No such blueprint in the sources, no blueprint at all, a bad format, a bad body.
    r = call("POST", "/v1/diagram?blueprint=Nope", files_body(tickets_flow));
    EXPECT_EQ(r.status, 422);
    EXPECT_NE(r.body.find("no blueprint"), std::string::npos) << r.body;
    EXPECT_EQ(call("POST", "/v1/diagram", files_body(tickets_flow)).status, 400);
    EXPECT_EQ(call("POST", "/v1/diagram?blueprint=TicketFlow&format=jpg", files_body(tickets_flow))
                  .status,
              400);
    EXPECT_EQ(call("POST", "/v1/diagram?blueprint=TicketFlow", "{\"files\": {}, \"x\": 1}").status,
              422);
    EXPECT_EQ(
        call("POST", "/v1/diagram?blueprint=TicketFlow", files_body(tickets_flow), false).status,
        401);
}

TEST_F(DiagramRoutes, RefusesGraphsTooBigToDraw) {
    std::string source = "module M {\n  field s: picklist [";
    for (int i = 0; i < 1100; ++i) {
        source += (i == 0 ? "\"S" : ", \"S") + std::to_string(i) + "\"";
    }
    source += "]\n}\nblueprint Big on M.s {\n";
    for (int i = 0; i + 1 < 1100; ++i) {
        source += "  transition T" + std::to_string(i) + " from \"S" + std::to_string(i) +
                  "\" to \"S" + std::to_string(i + 1) + "\" {\n  }\n";
    }
    source += "}\n";
    Response r = call("POST", "/v1/diagram?blueprint=Big", files_body(source));
    ASSERT_EQ(r.status, 422) << r.body.substr(0, 2000);
    EXPECT_NE(r.body.find("too big to draw"), std::string::npos) << r.body.substr(0, 2000);
    r = call("POST", "/v1/diagram?blueprint=Big&format=dot", files_body(source));
    EXPECT_EQ(r.status, 200) << r.body.substr(0, 2000);
}

TEST(DiagramDeadline, SlowRenderingsAnswer503WithoutHoldingTheRequest) {
    Config config;
    config.auth.tokens = {{"ada", token}};
    Service service(config);
    DiagramOptions options;
    options.deadline = std::chrono::milliseconds(0); // every layout is "too slow"
    register_diagram_routes(service, RouteDeps{}, options);
    Request r;
    r.method = "POST";
    r.target = "/v1/diagram?blueprint=TicketFlow";
    r.body = json::serialize(json::object{{"files", json::object{{"t.flow", tickets_flow}}}});
    r.headers = {{"Authorization", std::string("Bearer ") + token},
                 {"Content-Type", "application/json"}};
    const Response slow = service.handle(r);
    EXPECT_EQ(slow.status, 503) << slow.body;
    EXPECT_NE(slow.body.find("too big to draw in time"), std::string::npos) << slow.body;
    EXPECT_TRUE(slow.header("Retry-After").has_value());
    // DOT text never reaches Graphviz, so it has no deadline.
    r.target += "&format=dot";
    EXPECT_EQ(service.handle(r).status, 200);
}

TEST(RenderQueue, RefusesWhenFullAndRunsInOrder) {
    RenderQueue queue(1);
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    auto first = queue.submit([gate] {
        gate.wait();
        return engine::DiagramResult{true, "first", {}};
    });
    ASSERT_TRUE(first.has_value());
    EXPECT_FALSE(queue.submit([] { return engine::DiagramResult{}; }).has_value());
    release.set_value();
    EXPECT_EQ(first->get().data, "first");
    // Freed once the job is done (the worker decrements right after running it).
    std::optional<std::future<engine::DiagramResult>> second;
    for (int i = 0; i < 200 && !second; ++i) {
        second = queue.submit([] { return engine::DiagramResult{true, "second", {}}; });
        if (!second) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->get().data, "second");
}

TEST_F(DiagramRoutes, ServesThePreviewPageWithoutAToken) {
    Response r = call("GET", "/", {}, false);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_NE(r.body.find("<script src=\"/app.js\""), std::string::npos);
    EXPECT_NE(r.header("Content-Security-Policy").value_or("").find("script-src 'self'"),
              std::string::npos);
    r = call("GET", "/app.js", {}, false);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
    EXPECT_NE(r.body.find("/v1/definitions/check"), std::string::npos);
    r = call("GET", "/app.css", {}, false);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/css; charset=utf-8");
    // No asset from elsewhere.
    std::size_t count = 0;
    const WebAsset* assets = web_assets(count);
    for (std::size_t i = 0; i < count; ++i) {
        EXPECT_EQ(assets[i].body.find("http://"), std::string::npos) << assets[i].path;
        EXPECT_EQ(assets[i].body.find("https://"), std::string::npos) << assets[i].path;
    }
}

} // namespace
} // namespace teamflow::server
