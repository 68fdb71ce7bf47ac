// Problems (RFC 9457), strict JSON bodies, ETags, idempotency keys and cursors.

#include "teamflow/server/problem.hpp"

#include "teamflow/engine/result.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <fmt/format.h>

namespace teamflow::server {

namespace json = boost::json;

Response problem(int status, std::string_view slug, std::string_view title, std::string detail,
                 const std::vector<FieldError>& errors) {
    json::object o;
    o["type"] = fmt::format("{}{}", problem_type_base, slug);
    o["title"] = title;
    o["status"] = status;
    o["detail"] = std::move(detail);
    if (!errors.empty()) {
        json::array items;
        for (const FieldError& e : errors) {
            items.push_back(json::object{{"field", e.field}, {"message", e.message}});
        }
        o["errors"] = std::move(items);
    }
    Response r;
    r.status = status;
    r.content_type = std::string(problem_content_type);
    r.body = json::serialize(o);
    return r;
}

Response bad_request(std::string detail, const std::vector<FieldError>& errors) {
    return problem(400, "bad-request", "Bad request", std::move(detail), errors);
}

Response unauthorized(std::string detail, bool token_given) {
    Response r = problem(401, "unauthorized", "Authentication required", std::move(detail));
    r.set_header("WWW-Authenticate", token_given
                                         ? "Bearer realm=\"teamflow\", error=\"invalid_token\""
                                         : "Bearer realm=\"teamflow\"");
    return r;
}

Response forbidden(std::string detail) {
    return problem(403, "forbidden", "Forbidden", std::move(detail));
}

Response not_found(std::string detail) {
    return problem(404, "not-found", "Not found", std::move(detail));
}

Response method_not_allowed(std::string_view method, const std::vector<std::string>& allow) {
    std::string list;
    for (const std::string& m : allow) {
        list += list.empty() ? m : ", " + m;
    }
    Response r = problem(405, "method-not-allowed", "Method not allowed",
                         fmt::format("{} is not allowed here; allowed: {}", method, list));
    r.set_header("Allow", list);
    return r;
}

Response conflict(std::string detail) {
    return problem(409, "conflict", "Conflict", std::move(detail));
}

Response payload_too_large(std::size_t limit) {
    Response r = problem(413, "payload-too-large", "Request body too large",
                         fmt::format("the request body exceeds the limit of {} bytes", limit));
    r.close = true;
    return r;
}

Response unsupported_media_type(std::string_view content_type) {
    return problem(
        415, "unsupported-media-type", "Unsupported media type",
        content_type.empty()
            ? std::string("a request body must have Content-Type: application/json")
            : fmt::format("the request body is \"{}\"; expected application/json", content_type));
}

Response unprocessable(std::string detail, const std::vector<FieldError>& errors) {
    return problem(422, "validation-failed", "Validation failed", std::move(detail), errors);
}

Response too_many_requests(std::string detail, int retry_after_seconds) {
    Response r = problem(429, "too-many-requests", "Too many requests", std::move(detail));
    r.set_header("Retry-After", std::to_string(retry_after_seconds));
    return r;
}

Response service_unavailable(std::string detail, int retry_after_seconds) {
    Response r = problem(503, "service-unavailable", "Service unavailable", std::move(detail));
    r.set_header("Retry-After", std::to_string(retry_after_seconds));
    return r;
}

Response internal_error(std::string_view request_id) {
    return problem(500, "internal-error", "Internal server error",
                   fmt::format("an unexpected error occurred (request {})", request_id));
}

Response problem_from_engine(const engine::Error& error) {
    const int status = engine::http_status(error.code);
    std::vector<FieldError> items;
    items.reserve(error.items.size());
    for (const engine::ErrorItem& item : error.items) {
        items.push_back({item.field, item.message});
    }
    if (status >= 500) {
        return service_unavailable(error.detail, 1);
    }
    const std::string_view code = engine::code_name(error.code);
    std::string title(code);
    std::replace(title.begin(), title.end(), '-', ' ');
    if (!title.empty()) {
        title[0] = static_cast<char>(title[0] - 'a' + 'A');
    }
    return problem(status, code, title, error.detail, items);
}

Response json_response(const json::value& body, int status) {
    Response r;
    r.status = status;
    r.body = json::serialize(body);
    return r;
}

bool is_json_content_type(std::string_view content_type) {
    std::string_view media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) {
        media.remove_suffix(1);
    }
    while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) {
        media.remove_prefix(1);
    }
    if (iequals(media, "application/json")) {
        return true;
    }
    const std::string_view prefix = "application/";
    const std::string_view suffix = "+json";
    return media.size() > prefix.size() + suffix.size() &&
           iequals(media.substr(0, prefix.size()), prefix) &&
           iequals(media.substr(media.size() - suffix.size()), suffix);
}

