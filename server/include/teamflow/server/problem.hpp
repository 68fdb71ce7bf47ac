#pragma once
/// The API's conventions in one place: RFC 9457 problems, strict JSON bodies, ETag/If-Match,
/// Idempotency-Key and paging cursors.

#include "teamflow/server/http.hpp"

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace teamflow::engine {
struct Error;
}

namespace teamflow::server {

/// The prefix of every problem `type` URI; the slug follows (`…/validation-failed`).
inline constexpr std::string_view problem_type_base = "https://teamflow.dev/problems/";

/// One message about one field of the input (`field` may be "" for the body as a whole).
struct FieldError {
    std::string field;
    std::string message;
};

/// A problem response: `status`, `type` slug, `title`, `detail` and per-field `errors`.
Response problem(int status, std::string_view slug, std::string_view title, std::string detail,
                 const std::vector<FieldError>& errors = {});

/// 400: malformed JSON, bad query or bad header.
Response bad_request(std::string detail, const std::vector<FieldError>& errors = {});
/// 401 with `WWW-Authenticate: Bearer` (and `error="invalid_token"` when a token was given).
Response unauthorized(std::string detail, bool token_given);
/// 403: known caller, not allowed.
Response forbidden(std::string detail);
/// 404: unknown, or not visible to this caller.
Response not_found(std::string detail);
/// 405 with `Allow`.
Response method_not_allowed(std::string_view method, const std::vector<std::string>& allow);
/// 409: version or state conflict.
Response conflict(std::string detail);
/// 413: body over the configured limit.
Response payload_too_large(std::size_t limit);
/// 415: a body whose content type is not JSON.
Response unsupported_media_type(std::string_view content_type);
/// 422 `validation-failed` with every message.
Response unprocessable(std::string detail, const std::vector<FieldError>& errors);
/// 429 with `Retry-After`.
Response too_many_requests(std::string detail, int retry_after_seconds);
/// 503 with `Retry-After`.
Response service_unavailable(std::string detail, int retry_after_seconds);
/// 500: a bug; names the request id so the log line can be found.
Response internal_error(std::string_view request_id);
/// The one mapping from an engine refusal to a problem (status from `engine::http_status`).
Response problem_from_engine(const engine::Error& error);

/// A 200 (or `status`) JSON response.
Response json_response(const boost::json::value& body, int status = 200);

/// Either a value or the problem response to send instead.
template <class T> using Decoded = std::variant<T, Response>;

/// Parses a request body that must be a JSON object: 415 when the content type is not JSON, 400
/// when empty or malformed, 422 when not an object.
Decoded<boost::json::object> parse_json_object_body(const Request& request);

/// Whether a Content-Type value is JSON (`application/json` or `application/*+json`).
bool is_json_content_type(std::string_view content_type);

/// Strict decoding of one JSON object: reads members by name and type, collects a `FieldError` for
/// each missing, mistyped or (in `finish`) unknown member; nested objects share the error list.
class StrictObject {
public:
    /// `path` prefixes field names in errors ("" at the top, "fields" below it).
    StrictObject(const boost::json::object& object, std::string path,
                 std::vector<FieldError>& errors);

    /// A string member; nullopt when absent (an error if `required`) or mistyped.
    std::optional<std::string_view> string(std::string_view key, bool required = false);
    /// A boolean member.
    std::optional<bool> boolean(std::string_view key, bool required = false);
    /// An integer member (a JSON number without fraction).
    std::optional<std::int64_t> integer(std::string_view key, bool required = false);
    /// An object member.
    const boost::json::object* object(std::string_view key, bool required = false);
    /// An array member.
    const boost::json::array* array(std::string_view key, bool required = false);
    /// Any member, whatever its type.
    const boost::json::value* any(std::string_view key, bool required = false);
    /// An array of strings; a mistyped element is an error naming `key[i]`.
    std::optional<std::vector<std::string>> strings(std::string_view key, bool required = false);
    /// Records an error for every member that was not read; true when no error was collected.
    bool finish();
    /// The field name of `key` within this object (`fields.discount`).
    std::string field(std::string_view key) const;

private:
    const boost::json::value* find(std::string_view key, bool required);
    void wrong_type(std::string_view key, std::string_view expected, const boost::json::value& v);

    const boost::json::object& object_;
    std::string path_;
    std::vector<FieldError>& errors_;
    std::vector<std::string> read_;
};

/// The JSON type name of a value ("string", "number", "object", …) for messages.
std::string_view json_type_name(const boost::json::value& v);

/// `"<version>"`, the ETag of a record version.
std::string etag(std::int64_t version);

/// A parsed `If-Match` header.
struct IfMatch {
    enum class Kind { Absent, Any, Versions };
    Kind kind = Kind::Absent;
    std::vector<std::int64_t> versions;
    /// Whether a record at `version` satisfies the precondition.
    bool matches(std::int64_t version) const;
    /// The single expected version, or 0 when absent or `*` (the engine's "any").
    std::int64_t expected_version() const;
};

/// Parses `If-Match` (absent, `*`, or a list of strong ETags of versions); 400 when malformed.
Decoded<IfMatch> parse_if_match(const Request& request);

/// The longest `Idempotency-Key` accepted.
inline constexpr std::size_t max_idempotency_key = 200;

/// The `Idempotency-Key` header (nullopt when absent); 400 when empty, too long or not visible
/// ASCII.
Decoded<std::optional<std::string>> parse_idempotency_key(const Request& request);

/// A page request: `limit` and the decoded `after` cursor ("" for the first page).
struct PageRequest {
    std::size_t limit = 50;
    std::string after;
};

/// Reads `?limit=` (1..max_limit, default `default_limit`) and `?after=` (a cursor); 400 when bad.
Decoded<PageRequest> parse_page_request(const Request& request, std::size_t default_limit = 50,
                                        std::size_t max_limit = 200);

/// An opaque cursor: the bytes in unpadded base64url.
std::string encode_cursor(std::string_view raw);
/// The bytes of a cursor; nullopt when it is not base64url.
std::optional<std::string> decode_cursor(std::string_view cursor);

} // namespace teamflow::server
