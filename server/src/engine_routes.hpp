#pragma once
// Helpers shared by the engine-backed route files (records, requests, definitions).

#include "teamflow/engine/engine.hpp"
#include "teamflow/server/engine_host.hpp"
#include "teamflow/server/problem.hpp"
#include "teamflow/server/router.hpp"
#include "teamflow/server/service.hpp"

#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace teamflow::server::detail {

/// What every engine handler starts from: the host, the current definitions and the caller.
struct Call {
    EngineHost& host;
    std::shared_ptr<const engine::Definitions> defs;
    engine::UserId user = engine::no_user;
};

/// The record as a JSON value (the engine's `record_json`).
boost::json::value record_value(const engine::Definitions& defs, const engine::Record& record);

/// A 200/201 response with the record, its `ETag` (and `Location` when created).
Response record_response(const engine::Definitions& defs, const engine::Record& record,
                         int status = 200);

/// Whether the caller sees `record` only as the requester who filed it: a team module's record,
/// the caller neither a member of its teamspace nor an org admin. Such a caller is shown the
/// request fields and the state only (the contract's "request fields and status only").
bool requester_view(const Call& call, const engine::Record& record);

/// Whether a field of a team module is shown in a requester view (a request field, or the
/// blueprint's state field).
bool shown_to_requester(const engine::Definitions& defs, std::uint32_t module,
                        std::uint32_t field);

/// The record as the caller may see it (a requester view leaves out the other fields).
boost::json::value record_value(const Call& call, const engine::Record& record);

/// `record_response` for the caller (a requester view leaves out the other fields).
Response record_response(const Call& call, const engine::Record& record, int status = 200);

/// Resolves a module name from the path (404 when unknown).
Decoded<std::uint32_t> find_module(const engine::Definitions& defs, std::string_view name);

/// Parses a record id from the path (404 when it is not a positive integer).
Decoded<engine::RecordId> parse_record_id(std::string_view text);

/// Reads `fields` (a JSON object) into named inputs; wrong JSON types are errors naming the field.
std::vector<engine::NamedInput> named_inputs(const boost::json::object& fields,
                                             std::vector<FieldError>& errors);

/// A record the caller may see, in the module of the path (404 otherwise).
Decoded<engine::Record> visible_record(const Call& call, std::uint32_t module, engine::RecordId id);

/// Runs a write with `Idempotency-Key` semantics: the first answer is remembered (per user, method,
/// path and key) and replayed for a retry with the same body; another body is 422.
Response idempotent(const Call& call, const Request& request, Context& context,
                    const std::function<Response()>& write);

/// The handler wrapper: 503 without a host; builds the `Call`.
Handler with_engine(std::shared_ptr<EngineHost> host,
                    std::function<Response(const Call&, const Request&, Context&)> handler);

/// JSON of one field value of a module (null, a number, a string…).
boost::json::value cell_value(const engine::Definitions& defs, const engine::FieldDef& field,
                              const engine::Cell& cell);

/// A user's id as JSON (null for none).
boost::json::value user_value(const engine::Definitions& defs, engine::UserId user);

/// `{"items": […], "next": null}`.
Response items_response(boost::json::array items, std::optional<std::string> next = {});

/// A page of a list keyed by a numeric id: `limit` (1..200, default 50) and the id in the
/// `after` cursor (0 for the first page).
struct IdPage {
    std::size_t limit = 50;
    std::int64_t after = 0;
};

/// Reads `?limit=` and `?after=` for a list keyed by ids; 400 naming the parameter when bad.
Decoded<IdPage> parse_id_page(const Request& request);

/// The opaque cursor of a page ending at `id`.
std::string id_cursor(std::int64_t id);

/// Walks a paged store read, keeping the items `keep` accepts, until a page of `limit` is full:
/// `read(after, n)` returns up to `n` items past `after`, `id_of` an item's cursor value, and
/// `keep` turns an item into JSON (nullopt: skipped). Answers `{"items", "next"}`.
template <class Item, class Read, class IdOf, class Keep>
Response paged_items(const IdPage& page, Read read, IdOf id_of, Keep keep) {
    boost::json::array items;
    std::int64_t cursor = page.after;
    std::int64_t last = 0;
    bool more = true;
    bool has_next = false;
    while (more && !has_next) {
        const std::size_t want = page.limit - items.size() + 1;
        const std::vector<Item> got = read(cursor, want);
        more = got.size() == want;
        for (const Item& item : got) {
            cursor = id_of(item);
            std::optional<boost::json::value> v = keep(item);
            if (!v) {
                continue;
            }
            if (items.size() == page.limit) {
                has_next = true;
                break;
            }
            items.push_back(std::move(*v));
            last = id_of(item);
        }
    }
    if (has_next) {
        return items_response(std::move(items), id_cursor(last));
    }
    return items_response(std::move(items));
}

void register_record_routes(Service& service, const std::shared_ptr<EngineHost>& host);
void register_request_routes(Service& service, const std::shared_ptr<EngineHost>& host);
void register_definition_version_routes(Service& service, const std::shared_ptr<EngineHost>& host);

} // namespace teamflow::server::detail
