// Requests into team modules, "my requests", "assigned to me", notifications and the outbox.

#include "engine_routes.hpp"
#include "teamflow/server/service.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

namespace teamflow::server::detail {

namespace {

namespace json = boost::json;
using engine::Record;

Response file_request(const Call& call, const Request& request, Context& context) {
    const std::uint32_t team = call.defs->find_teamspace(request.param("team"));
    if (team == engine::npos32) {
        return not_found(fmt::format("no teamspace \"{}\"", request.param("team")));
    }
    auto module_r = find_module(*call.defs, request.param("module"));
    if (auto* r = std::get_if<Response>(&module_r)) {
        return std::move(*r);
    }
    const std::uint32_t module = std::get<std::uint32_t>(module_r);
    if (call.defs->modules[module].teamspace != team) {
        return not_found(fmt::format("teamspace {} has no module {}", request.param("team"),
                                     request.param("module")));
    }
    return idempotent(call, request, context, [&]() -> Response {
        auto parsed = parse_json_object_body(request);
        if (auto* r = std::get_if<Response>(&parsed)) {
            return std::move(*r);
        }
        std::vector<FieldError> errors;
        StrictObject top(std::get<json::object>(parsed), "", errors);
        const json::object* fields = top.object("fields", true);
        top.finish();
        std::vector<engine::NamedInput> inputs;
        if (fields != nullptr) {
            inputs = named_inputs(*fields, errors);
        }
        if (!errors.empty()) {
            return unprocessable("the request body is not valid", errors);
        }
        auto resolved = call.host.engine().resolve_inputs(module, inputs);
        if (!resolved) {
            return problem_from_engine(resolved.error());
        }
        auto filed = call.host.engine().file_request(team, module, call.user, resolved.value());
        if (!filed) {
            return problem_from_engine(filed.error());
        }
        return record_response(call, filed.value(), 201);
    });
}

/// Whether a record is in a terminal state of its blueprint.
bool is_closed(const engine::Definitions& defs, const Record& r) {
    const engine::BlueprintDef* bp = defs.blueprint_of(r.module);
    if (bp == nullptr || !r.governed) {
        return false;
    }
    const std::int32_t s = r.fields[bp->field].aux;
    return s >= 0 && static_cast<std::size_t>(s) < bp->terminal.size() &&
           bp->terminal[static_cast<std::size_t>(s)] != 0;
}

Response my_requests(const Call& call, const Request& request, Context&) {
    bool all = false;
    if (auto s = request.query_param("status")) {
        if (*s != "open" && *s != "all") {
            return bad_request("status must be open or all", {{"status", "must be open or all"}});
        }
        all = *s == "all";
    }
    auto page = parse_id_page(request);
    if (auto* r = std::get_if<Response>(&page)) {
        return std::move(*r);
    }
    if (call.user == engine::no_user) {
        return items_response({});
    }
    return paged_items<engine::RecordId>(
        std::get<IdPage>(page),
        [&](std::int64_t after, std::size_t n) {
            return call.host.store().requested_by_page(call.user, after, n);
        },
        [](engine::RecordId id) { return id; },
        [&](engine::RecordId id) -> std::optional<json::value> {
            auto got = call.host.engine().get(id, call.user);
            if (!got || (!all && is_closed(*call.defs, got.value()))) {
                return std::nullopt;
            }
            return record_value(call, got.value());
        });
}

Response my_assigned(const Call& call, const Request& request, Context&) {
    auto page = parse_id_page(request);
    if (auto* r = std::get_if<Response>(&page)) {
        return std::move(*r);
    }
    if (call.user == engine::no_user) {
        return items_response({});
    }
    return paged_items<engine::RecordId>(
        std::get<IdPage>(page),
        [&](std::int64_t after, std::size_t n) {
            return call.host.store().assigned_to_page(call.user, after, n);
        },
        [](engine::RecordId id) { return id; },
        [&](engine::RecordId id) -> std::optional<json::value> {
            auto got = call.host.engine().get(id, call.user);
            if (!got) {
                return std::nullopt;
            }
            return record_value(call, got.value());
        });
}

const char* status_name(engine::OutboxStatus s) {
    switch (s) {
    case engine::OutboxStatus::Pending:
        return "pending";
    case engine::OutboxStatus::Delivered:
        return "delivered";
    case engine::OutboxStatus::Failed:
        return "failed";
    }
    return "pending";
}

Response my_notifications(const Call& call, const Request& request, Context&) {
    auto page = parse_id_page(request);
    if (auto* r = std::get_if<Response>(&page)) {
        return std::move(*r);
    }
    if (call.user == engine::no_user) {
        return items_response({});
    }
    // Newest first: the cursor is the last (oldest) id shown, and the next page is below it.
    return paged_items<engine::OutboxRow>(
        std::get<IdPage>(page),
        [&](std::int64_t before, std::size_t n) {
            return call.host.store().notifications_page(call.user, before, n);
        },
        [](const engine::OutboxRow& row) { return row.id; },
        [&](const engine::OutboxRow& row) -> std::optional<json::value> {
            json::object o;
            o["id"] = std::to_string(row.id);
            o["message"] = row.text;
            o["record"] = row.record > 0 ? json::value(json::string(std::to_string(row.record)))
                                         : json::value(nullptr);
            o["module"] = row.module < call.defs->modules.size()
                              ? json::value(json::string(call.defs->modules[row.module].name))
                              : json::value(nullptr);
            o["at"] = engine::format_datetime(row.created_at);
            return json::value(std::move(o));
        });
}

Response outbox(const Call& call, const Request& request, Context& context) {
    if (!context.org_admin) {
        return forbidden("only an org admin may read the outbox");
    }
    std::optional<engine::OutboxStatus> status;
    if (auto s = request.query_param("status")) {
        if (*s == "pending") {
            status = engine::OutboxStatus::Pending;
        } else if (*s == "failed") {
            status = engine::OutboxStatus::Failed;
        } else if (*s == "delivered") {
            status = engine::OutboxStatus::Delivered;
        } else {
            return bad_request("status must be pending, failed or delivered",
                               {{"status", "must be pending, failed or delivered"}});
        }
    }
    auto page = parse_id_page(request);
    if (auto* r = std::get_if<Response>(&page)) {
        return std::move(*r);
    }
    return paged_items<engine::OutboxRow>(
        std::get<IdPage>(page),
        [&](std::int64_t after, std::size_t n) {
            return call.host.store().outbox_page(engine::OutboxKind::Webhook, status, after, n);
        },
        [](const engine::OutboxRow& row) { return row.id; },
        [&](const engine::OutboxRow& row) -> std::optional<json::value> {
            json::object o;
            o["id"] = std::to_string(row.id);
            o["url"] = row.url;
            o["record"] = row.record > 0
                              ? json::value(json::string(std::to_string(row.record)))
                              : json::value(nullptr);
            o["status"] = status_name(row.status);
            o["attempts"] = row.attempts;
            o["last_error"] = row.last_error.empty() ? json::value(nullptr)
                                                     : json::value(json::string(row.last_error));
            o["created_at"] = engine::format_datetime(row.created_at);
            return json::value(std::move(o));
        });
}

} // namespace

void register_request_routes(Service& service, const std::shared_ptr<EngineHost>& host) {
    Router& r = service.router();
    r.add("POST", "/v1/teamspaces/{team}/modules/{module}/requests",
          with_engine(host, file_request));
    r.add("GET", "/v1/me/requests", with_engine(host, my_requests));
    r.add("GET", "/v1/me/assigned", with_engine(host, my_assigned));
    r.add("GET", "/v1/me/notifications", with_engine(host, my_notifications));
    r.add("GET", "/v1/outbox", with_engine(host, outbox));
}

} // namespace teamflow::server::detail
