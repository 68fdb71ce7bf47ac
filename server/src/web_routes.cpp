// The preview page's files, embedded by server/embed.cmake.

#include "teamflow/server/web_routes.hpp"

#include <array>

namespace teamflow::server {

// Generated from server/web/* by server/embed.cmake.
extern const unsigned char web_index_html_data[];
extern const std::size_t web_index_html_size;
extern const unsigned char web_app_js_data[];
extern const std::size_t web_app_js_size;
extern const unsigned char web_app_css_data[];
extern const std::size_t web_app_css_size;

namespace {

std::string_view view(const unsigned char* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

/// Everything from this server, nothing inline; diagrams arrive as `blob:` images.
constexpr std::string_view page_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

} // namespace

const WebAsset* web_assets(std::size_t& count) {
    static const std::array<WebAsset, 3> assets = {{
        {"/", "text/html; charset=utf-8", view(web_index_html_data, web_index_html_size)},
        {"/app.js", "text/javascript; charset=utf-8", view(web_app_js_data, web_app_js_size)},
        {"/app.css", "text/css; charset=utf-8", view(web_app_css_data, web_app_css_size)},
    }};
    count = assets.size();
    return assets.data();
}

void register_web_routes(Service& service) {
    std::size_t count = 0;
    const WebAsset* assets = web_assets(count);
    for (std::size_t i = 0; i < count; ++i) {
        const WebAsset asset = assets[i];
        service.router().add(
            "GET", std::string(asset.path),
            [asset](const Request&, Context&) {
                Response r;
                r.content_type = std::string(asset.content_type);
                r.body = std::string(asset.body);
                r.set_header("Cache-Control", "no-cache");
                r.set_header("X-Content-Type-Options", "nosniff");
                r.set_header("Referrer-Policy", "no-referrer");
                r.set_header("Content-Security-Policy", std::string(page_policy));
                return r;
            },
            Access::Public);
    }
}

} // namespace teamflow::server
