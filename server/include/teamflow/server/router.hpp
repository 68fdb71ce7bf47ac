#pragma once
/// Routing: method + path pattern (`/v1/modules/{module}/records/{id}`) → handler.

#include "teamflow/server/http.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace teamflow::server {

class Metrics;
struct Config;

/// What a handler knows about the call besides the request: who, which request, the services.
struct Context {
    std::string request_id; ///< from `X-Request-Id` or generated
    std::string user;       ///< the authenticated user ("" on public routes without a token)
    bool org_admin = false; ///< the user is an org admin (from the configuration)
    const Config* config = nullptr;
    Metrics* metrics = nullptr;
};

/// A route handler; it may block (it runs on a worker thread, never on an I/O thread).
using Handler = std::function<Response(const Request&, Context&)>;

/// An optional second handler of a route that runs on the I/O thread: it must never block, and
/// answers nullopt when it cannot answer at once (the request then goes to `Handler` on a worker).
/// For cheap, hot routes such as `GET /healthz`, where handing over to a worker and back costs
/// more than the answer.
using FastHandler = std::function<std::optional<Response>(const Request&, Context&)>;

/// Whether a route needs a bearer token.
enum class Access { Authenticated, Public };

/// One registered route.
struct Route {
    std::string method;
    std::string pattern;
    Access access = Access::Authenticated;
    Handler handler;
    FastHandler fast; ///< optional; only for public routes called without a token
};

/// The result of matching a request against the routes.
struct RouteMatch {
    enum class Kind { Found, NotFound, MethodNotAllowed, BadPath };
    Kind kind = Kind::NotFound;
    const Route* route = nullptr;   ///< Found
    std::vector<NameValue> params;  ///< Found: decoded `{param}` values
    std::vector<std::string> allow; ///< MethodNotAllowed: the methods the path accepts
};

/// Method + path pattern dispatch. Literal segments win over `{param}` segments; a path whose
/// pattern matches under another method is 405 with `Allow`. Not thread-safe to modify; matching is
/// read-only and may run concurrently once routes are registered.
class Router {
public:
    /// Registers a route; returns false (and registers nothing) when the pattern is malformed or
    /// the method + pattern is taken.
    bool add(std::string method, std::string pattern, Handler handler,
             Access access = Access::Authenticated);
    /// Gives a registered public route a fast handler; false when there is no such route.
    bool set_fast(std::string_view method, std::string_view pattern, FastHandler fast);
    /// Matches a raw (percent-encoded) path.
    RouteMatch match(std::string_view method, std::string_view path) const;
    /// Every registered route, in registration order.
    const std::vector<Route>& routes() const { return routes_; }

private:
    struct Compiled {
        std::vector<std::string> segments; ///< literal text, or the name for params
        std::vector<bool> is_param;
    };
    std::vector<Route> routes_;
    std::vector<Compiled> compiled_;
};

} // namespace teamflow::server
