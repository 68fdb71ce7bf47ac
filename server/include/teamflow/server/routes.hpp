#pragma once
/// The routes of the service: registration in one place, so `teamflow serve` and the tests (which
/// compare the router with `/openapi.json`) see the same set.

#include "teamflow/server/service.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace teamflow::dsl {
struct DefinitionSet;
}

namespace teamflow::server {

class EngineHost;

/// What `/healthz` reports about the store.
struct StoreHealth {
    std::string kind;    ///< "sqlite" or "postgresql"
    bool up = true;
    std::string detail;  ///< why it is down
};

/// What the routes need from the rest of the process (the engine plugs in here).
struct RouteDeps {
    /// The store's state, for `/healthz`: called at most once per `store_health_max_age` (the
    /// answer is reused meanwhile, and served on the I/O thread without a worker).
    std::function<StoreHealth()> store_health;
    std::chrono::milliseconds store_health_max_age{1000};
    /// The published definitions version (0 when none).
    std::function<std::int64_t()> definitions_version;
    /// The published definition set, compiled (null when none): blueprints and their diagrams.
    std::function<std::shared_ptr<const dsl::DefinitionSet>()> published_set;
    /// The store and engine behind the records, requests and definitions routes (null: those
    /// routes answer 503).
    std::shared_ptr<EngineHost> host;
};

/// Registers every implemented route on `service.router()`.
void register_routes(Service& service, const RouteDeps& deps);

/// `GET /healthz`, `GET /metrics`, `GET /openapi.json`.
void register_service_routes(Service& service, const RouteDeps& deps);

/// `POST /v1/definitions/check`.
void register_definition_routes(Service& service);

/// Definitions versions, records, transitions, requests, notifications and the outbox
/// (`record_routes.cpp`, `request_routes.cpp`, `definition_routes.cpp`).
void register_engine_routes(Service& service, const RouteDeps& deps);

/// `POST /v1/definitions/check` as a plain function.
Response handle_definitions_check(const Request& request, Context& context);

/// The OpenAPI 3.1 document (`server/openapi.json`, embedded at build time).
std::string_view openapi_document();

} // namespace teamflow::server