Decoded<json::object> parse_json_object_body(const Request& request) {
    const std::string_view content_type = request.header("Content-Type").value_or("");
    if (!request.body.empty() && !is_json_content_type(content_type)) {
        return unsupported_media_type(content_type);
    }
    if (request.body.empty()) {
        return bad_request("a JSON object body is required");
    }
    json::error_code ec;
    json::parse_options options;
    options.max_depth = 64;
    json::value v = json::parse(request.body, ec, {}, options);
    if (ec) {
        return bad_request(fmt::format("the body is not valid JSON: {}", ec.message()));
    }
    if (!v.is_object()) {
        return unprocessable("the body must be a JSON object",
                             {{"", fmt::format("expected an object, not {}", json_type_name(v))}});
    }
    return std::move(v.as_object());
}

std::string_view json_type_name(const json::value& v) {
    switch (v.kind()) {
    case json::kind::null:
        return "null";
    case json::kind::bool_:
        return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
        return "a number";
    case json::kind::string:
        return "a string";
    case json::kind::array:
        return "an array";
    case json::kind::object:
        return "an object";
    }
    return "a value";
}

StrictObject::StrictObject(const json::object& object, std::string path,
                           std::vector<FieldError>& errors)
    : object_(object), path_(std::move(path)), errors_(errors) {}

std::string StrictObject::field(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

const json::value* StrictObject::find(std::string_view key, bool required) {
    read_.emplace_back(key);
    const json::value* v = object_.if_contains(key);
    if (v == nullptr && required) {
        errors_.push_back({field(key), "is required"});
    }
    return v;
}

void StrictObject::wrong_type(std::string_view key, std::string_view expected,
                              const json::value& v) {
    errors_.push_back({field(key), fmt::format("must be {}, not {}", expected, json_type_name(v))});
}

std::optional<std::string_view> StrictObject::string(std::string_view key, bool required) {
    const json::value* v = find(key, required);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->is_string()) {
        wrong_type(key, "a string", *v);
        return std::nullopt;
    }
    return std::string_view(v->get_string());
}

std::optional<bool> StrictObject::boolean(std::string_view key, bool required) {
    const json::value* v = find(key, required);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->is_bool()) {
        wrong_type(key, "a boolean", *v);
        return std::nullopt;
    }
    return v->get_bool();
}

std::optional<std::int64_t> StrictObject::integer(std::string_view key, bool required) {
    const json::value* v = find(key, required);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_int64()) {
        return v->get_int64();
    }
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        return static_cast<std::int64_t>(v->get_uint64());
    }
    wrong_type(key, "an integer", *v);
    return std::nullopt;
}

const json::object* StrictObject::object(std::string_view key, bool required) {
    const json::value* v = find(key, required);
    if (v == nullptr) {
        return nullptr;
    }
    if (!v->is_object()) {
        wrong_type(key, "an object", *v);
        return nullptr;
    }
    return &v->get_object();
}

const json::array* StrictObject::array(std::string_view key, bool required) {
    const json::value* v = find(key, required);
    if (v == nullptr) {
        return nullptr;
    }
    if (!v->is_array()) {
        wrong_type(key, "an array", *v);
        return nullptr;
    }
    return &v->get_array();
}

const json::value* StrictObject::any(std::string_view key, bool required) {
    return find(key, required);
}

std::optional<std::vector<std::string>> StrictObject::strings(std::string_view key, bool required) {
    const json::array* a = array(key, required);
    if (a == nullptr) {
        return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (std::size_t i = 0; i < a->size(); ++i) {
        const json::value& e = (*a)[i];
        if (!e.is_string()) {
            errors_.push_back({fmt::format("{}[{}]", field(key), i),
                               fmt::format("must be a string, not {}", json_type_name(e))});
            ok = false;
            continue;
        }
        out.emplace_back(e.get_string());
    }
    return ok ? std::optional(std::move(out)) : std::nullopt;
}

bool StrictObject::finish() {
    for (const auto& member : object_) {
        const std::string_view key = member.key();
        if (std::find(read_.begin(), read_.end(), key) == read_.end()) {
            errors_.push_back({field(key), "unknown member"});
        }
    }
    return errors_.empty();
}

std::string etag(std::int64_t version) {
    return fmt::format("\"{}\"", version);
}

bool IfMatch::matches(std::int64_t version) const {
    switch (kind) {
    case Kind::Absent:
    case Kind::Any:
        return true;
    case Kind::Versions:
        return std::find(versions.begin(), versions.end(), version) != versions.end();
    }
    return false;
}

std::int64_t IfMatch::expected_version() const {
    return kind == Kind::Versions && versions.size() == 1 ? versions.front() : 0;
}

Decoded<IfMatch> parse_if_match(const Request& request) {
    IfMatch m;
    const auto header = request.header("If-Match");
    if (!header) {
        return m;
    }
    std::string_view rest = *header;
    const auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
            s.remove_prefix(1);
        }
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
            s.remove_suffix(1);
        }
        return s;
    };
    if (trim(rest) == "*") {
        m.kind = IfMatch::Kind::Any;
        return m;
    }
    m.kind = IfMatch::Kind::Versions;
    while (true) {
        const auto comma = rest.find(',');
        const std::string_view item = trim(rest.substr(0, comma));
        // A strong ETag of a version: "N". Weak ETags never match under If-Match.
        if (item.size() < 3 || item.front() != '"' || item.back() != '"') {
            if (item.size() >= 2 && item.substr(0, 2) == "W/") {
                // Valid syntax, never matches.
            } else {
                return bad_request(
                    fmt::format(
                        "If-Match must be \"*\" or a list of ETags like \"\\\"3\\\"\"; got {}",
                        *header),
                    {{"If-Match", "must be \"*\" or a list of ETags like \"3\""}});
            }
        } else {
            std::int64_t v = 0;
            const std::string_view digits = item.substr(1, item.size() - 2);
            const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
            if (ec == std::errc() && end == digits.data() + digits.size() && v > 0) {
                m.versions.push_back(v);
            }
            // Any other opaque ETag is well-formed but matches no version.
        }
        if (comma == std::string_view::npos) {
            break;
        }
        rest = rest.substr(comma + 1);
    }
    return m;
}

