// The pipeline around every handler.

#include "teamflow/server/service.hpp"

#include "teamflow/server/log.hpp"
#include "teamflow/server/problem.hpp"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <fmt/format.h>
#include <random>

namespace teamflow::server {

namespace {

std::string new_request_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{:016x}", rng());
}

bool valid_request_id(std::string_view id) {
    return !id.empty() && id.size() <= 200 && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == ':' || c == '-';
    });
}

} // namespace

std::string request_id_for(const Request& request) {
    const auto given = request.header("X-Request-Id");
    return given && valid_request_id(*given) ? std::string(*given) : new_request_id();
}

Service::Service(Config config) : config_(std::move(config)), auth_(config_.auth) {}

Response Service::handle(Request request) {
    const Clock::time_point start = Clock::now();
    Context context;
    context.config = &config_;
    context.metrics = &metrics_;
    Response response;
    try {
        context.request_id = request_id_for(request);
        response = run(request, context);
    } catch (const std::exception& e) {
        log_event(
            LogLevel::Error, "unhandled exception",
            {{"request_id", context.request_id}, {"route", request.route}, {"error", e.what()}});
        response = internal_error(context.request_id);
    } catch (...) {
        log_event(LogLevel::Error, "unhandled exception",
                  {{"request_id", context.request_id}, {"route", request.route}});
        response = internal_error(context.request_id);
    }
    try {
        response.set_header("X-Request-Id", context.request_id);
        return finish(request, std::move(response), start);
    } catch (...) {
        return internal_error(context.request_id);
    }
}

std::optional<Response> Service::handle_fast(Request& request) {
    const Clock::time_point start = Clock::now();
    try {
        std::string error;
        if (!split_target(request, error)) {
            return std::nullopt;
        }
        const RouteMatch match = router_.match(request.method, request.path);
        if (match.kind != RouteMatch::Kind::Found || !match.route->fast ||
            match.route->access != Access::Public || request.header("Authorization")) {
            return std::nullopt;
        }
        Context context;
        context.config = &config_;
        context.metrics = &metrics_;
        context.request_id = request_id_for(request);
        request.route = match.route->pattern;
        request.path_params = match.params;
        std::optional<Response> response = match.route->fast(request, context);
        if (!response) {
            request.route.clear();
            request.path_params.clear();
            return std::nullopt;
        }
        response->set_header("X-Request-Id", context.request_id);
        // Health probes come every few seconds from every balancer: their successes are logged
        // at debug, not info.
        return complete(request, std::move(*response), start, LogLevel::Debug);
    } catch (...) {
        // Let the worker run the request the ordinary way (and report what went wrong).
        request.route.clear();
        request.path_params.clear();
        return std::nullopt;
    }
}

Response Service::run(Request& request, Context& context) {
    std::string error;
    if (!split_target(request, error)) {
        request.route = std::string(unmatched_route);
        return bad_request(error);
    }
    RouteMatch match = router_.match(request.method, request.path);
    // HEAD is GET without the body (the session leaves the body out), unless a route takes it.
    if (request.method == "HEAD" && match.kind != RouteMatch::Kind::Found) {
        RouteMatch get = router_.match("GET", request.path);
        if (get.kind == RouteMatch::Kind::Found) {
            match = std::move(get);
        }
    }
    if (match.kind == RouteMatch::Kind::MethodNotAllowed &&
        std::find(match.allow.begin(), match.allow.end(), "GET") != match.allow.end() &&
        std::find(match.allow.begin(), match.allow.end(), "HEAD") == match.allow.end()) {
        match.allow.emplace_back("HEAD");
        std::sort(match.allow.begin(), match.allow.end());
    }
    switch (match.kind) {
    case RouteMatch::Kind::BadPath:
        request.route = std::string(unmatched_route);
        return bad_request("the request path is malformed");
    case RouteMatch::Kind::NotFound:
        request.route = std::string(unmatched_route);
        return not_found(fmt::format("no route for {}", request.path));
    case RouteMatch::Kind::MethodNotAllowed:
        request.route = std::string(unmatched_route);
        return method_not_allowed(request.method, match.allow);
    case RouteMatch::Kind::Found:
        break;
    }
    const Route& route = *match.route;
    request.route = route.pattern;
    request.path_params = std::move(match.params);

    const auto authorization = request.header("Authorization");
    if (route.access == Access::Authenticated || authorization) {
        AuthFailure failure = AuthFailure::Missing;
        auto identity = auth_.authenticate(authorization, failure);
        if (!identity) {
            if (route.access == Access::Authenticated) {
                return unauthorized(failure == AuthFailure::Missing
                                        ? "this request needs Authorization: Bearer <token>"
                                    : failure == AuthFailure::Malformed
                                        ? "the Authorization header is not \"Bearer <token>\""
                                        : "the bearer token is not valid",
                                    failure != AuthFailure::Missing);
            }
        } else {
            context.user = std::move(identity->user);
            context.org_admin = identity->org_admin;
        }
    }
    return route.handler(request, context);
}

Response Service::finish(const Request& request, Response response, Clock::time_point start) {
    return complete(request, std::move(response), start, LogLevel::Info);
}

Response Service::complete(const Request& request, Response response, Clock::time_point start,
                           LogLevel success_level) {
    std::string id;
    if (const auto given = response.header("X-Request-Id")) {
        id = std::string(*given);
    } else {
        id = request_id_for(request);
        response.set_header("X-Request-Id", id);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const std::string_view route =
        request.route.empty() ? unmatched_route : std::string_view(request.route);
    metrics_.record_request(route, request.method, response.status, seconds);
    const LogLevel level = response.status >= 500   ? LogLevel::Error
                           : response.status >= 400 ? LogLevel::Info
                                                    : success_level;
    if (log_enabled(level)) {
        // The access line's fields live on the stack (the heap only past 1 KiB).
        unsigned char storage[1024];
        boost::json::monotonic_resource resource(storage, sizeof storage);
        log_event(level, "request",
                  boost::json::object({{"request_id", id},
                                       {"method", request.method},
                                       {"route", route},
                                       {"status", response.status},
                                       {"duration_ms", seconds * 1000.0}},
                                      &resource));
    }
    return response;
}

} // namespace teamflow::server
