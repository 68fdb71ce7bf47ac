#pragma once
/// The request pipeline shared by every route: request id, routing, authentication, the handler
/// (exceptions become 500 and a log line), metrics and the access log. No sockets here.

#include "teamflow/server/auth.hpp"
#include "teamflow/server/config.hpp"
#include "teamflow/server/http.hpp"
#include "teamflow/server/log.hpp"
#include "teamflow/server/metrics.hpp"
#include "teamflow/server/router.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace teamflow::server {

/// The route label of requests that matched no route (keeps metric labels bounded).
inline constexpr std::string_view unmatched_route = "(unmatched)";

/// Owns the configuration, the router, the authenticator and the metrics of one service.
class Service {
public:
    using Clock = std::chrono::steady_clock;

    /// Takes the validated configuration; routes are added through `router()` before serving.
    explicit Service(Config config);

    const Config& config() const { return config_; }
    Router& router() { return router_; }
    const Router& router() const { return router_; }
    Metrics& metrics() { return metrics_; }
    const Authenticator& authenticator() const { return auth_; }

    /// Runs one request through the pipeline. `request.method`, `target`, `headers` and `body`
    /// must be set; path, query, params and route are filled here. Never throws.
    Response handle(Request request);

    /// Answers on the calling (I/O) thread when the request's route has a fast handler, the
    /// request carries no Authorization header, and the fast handler can answer at once; the
    /// response is complete (request id, metrics, access log). nullopt: call `handle` on a worker
    /// (`request` is then as it was, but for `path` and `query`). Never throws, never blocks.
    std::optional<Response> handle_fast(Request& request);

    /// Completes a response the transport produced itself (413, 400 from the parser, 429, 503):
    /// request id header, metrics and the access log line, as for handled requests.
    Response finish(const Request& request, Response response, Clock::time_point start);

private:
    Response run(Request& request, Context& context);
    /// `finish`, logging answers under 400 at `success_level`.
    Response complete(const Request& request, Response response, Clock::time_point start,
                      LogLevel success_level);

    Config config_;
    Router router_;
    Authenticator auth_;
    Metrics metrics_;
};

/// `X-Request-Id` when it is 1–200 characters of `[A-Za-z0-9._:-]`, otherwise a new random id.
std::string request_id_for(const Request& request);

} // namespace teamflow::server
