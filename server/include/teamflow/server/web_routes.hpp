#pragma once
/// The preview page: `GET /`, `/app.js` and `/app.css`, embedded in the binary at build time (from
/// `server/web/`), served without authentication and with a strict Content-Security-Policy.

#include "teamflow/server/service.hpp"

#include <cstddef>
#include <string_view>

namespace teamflow::server {

/// One embedded file of the page.
struct WebAsset {
    std::string_view path; ///< the route (`/`, `/app.js`, …)
    std::string_view content_type;
    std::string_view body;
};

/// The page's files, in route order.
const WebAsset* web_assets(std::size_t& count);

/// Registers `GET` routes for every page file.
void register_web_routes(Service& service);

} // namespace teamflow::server