Decoded<std::optional<std::string>> parse_idempotency_key(const Request& request) {
    const auto header = request.header("Idempotency-Key");
    if (!header) {
        return std::optional<std::string>();
    }
    if (header->empty()) {
        return bad_request("Idempotency-Key must not be empty",
                           {{"Idempotency-Key", "must not be empty"}});
    }
    if (header->size() > max_idempotency_key) {
        return bad_request(
            fmt::format("Idempotency-Key is {} characters long; at most {} are accepted",
                        header->size(), max_idempotency_key),
            {{"Idempotency-Key", fmt::format("at most {} characters", max_idempotency_key)}});
    }
    const bool printable = std::all_of(header->begin(), header->end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
    if (!printable) {
        return bad_request("Idempotency-Key must be printable ASCII",
                           {{"Idempotency-Key", "must be printable ASCII"}});
    }
    return std::optional<std::string>(std::string(*header));
}

Decoded<PageRequest> parse_page_request(const Request& request, std::size_t default_limit,
                                        std::size_t max_limit) {
    PageRequest page;
    page.limit = default_limit;
    if (const auto limit = request.query_param("limit")) {
        std::size_t n = 0;
        const auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
        if (ec != std::errc() || end != limit->data() + limit->size() || n < 1 || n > max_limit) {
            return bad_request(fmt::format("limit must be a whole number from 1 to {}", max_limit),
                               {{"limit", fmt::format("must be from 1 to {}", max_limit)}});
        }
        page.limit = n;
    }
    if (const auto after = request.query_param("after"); after && !after->empty()) {
        auto raw = decode_cursor(*after);
        if (!raw) {
            return bad_request("after is not a cursor returned by this server",
                               {{"after", "not a valid cursor"}});
        }
        page.after = std::move(*raw);
    }
    return page;
}

namespace {
constexpr std::string_view base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}

std::string encode_cursor(std::string_view raw) {
    std::string out;
    out.reserve((raw.size() + 2) / 3 * 4);
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(raw[k]); };
    for (; i + 3 <= raw.size(); i += 3) {
        const unsigned n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out.push_back(base64url_alphabet[(n >> 18) & 63]);
        out.push_back(base64url_alphabet[(n >> 12) & 63]);
        out.push_back(base64url_alphabet[(n >> 6) & 63]);
        out.push_back(base64url_alphabet[n & 63]);
    }
    if (raw.size() - i == 1) {
        const unsigned n = byte(i) << 16;
        out.push_back(base64url_alphabet[(n >> 18) & 63]);
        out.push_back(base64url_alphabet[(n >> 12) & 63]);
    } else if (raw.size() - i == 2) {
        const unsigned n = (byte(i) << 16) | (byte(i + 1) << 8);
        out.push_back(base64url_alphabet[(n >> 18) & 63]);
        out.push_back(base64url_alphabet[(n >> 12) & 63]);
        out.push_back(base64url_alphabet[(n >> 6) & 63]);
    }
    return out;
}

std::optional<std::string> decode_cursor(std::string_view cursor) {
    if (cursor.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(cursor.size() * 3 / 4);
    unsigned acc = 0;
    int bits = 0;
    for (const char c : cursor) {
        const auto pos = base64url_alphabet.find(c);
        if (pos == std::string_view::npos) {
            return std::nullopt;
        }
        acc = ((acc << 6) | static_cast<unsigned>(pos)) & 0xffffu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    // Leftover bits must be zero for the encoding to be canonical.
    if ((acc & ((1u << bits) - 1)) != 0) {
        return std::nullopt;
    }
    return out;
}

} // namespace teamflow::server
