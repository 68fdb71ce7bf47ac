#pragma once
/// Plain request and response values: what handlers see, independent of sockets and Beast.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace teamflow::server {

/// A header or query parameter: name and value.
using NameValue = std::pair<std::string, std::string>;

/// Content types the service answers with.
inline constexpr std::string_view json_content_type = "application/json; charset=utf-8";
/// RFC 9457 problem details.
inline constexpr std::string_view problem_content_type = "application/problem+json; charset=utf-8";

/// ASCII case-insensitive equality (header names, tokens).
bool iequals(std::string_view a, std::string_view b);

/// An HTTP request as handlers see it: path and query already split and percent-decoded.
struct Request {
    std::string method;             ///< "GET", "POST", …
    std::string target;             ///< the raw request target
    std::string path;               ///< the raw path (not decoded)
    std::vector<NameValue> query;   ///< decoded query parameters, in order
    std::vector<NameValue> headers; ///< as received
    std::string body;
    std::vector<NameValue> path_params; ///< `{param}` segments, decoded (set by the router)
    std::string route;                  ///< the matched route pattern (set by the router)

    /// The first header of that name (case-insensitive), if any.
    std::optional<std::string_view> header(std::string_view name) const;
    /// The first query parameter of that name, if any.
    std::optional<std::string_view> query_param(std::string_view name) const;
    /// A path parameter of the matched route ("" when absent).
    std::string_view param(std::string_view name) const;
};

/// An HTTP response as handlers produce it.
struct Response {
    int status = 200;
    std::string content_type = std::string(json_content_type);
    std::vector<NameValue> headers; ///< extra headers (not Content-Type or Content-Length)
    std::string body;
    bool close = false; ///< close the connection after this response

    /// Sets (replaces) a header.
    Response& set_header(std::string name, std::string value);
    /// The first header of that name (case-insensitive), if any.
    std::optional<std::string_view> header(std::string_view name) const;
};

/// Splits a request target into `path` and decoded `query`; false when the query is malformed.
bool split_target(Request& request, std::string& error);

/// Percent-decodes `in` (with `plus_is_space`, "+" becomes " "); nullopt when malformed.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);

/// The standard reason phrase of a status code ("Not Found").
std::string_view reason_phrase(int status);

} // namespace teamflow::server
