// Helpers shared by the engine-backed routes, and their registration.

#include "engine_routes.hpp"

#include "teamflow/server/auth.hpp"
#include "teamflow/server/json.hpp"
#include "teamflow/server/routes.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <fmt/format.h>

namespace teamflow::server {

namespace detail {

namespace json = boost::json;

json::value record_value(const engine::Definitions& defs, const engine::Record& record) {
    return json::parse(engine::record_json(defs, record));
}

Response record_response(const engine::Definitions& defs, const engine::Record& record,
                         int status) {
    Response r;
    r.status = status;
    r.body = engine::record_json(defs, record);
    r.set_header("ETag", etag(record.version));
    if (status == 201) {
        r.set_header("Location", fmt::format("/v1/modules/{}/records/{}",
                                             defs.modules[record.module].name, record.id));
    }
    return r;
}

bool requester_view(const Call& call, const engine::Record& record) {
    const engine::Definitions& defs = *call.defs;
    if (record.module >= defs.modules.size()) {
        return false;
    }
    const std::uint32_t team = defs.modules[record.module].teamspace;
    return team != engine::npos32 && call.user != engine::no_user &&
           record.requester == call.user && !defs.is_member(call.user, team) &&
           !call.host.engine().is_org_admin(defs, call.user);
}

bool shown_to_requester(const engine::Definitions& defs, std::uint32_t module,
                        std::uint32_t field) {
    const engine::ModuleDef& m = defs.modules[module];
    if ((field & engine::builtin_field) != 0) {
        return true;
    }
    if (field < m.requestable.size() && m.requestable[field] != 0) {
        return true;
    }
    const engine::BlueprintDef* bp = defs.blueprint_of(module);
    return bp != nullptr && bp->field == field;
}

json::value record_value(const Call& call, const engine::Record& record) {
    json::value v = record_value(*call.defs, record);
    if (!requester_view(call, record) || !v.is_object()) {
        return v;
    }
    const engine::ModuleDef& m = call.defs->modules[record.module];
    if (json::value* fields = v.as_object().if_contains("fields"); fields && fields->is_object()) {
        json::object shown;
        for (std::uint32_t f = 0; f < m.fields.size(); ++f) {
            if (!shown_to_requester(*call.defs, record.module, f)) {
                continue;
            }
            if (const json::value* value = fields->as_object().if_contains(m.fields[f].name)) {
                shown[m.fields[f].name] = *value;
            }
        }
        *fields = std::move(shown);
    }
    return v;
}

Response record_response(const Call& call, const engine::Record& record, int status) {
    Response r = record_response(*call.defs, record, status);
    if (requester_view(call, record)) {
        r.body = json::serialize(record_value(call, record));
    }
    return r;
}

Decoded<std::uint32_t> find_module(const engine::Definitions& defs, std::string_view name) {
    const std::uint32_t m = defs.find_module(name);
    if (m == engine::npos32) {
        return not_found(fmt::format("no module \"{}\"", name));
    }
    return m;
}

Decoded<engine::RecordId> parse_record_id(std::string_view text) {
    engine::RecordId id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id <= 0) {
        return not_found(fmt::format("no record \"{}\"", text));
    }
    return id;
}

std::vector<engine::NamedInput> named_inputs(const json::object& fields,
                                             std::vector<FieldError>& errors) {
    std::vector<engine::NamedInput> out;
    out.reserve(fields.size());
    for (const auto& member : fields) {
        engine::NamedInput in;
        in.field = std::string(member.key());
        const json::value& v = member.value();
        switch (v.kind()) {
        case json::kind::null:
            in.value.kind = engine::Input::Kind::Null;
            break;
        case json::kind::bool_:
            in.value.kind = engine::Input::Kind::Bool;
            in.value.boolean = v.get_bool();
            break;
        case json::kind::int64:
            in.value.kind = engine::Input::Kind::Number;
            in.value.text = std::to_string(v.get_int64());
            break;
        case json::kind::uint64:
            in.value.kind = engine::Input::Kind::Number;
            in.value.text = std::to_string(v.get_uint64());
            break;
        case json::kind::double_:
            in.value.kind = engine::Input::Kind::Number;
            in.value.text = fmt::format("{}", v.get_double());
            break;
        case json::kind::string:
            in.value.kind = engine::Input::Kind::String;
            in.value.text = std::string(v.get_string());
            break;
        default:
            errors.push_back({fmt::format("fields.{}", in.field),
                              fmt::format("must be a string, number, boolean or null, not {}",
                                          json_type_name(v))});
            continue;
        }
        out.push_back(std::move(in));
    }
    return out;
}

Decoded<engine::Record> visible_record(const Call& call, std::uint32_t module,
                                       engine::RecordId id) {
    auto got = call.host.engine().get(id, call.user);
    if (!got) {
        if (got.error().code == engine::ErrorCode::NotVisible ||
            got.error().code == engine::ErrorCode::NotFound) {
            return not_found(
                fmt::format("no record {} in {}", id, call.defs->modules[module].name));
        }
        return problem_from_engine(got.error());
    }
    if (got->module != module) {
        return not_found(fmt::format("no record {} in {}", id, call.defs->modules[module].name));
    }
    return std::move(got.value());
}

namespace {

/// A remembered response: status, headers and body, in one string.
std::string pack(const Response& r) {
    json::object o;
    o["status"] = r.status;
    o["content_type"] = r.content_type;
    json::array headers;
    for (const auto& [name, value] : r.headers) {
        headers.push_back(json::array{json::string(name), json::string(value)});
    }
    o["headers"] = std::move(headers);
    o["body"] = r.body;
    return to_string(o);
}

std::optional<Response> unpack(const std::string& text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    const json::object& o = v.as_object();
    Response r;
    r.status = static_cast<int>(o.at("status").to_number<std::int64_t>());
    r.content_type = std::string(o.at("content_type").as_string());
    for (const json::value& h : o.at("headers").as_array()) {
        r.headers.emplace_back(std::string(h.as_array().at(0).as_string()),
                               std::string(h.as_array().at(1).as_string()));
    }
    r.body = std::string(o.at("body").as_string());
    return r;
}

} // namespace

Response idempotent(const Call& call, const Request& request, Context& context,
                    const std::function<Response()>& write) {
    auto parsed = parse_idempotency_key(request);
    if (auto* bad = std::get_if<Response>(&parsed)) {
        return std::move(*bad);
    }
    const std::optional<std::string>& key = std::get<0>(parsed);
    if (!key) {
        return write();
    }
    const std::string stored_key =
        fmt::format("{}\n{} {}\n{}", context.user, request.method, request.target, *key);
    const std::string fingerprint = sha256_hex(request.body);
    engine::Store& store = call.host.store();
    if (auto seen = store.recall(stored_key)) {
        if (seen->fingerprint != fingerprint) {
            return unprocessable("this Idempotency-Key was used with another request body",
                                 {{"Idempotency-Key", "already used with another body"}});
        }
        if (auto replay = unpack(seen->response)) {
            replay->set_header("Idempotent-Replayed", "true");
            return std::move(*replay);
        }
    }
    Response r = write();
    if (r.status < 500) {
        store.remember(stored_key, engine::StoredResponse{fingerprint, pack(r)});
        // Two retries racing: the first remembered answer wins, and both see it.
        if (auto first = store.recall(stored_key)) {
            if (first->fingerprint == fingerprint && first->response != pack(r)) {
                if (auto replay = unpack(first->response)) {
                    return std::move(*replay);
                }
            }
        }
    }
    return r;
}

Handler with_engine(std::shared_ptr<EngineHost> host,
                    std::function<Response(const Call&, const Request&, Context&)> handler) {
    return [host = std::move(host), handler = std::move(handler)](const Request& request,
                                                                  Context& context) {
        if (!host) {
            return service_unavailable("no store is configured", 1);
        }
        Call call{*host, host->engine().definitions(), engine::no_user};
        call.user = host->user_id(*call.defs, context.user);
        Response r = handler(call, request, context);
        if (request.method != "GET" && r.status < 300) {
            host->poke();
        }
        return r;
    };
}

json::value cell_value(const engine::Definitions& defs, const engine::FieldDef& field,
                       const engine::Cell& cell) {
    std::string out;
    engine::append_json_value(out, defs, field, cell);
    return json::parse(out);
}

json::value user_value(const engine::Definitions& defs, engine::UserId user) {
    if (user == engine::no_user) {
        return nullptr;
    }
    return json::string(defs.user_name(user));
}

Response items_response(json::array items, std::optional<std::string> next) {
    json::object body;
    body["items"] = std::move(items);
    if (next) {
        body["next"] = *next;
    } else {
        body["next"] = nullptr;
    }
    return json_response(body);
}

Decoded<IdPage> parse_id_page(const Request& request) {
    auto page = parse_page_request(request);
    if (auto* r = std::get_if<Response>(&page)) {
        return std::move(*r);
    }
    const PageRequest& p = std::get<PageRequest>(page);
    IdPage out;
    out.limit = p.limit;
    if (!p.after.empty()) {
        const auto [end, ec] =
            std::from_chars(p.after.data(), p.after.data() + p.after.size(), out.after);
        if (ec != std::errc() || end != p.after.data() + p.after.size() || out.after <= 0) {
            return bad_request("after is not a cursor returned by this server",
                               {{"after", "not a valid cursor"}});
        }
    }
    return out;
}

std::string id_cursor(std::int64_t id) { return encode_cursor(std::to_string(id)); }

} // namespace detail

void register_engine_routes(Service& service, const RouteDeps& deps) {
    if (deps.host) {
        // The outbox backlog and the timers due, refreshed from the store on every scrape.
        std::weak_ptr<EngineHost> weak = deps.host;
        service.metrics().on_scrape([weak](Metrics& metrics) {
            auto host = weak.lock();
            if (!host) {
                return;
            }
            engine::Store& store = host->store();
            // Counted in the store (`count(*)`), never loaded.
            metrics.set_outbox_backlog(
                "pending", static_cast<double>(store.count_outbox(engine::OutboxStatus::Pending)));
            metrics.set_outbox_backlog(
                "failed", static_cast<double>(store.count_outbox(engine::OutboxStatus::Failed)));
            metrics.set_timers_due(
                static_cast<double>(store.count_due_timers(host->engine().clock().now())));
        });
    }
    detail::register_definition_version_routes(service, deps.host);
    detail::register_record_routes(service, deps.host);
    detail::register_request_routes(service, deps.host);
}

} // namespace teamflow::server
