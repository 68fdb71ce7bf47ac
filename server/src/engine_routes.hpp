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

void register_record_routes(Service& service, const std::shared_ptr<EngineHost>& host);
void register_request_routes(Service& service, const std::shared_ptr<EngineHost>& host);
void register_definition_version_routes(Service& service, const std::shared_ptr<EngineHost>& host);

} // namespace teamflow::server::detail
