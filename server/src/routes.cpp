// Service routes (health, metrics, OpenAPI) and the definitions check.

#include "teamflow/server/routes.hpp"

#include "teamflow/dsl/frontend.hpp"
#include "teamflow/server/diagram_routes.hpp"
#include "teamflow/server/json.hpp"
#include "teamflow/server/problem.hpp"
#include "teamflow/server/web_routes.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <fmt/format.h>
#include <mutex>
#include <optional>

namespace teamflow::server {

namespace json = boost::json;

// Generated from server/openapi.json by server/embed.cmake.
extern const unsigned char openapi_json_data[];
extern const std::size_t openapi_json_size;

std::string_view openapi_document() {
    return {reinterpret_cast<const char*>(openapi_json_data), openapi_json_size};
}

namespace {

/// The store's health for `GET /healthz`, probed at most once per `max_age`: load balancers and
/// monitors may ask thousands of times a second, and each probe is a store round trip. While one
/// caller probes, the others answer with the last result instead of queueing behind it.
class HealthCache {
public:
    using Clock = std::chrono::steady_clock;

    HealthCache(std::function<StoreHealth()> probe, std::string kind,
                std::chrono::milliseconds max_age)
        : probe_(std::move(probe)), kind_(std::move(kind)), max_age_(max_age) {}

    /// The last result while it is fresh; never probes, never waits for a probe.
    std::optional<StoreHealth> fresh() {
        if (!probe_) {
            return StoreHealth{kind_, true, {}};
        }
        std::lock_guard lock(mutex_);
        if (last_ && Clock::now() - at_ < max_age_) {
            return last_;
        }
        return std::nullopt;
    }

    /// The last result while it is fresh (or while another caller probes), else a new probe.
    StoreHealth get() {
        if (!probe_) {
            return StoreHealth{kind_, true, {}};
        }
        std::unique_lock lock(mutex_);
        if (last_ && (probing_ || Clock::now() - at_ < max_age_)) {
            return *last_;
        }
        probing_ = true;
        lock.unlock();
        StoreHealth health;
        try {
            health = probe_();
        } catch (const std::exception& e) {
            health = StoreHealth{kind_, false, std::string("the store health probe failed: ") +
                                                   e.what()};
        } catch (...) {
            health = StoreHealth{kind_, false, "the store health probe failed"};
        }
        lock.lock();
        probing_ = false;
        last_ = health;
        at_ = Clock::now();
        return health;
    }

private:
    const std::function<StoreHealth()> probe_;
    const std::string kind_;
    const std::chrono::milliseconds max_age_;
    std::mutex mutex_;
    std::optional<StoreHealth> last_;
    Clock::time_point at_;
    bool probing_ = false;
};

Response health_response(const StoreHealth& health, std::int64_t version) {
    if (!health.up) {
        // A problem (its `status` is the HTTP status) that also names the store.
        Response r = service_unavailable(
            health.detail.empty() ? std::string("the store is unreachable") : health.detail, 1);
        json::object o = json::parse(r.body).as_object();
        o["store"] = health.kind;
        o["definitions_version"] = version;
        r.body = to_string(o);
        return r;
    }
    json::object body;
    body["status"] = "ok";
    body["store"] = health.kind;
    body["definitions_version"] = version;
    return json_response(body);
}

} // namespace

void register_routes(Service& service, const RouteDeps& deps) {
    register_service_routes(service, deps);
    register_definition_routes(service);
    register_diagram_routes(service, deps);
    register_engine_routes(service, deps);
    register_web_routes(service);
}

void register_service_routes(Service& service, const RouteDeps& deps) {
    Router& router = service.router();
    const std::string configured_kind = service.config().store.kind();

    const auto health = std::make_shared<HealthCache>(deps.store_health, configured_kind,
                                                      deps.store_health_max_age);
    const auto version = [deps] {
        return deps.definitions_version ? deps.definitions_version() : std::int64_t{0};
    };
    router.add(
        "GET", "/healthz",
        [health, version](const Request&, Context&) {
            return health_response(health->get(), version());
        },
        Access::Public);
    // While the last probe is fresh, /healthz is answered on the I/O thread.
    router.set_fast("GET", "/healthz",
                    [health, version](const Request&, Context&) -> std::optional<Response> {
                        if (auto h = health->fresh()) {
                            return health_response(*h, version());
                        }
                        return std::nullopt;
                    });

    router.add(
        "GET", "/metrics",
        [](const Request&, Context& context) {
            Response r;
            r.content_type = "text/plain; version=0.0.4; charset=utf-8";
            r.body = context.metrics->render();
            return r;
        },
        Access::Authenticated);

    router.add(
        "GET", "/openapi.json",
        [](const Request&, Context&) {
            Response r;
            r.body = std::string(openapi_document());
            return r;
        },
        Access::Public);
}

Response handle_definitions_check(const Request& request, Context&) {
    auto parsed = parse_json_object_body(request);
    if (auto* problem_response = std::get_if<Response>(&parsed)) {
        return std::move(*problem_response);
    }
    const json::object& body = std::get<json::object>(parsed);
    std::vector<FieldError> errors;
    StrictObject top(body, "", errors);
    const json::object* files = top.object("files", true);
    top.finish();
    std::vector<std::pair<std::string, std::string>> sources;
    if (files != nullptr) {
        if (files->empty()) {
            errors.push_back({"files", "must name at least one file"});
        }
        for (const auto& member : *files) {
            const std::string field = fmt::format("files.{}", std::string_view(member.key()));
            if (!member.value().is_string()) {
                errors.push_back({field, fmt::format("must be a string, not {}",
                                                     json_type_name(member.value()))});
                continue;
            }
            if (member.key().empty()) {
                errors.push_back({field, "a file name must not be empty"});
                continue;
            }
            sources.emplace_back(std::string(member.key()),
                                 std::string(member.value().get_string()));
        }
    }
    if (!errors.empty()) {
        return unprocessable("the request body is not {\"files\": {NAME: SOURCE, …}}", errors);
    }
    std::unique_ptr<dsl::DefinitionSet> set = dsl::compile_sources(std::move(sources));
    return json_response(check_result_to_json(*set));
}

void register_definition_routes(Service& service) {
    service.router().add("POST", "/v1/definitions/check", handle_definitions_check);
}

} // namespace teamflow::server
