// The router and /openapi.json describe the same API: every registered route is documented, and
// every documented operation is either registered or on the known-pending list below.

#include "teamflow/server/routes.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace teamflow::server {
namespace {

namespace json = boost::json;

using Operation = std::pair<std::string, std::string>; // method, path

/// Documented but not implemented yet. Whoever implements one registers it in `register_routes`
/// and removes it from here; the test fails until both are done.
const std::set<Operation> pending = {
};

std::string upper(std::string s) {
    for (char& c : s) {
        c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    return s;
}

json::object document() { return json::parse(openapi_document()).as_object(); }

std::set<Operation> documented() {
    static const std::set<std::string> methods = {"get", "put", "post", "delete", "patch",
                                                  "head", "options"};
    std::set<Operation> out;
    const json::object doc = document(); // a range-for would not keep a temporary alive
    for (const auto& path : doc.at("paths").as_object()) {
        for (const auto& op : path.value().as_object()) {
            if (methods.count(std::string(op.key())) != 0) {
                out.emplace(upper(std::string(op.key())), std::string(path.key()));
            }
        }
    }
    return out;
}

std::set<Operation> registered() {
    Service service{Config{}};
    register_routes(service, {});
    std::set<Operation> out;
    for (const Route& r : service.router().routes()) {
        out.emplace(r.method, r.pattern);
    }
    return out;
}

TEST(OpenApi, EmbeddedDocumentIsTheFile) {
    std::ifstream in(TEAMFLOW_SOURCE_DIR "/server/openapi.json", std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str(), openapi_document());
    const json::object doc = document();
    EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
}

TEST(OpenApi, EveryRegisteredRouteIsDocumented) {
    for (const Operation& op : registered()) {
        EXPECT_EQ(documented().count(op), 1u) << op.first << " " << op.second;
        EXPECT_EQ(pending.count(op), 0u)
            << op.first << " " << op.second << " is implemented: remove it from `pending`";
    }
}

TEST(OpenApi, EveryDocumentedRouteIsRegisteredOrPending) {
    const std::set<Operation> routes = registered();
    for (const Operation& op : documented()) {
        EXPECT_TRUE(routes.count(op) + pending.count(op) == 1u) << op.first << " " << op.second;
    }
    for (const Operation& op : pending) {
        EXPECT_EQ(documented().count(op), 1u) << op.first << " " << op.second << " is not documented";
    }
}

TEST(OpenApi, PathParametersAndProblemsAreDeclared) {
    const json::object doc = document();
    const json::object& params = doc.at("components").as_object().at("parameters").as_object();
    for (const auto& path : doc.at("paths").as_object()) {
        const std::string p(path.key());
        std::set<std::string> in_path;
        for (std::size_t at = p.find('{'); at != std::string::npos; at = p.find('{', at + 1)) {
            in_path.insert(p.substr(at + 1, p.find('}', at) - at - 1));
        }
        for (const auto& op : path.value().as_object()) {
            std::set<std::string> declared;
            const json::object& o = op.value().as_object();
            if (const json::value* ps = o.if_contains("parameters")) {
                for (const json::value& v : ps->as_array()) {
                    const json::object* param = &v.as_object();
                    if (const json::value* ref = param->if_contains("$ref")) {
                        const std::string r(ref->as_string());
                        param = &params.at(r.substr(r.rfind('/') + 1)).as_object();
                    }
                    if (param->at("in").as_string() == "path") {
                        declared.insert(std::string(param->at("name").as_string()));
                    }
                }
            }
            EXPECT_EQ(declared, in_path) << op.key() << " " << p;
            const json::object& responses = o.at("responses").as_object();
            const bool secured = !o.at("security").as_array().empty();
            if (secured) {
                EXPECT_TRUE(responses.contains("401")) << op.key() << " " << p;
            }
        }
    }
}

} // namespace
} // namespace teamflow::server
