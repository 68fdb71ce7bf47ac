// Records: create, read, list, update, delete; transitions (list, perform, dry run, bulk); admin
// moves; history.

#include "engine_routes.hpp"
#include "teamflow/server/json.hpp"
#include "teamflow/server/service.hpp"

#include <boost/json/parse.hpp>
#include <charconv>
#include <fmt/format.h>

namespace teamflow::server::detail {

namespace {

namespace json = boost::json;
using engine::Definitions;
using engine::Record;

/// A body that may be empty (then `{}`).
Decoded<json::object> optional_body(const Request& request) {
    if (request.body.empty()) {
        return json::object{};
    }
    return parse_json_object_body(request);
}

/// Reads `fields` of a body and resolves them against a module; the assigns point into `inputs`.
std::optional<Response> resolve_fields(const Call& call, std::uint32_t module,
                                       const json::object* fields,
                                       std::vector<engine::NamedInput>& inputs,
                                       std::vector<engine::FieldAssign>& assigns,
                                       std::vector<FieldError>& errors) {
    if (fields != nullptr) {
        inputs = named_inputs(*fields, errors);
    }
    if (!errors.empty()) {
        return unprocessable("the request body is not valid", errors);
    }
    auto resolved = call.host.engine().resolve_inputs(module, inputs);
    if (!resolved) {
        engine::Error e = resolved.error();
        for (engine::ErrorItem& item : e.items) {
            if (!item.field.empty() && item.field.rfind("fields.", 0) != 0) {
                item.field = "fields." + item.field;
            }
        }
        return problem_from_engine(e);
    }
    assigns = std::move(resolved.value());
    return std::nullopt;
}

/// `If-Match` as the engine's expected version (0: any); a 400 when malformed.
Decoded<std::int64_t> expected_version(const Request& request) {
    auto parsed = parse_if_match(request);
    if (auto* bad = std::get_if<Response>(&parsed)) {
        return std::move(*bad);
    }
    return std::get<IfMatch>(parsed).expected_version();
}

json::value state_name(const engine::BlueprintDef& bp, std::int32_t s) {
    if (s < 0 || static_cast<std::size_t>(s) >= bp.states.size()) {
        return nullptr;
    }
    return json::string(bp.states[static_cast<std::size_t>(s)]);
}

std::string field_name(const engine::ModuleDef& m, std::uint32_t f) {
    if ((f & engine::builtin_field) != 0) {
        switch (static_cast<engine::Builtin>(f & ~engine::builtin_field)) {
        case engine::Builtin::Owner:
            return "owner";
        case engine::Builtin::Requester:
            return "requester";
        case engine::Builtin::Assignee:
            return "assignee";
        default:
            return "builtin";
        }
    }
    return f < m.fields.size() ? m.fields[f].name : std::string("?");
}

json::value change_value(const Definitions& defs, const engine::ModuleDef& m, std::uint32_t f,
                         const engine::Cell& c) {
    if ((f & engine::builtin_field) != 0) {
        return c.empty()
                   ? json::value(nullptr)
                   : json::value(json::string(defs.user_name(static_cast<engine::UserId>(c.i))));
    }
    if (f >= m.fields.size()) {
        return nullptr;
    }
    return cell_value(defs, m.fields[f], c);
}

json::array changes_json(const Definitions& defs, const engine::ModuleDef& m,
                         const std::vector<engine::FieldChange>& changes) {
    json::array out;
    for (const engine::FieldChange& c : changes) {
        json::object o;
        o["field"] = field_name(m, c.field);
        o["before"] = change_value(defs, m, c.field, c.before);
        o["after"] = change_value(defs, m, c.field, c.after);
        out.push_back(std::move(o));
    }
    return out;
}

/// The transition part of a transition response.
json::object outcome_json(const Definitions& defs, const engine::TransitionOutcome& o,
                          std::int64_t history_id) {
    const engine::BlueprintDef& bp = defs.blueprints[o.blueprint];
    json::object t;
    if (history_id > 0) {
        t["id"] = std::to_string(history_id);
    } else {
        t["id"] = nullptr;
    }
    t["name"] = bp.transitions[o.transition].name;
    t["from"] = state_name(bp, o.from);
    t["to"] = state_name(bp, o.to);
    t["moved"] = o.moved;
    t["at"] = engine::format_datetime(o.at);
    t["by"] = user_value(defs, o.by);
    return t;
}

/// The built-in user fields a listing filters on.
std::optional<engine::Builtin> builtin_user_field(std::string_view name) {
    if (name == "owner") {
        return engine::Builtin::Owner;
    }
    if (name == "assignee") {
        return engine::Builtin::Assignee;
    }
    if (name == "requester") {
        return engine::Builtin::Requester;
    }
    if (name == "created_by") {
        return engine::Builtin::CreatedBy;
    }
    return std::nullopt;
}

Response create_record(const Call& call, const Request& request, Context& context) {
    auto module = find_module(*call.defs, request.param("module"));
    if (auto* r = std::get_if<Response>(&module)) {
        return std::move(*r);
    }
    return idempotent(call, request, context, [&] {
        auto parsed = parse_json_object_body(request);
        if (auto* r = std::get_if<Response>(&parsed)) {
            return std::move(*r);
        }
        std::vector<FieldError> errors;
        StrictObject top(std::get<json::object>(parsed), "", errors);
        const json::object* fields = top.object("fields");
        top.finish();
        std::vector<engine::NamedInput> inputs;
        std::vector<engine::FieldAssign> assigns;
        if (auto r = resolve_fields(call, std::get<std::uint32_t>(module), fields, inputs, assigns,
                                    errors)) {
            return std::move(*r);
        }
        auto created =
            call.host.engine().create(std::get<std::uint32_t>(module), call.user, assigns);
        if (!created) {
            return problem_from_engine(created.error());
        }
        return record_response(call, created.value(), 201);
    });
}

Response get_record(const Call& call, const Request& request, Context&) {
    auto module = find_module(*call.defs, request.param("module"));
    if (auto* r = std::get_if<Response>(&module)) {
        return std::move(*r);
    }
    auto id = parse_record_id(request.param("id"));
    if (auto* r = std::get_if<Response>(&id)) {
        return std::move(*r);
    }
    auto record =
        visible_record(call, std::get<std::uint32_t>(module), std::get<engine::RecordId>(id));
    if (auto* r = std::get_if<Response>(&record)) {
        return std::move(*r);
    }
    return record_response(call, std::get<Record>(record));
}

Response list_records(const Call& call, const Request& request, Context&) {
    auto module_r = find_module(*call.defs, request.param("module"));
    if (auto* r = std::get_if<Response>(&module_r)) {
        return std::move(*r);
    }
    const std::uint32_t module = std::get<std::uint32_t>(module_r);
    auto page = parse_page_request(request);
    if (auto* r = std::get_if<Response>(&page)) {
        return std::move(*r);
    }
    const PageRequest& p = std::get<PageRequest>(page);
    engine::RecordId after = 0;
    if (!p.after.empty()) {
        const auto [end, ec] =
            std::from_chars(p.after.data(), p.after.data() + p.after.size(), after);
        if (ec != std::errc() || end != p.after.data() + p.after.size() || after < 0) {
            return bad_request("the cursor is not one this server gave",
                               {{"after", "unknown cursor"}});
        }
    }
    // Equality filters: every other query parameter names a field (or state, owner, …).
    const engine::ModuleDef& m = call.defs->modules[module];
    const engine::BlueprintDef* bp = call.defs->blueprint_of(module);
    std::vector<engine::NamedInput> inputs;
    std::vector<FieldError> errors;
    std::vector<engine::FieldFilter> filters;
    bool matches_nothing = false;
    for (const auto& [name, value] : request.query) {
        if (name == "limit" || name == "after") {
            continue;
        }
        if (auto b = builtin_user_field(name)) {
            engine::FieldFilter filter;
            filter.field = engine::builtin_field | static_cast<std::uint32_t>(*b);
            if (!value.empty()) {
                const std::uint32_t u = call.defs->find_user(value);
                if (u == engine::npos32) {
                    matches_nothing = true;
                    continue;
                }
                filter.value.assign(engine::Value::user(u));
            }
            filters.push_back(std::move(filter));
            continue;
        }
        std::string field = name;
        if (field == "state" && bp != nullptr) {
            field = m.fields[bp->field].name;
        }
        const std::uint32_t f = m.find_assignable(field);
        if (f == engine::npos32) {
            errors.push_back({name, fmt::format("{} has no field \"{}\"", m.name, name)});
            continue;
        }
        engine::NamedInput in;
        in.field = field;
        if (value.empty()) {
            in.value.kind = engine::Input::Kind::Null;
        } else if ((f & engine::builtin_field) == 0 &&
                   (m.fields[f].value_kind == engine::ValueKind::Number)) {
            in.value.kind = engine::Input::Kind::Number;
            in.value.text = value;
        } else if ((f & engine::builtin_field) == 0 &&
                   m.fields[f].value_kind == engine::ValueKind::Boolean) {
            if (value != "true" && value != "false") {
                errors.push_back({name, "must be true or false"});
                continue;
            }
            in.value.kind = engine::Input::Kind::Bool;
            in.value.boolean = value == "true";
        } else {
            in.value.kind = engine::Input::Kind::String;
            in.value.text = value;
        }
        inputs.push_back(std::move(in));
    }
    if (!errors.empty()) {
        return bad_request("bad filter", errors);
    }
    if (!inputs.empty()) {
        auto resolved = call.host.engine().resolve_inputs(module, inputs);
        if (!resolved) {
            std::vector<FieldError> items;
            for (const engine::ErrorItem& item : resolved.error().items) {
                items.push_back({item.field, item.message});
            }
            return bad_request(resolved.error().detail, items);
        }
        for (const engine::FieldAssign& a : resolved.value()) {
            engine::FieldFilter filter;
            filter.field = a.field;
            std::int32_t aux = -1;
            if ((a.field & engine::builtin_field) == 0 &&
                m.fields[a.field].kind == dsl::FieldKind::Picklist && !a.value.empty()) {
                aux = m.fields[a.field].value_index(a.value.s);
            }
            filter.value.assign(a.value, aux);
            filters.push_back(std::move(filter));
        }
    }
    // A requester outside the teamspace may not filter on fields they are not shown (the answer
    // would tell their values).
    bool filters_hidden_fields = false;
    for (const engine::FieldFilter& f : filters) {
        filters_hidden_fields =
            filters_hidden_fields || !shown_to_requester(*call.defs, module, f.field);
    }
    json::array items;
    engine::Store& store = call.host.store();
    engine::RecordId cursor = after;
    bool more = !matches_nothing;
    engine::RecordId last = 0;
    bool has_next = false;
    while (more && items.size() < p.limit) {
        const std::size_t want = p.limit - items.size() + 1;
        std::vector<engine::RecordId> ids = store.list_where(module, filters, cursor, want);
        more = ids.size() == want;
        for (engine::RecordId id : ids) {
            cursor = id;
            auto got = call.host.engine().get(id, call.user);
            if (!got || (filters_hidden_fields && requester_view(call, got.value()))) {
                continue;
            }
            if (items.size() == p.limit) {
                has_next = true;
                more = false;
                break;
            }
            items.push_back(record_value(call, got.value()));
            last = id;
        }
    }
    if (has_next) {
        return items_response(std::move(items), encode_cursor(std::to_string(last)));
    }
    return items_response(std::move(items));
}

Response update_record(const Call& call, const Request& request, Context& context) {
    auto module = find_module(*call.defs, request.param("module"));
    if (auto* r = std::get_if<Response>(&module)) {
        return std::move(*r);
    }
    auto id = parse_record_id(request.param("id"));
    if (auto* r = std::get_if<Response>(&id)) {
        return std::move(*r);
    }
    return idempotent(call, request, context, [&] {
        auto record =
            visible_record(call, std::get<std::uint32_t>(module), std::get<engine::RecordId>(id));
        if (auto* r = std::get_if<Response>(&record)) {
            return std::move(*r);
        }
        auto expected = expected_version(request);
        if (auto* r = std::get_if<Response>(&expected)) {
            return std::move(*r);
        }
        auto parsed = parse_json_object_body(request);
        if (auto* r = std::get_if<Response>(&parsed)) {
            return std::move(*r);
        }
        std::vector<FieldError> errors;
        StrictObject top(std::get<json::object>(parsed), "", errors);
        const json::object* fields = top.object("fields", true);
        top.finish();
        std::vector<engine::NamedInput> inputs;
        std::vector<engine::FieldAssign> assigns;
        if (auto r = resolve_fields(call, std::get<std::uint32_t>(module), fields, inputs, assigns,
                                    errors)) {
            return std::move(*r);
        }
        auto updated = call.host.engine().update(std::get<engine::RecordId>(id), call.user, assigns,
                                                 std::get<std::int64_t>(expected));
        if (!updated) {
            return problem_from_engine(updated.error());
        }
        return record_response(call, updated.value());
    });
}

Response delete_record(const Call& call, const Request& request, Context& context) {
    auto module = find_module(*call.defs, request.param("module"));
    if (auto* r = std::get_if<Response>(&module)) {
        return std::move(*r);
    }
    auto id = parse_record_id(request.param("id"));
    if (auto* r = std::get_if<Response>(&id)) {
        return std::move(*r);
    }
    return idempotent(call, request, context, [&] {
        auto record =
            visible_record(call, std::get<std::uint32_t>(module), std::get<engine::RecordId>(id));
        if (auto* r = std::get_if<Response>(&record)) {
            return std::move(*r);
        }
        auto if_match = parse_if_match(request);
        if (auto* r = std::get_if<Response>(&if_match)) {
            return std::move(*r);
        }
        if (!std::get<IfMatch>(if_match).matches(std::get<Record>(record).version)) {
            return conflict(
                fmt::format("the record is at version {}", std::get<Record>(record).version));
        }
        auto removed = call.host.engine().remove(std::get<engine::RecordId>(id), call.user);
        if (!removed) {
            return problem_from_engine(removed.error());
        }
        Response r;
        r.status = 204;
        r.content_type.clear();
        return r;
    });
}

Response list_transitions(const Call& call, const Request& request, Context&) {
    auto module = find_module(*call.defs, request.param("module"));
    if (auto* r = std::get_if<Response>(&module)) {
        return std::move(*r);
    }
    auto id = parse_record_id(request.param("id"));
    if (auto* r = std::get_if<Response>(&id)) {
        return std::move(*r);
    }
    bool all = false;
    if (auto a = request.query_param("all")) {
        if (*a != "true" && *a != "false") {
            return bad_request("all must be true or false", {{"all", "must be true or false"}});
        }
        all = *a == "true";
    }
    auto record =
        visible_record(call, std::get<std::uint32_t>(module), std::get<engine::RecordId>(id));
    if (auto* r = std::get_if<Response>(&record)) {
        return std::move(*r);
    }
    const Record& rec = std::get<Record>(record);
    const engine::BlueprintDef* bp = call.defs->blueprint_of(rec.module);
    json::object body;
    json::array list;
    if (bp == nullptr || !rec.governed) {
        body["state"] = nullptr;
        body["transitions"] = std::move(list);
        return json_response(body);
    }
    const engine::ModuleDef& m = call.defs->modules[rec.module];
    body["state"] = state_name(*bp, rec.fields[bp->field].aux);
    std::vector<engine::AvailableTransition> out;
    auto listed = call.host.engine().list_transitions(rec.id, call.user, all, out);
    if (!listed) {
        return problem_from_engine(listed.error());
    }
    for (const engine::AvailableTransition& a : out) {
        const engine::TransitionDef& t = bp->transitions[a.index];
        json::object o;
        o["name"] = t.name;
        json::array to;
        for (const engine::TargetDef& target : t.targets) {
            to.push_back(json::string(bp->states[target.state]));
        }
        if (t.parallel != engine::npos32 && t.targets.empty()) {
            to.push_back(json::string(bp->states[bp->parallels[t.parallel].to]));
        }
        o["to"] = std::move(to);
        json::array require;
        for (std::uint32_t f : t.require) {
            require.push_back(json::string(field_name(m, f)));
        }
        o["require"] = std::move(require);
        json::array checklist;
        for (const std::string& c : t.checklist) {
            checklist.push_back(json::string(c));
        }
        o["checklist"] = std::move(checklist);
        o["note_required"] = t.note_required;
        if (t.parallel != engine::npos32) {
            o["parallel"] = bp->parallels[t.parallel].name;
        } else {
            o["parallel"] = nullptr;
        }
        if (all) {
            o["available"] = a.available;
            if (!a.available) {
                o["reason"] = a.reason;
                o["reason_code"] = engine::code_name(a.reason_code);
            }
        }
        list.push_back(std::move(o));
    }
    body["transitions"] = std::move(list);
    return json_response(body);
}

/// Starts a transition from the record the route has just read, and keeps the committed one.
void reuse_record(const Call& call, const engine::Record& read, engine::Record& committed,
                  engine::TransitionCall& tc) {
    if (call.host.engine().definitions() == call.defs) {
        tc.current = &read;
        tc.current_defs = call.defs.get();
    }
    tc.committed = &committed;
}

/// Parses `{"fields","checklist","note"}` and builds the call; a response when refused.
std::optional<Response> transition_call(const Call& call, std::uint32_t module,
                                        const json::object& body, bool with_ids,
                                        engine::TransitionCall& tc,
                                        std::vector<engine::NamedInput>& inputs,
                                        std::vector<std::string>* ids) {
    std::vector<FieldError> errors;
    StrictObject top(body, "", errors);
    if (with_ids) {
        auto list = top.array("ids", true);
        if (list != nullptr) {
            for (std::size_t i = 0; i < list->size(); ++i) {
                const json::value& v = (*list)[i];
                if (v.is_string()) {
                    ids->emplace_back(v.get_string());
                } else if (v.is_int64()) {
                    ids->push_back(std::to_string(v.get_int64()));
                } else {
                    errors.push_back(
                        {fmt::format("ids[{}]", i),
                         fmt::format("must be a record id, not {}", json_type_name(v))});
                }
            }
            if (list->size() > 1000) {
                errors.push_back({"ids", "at most 1000 records at a time"});
            }
        }
    }
    const json::object* fields = top.object("fields");
    auto checklist = top.strings("checklist");
    if (!with_ids) {
        auto note = top.string("note");
        if (note) {
            tc.note = std::string(*note);
        }
    } else if (auto note = top.string("note")) {
        tc.note = std::string(*note);
    }
    top.finish();
    if (checklist) {
        tc.checklist = std::move(*checklist);
    }
    std::vector<engine::FieldAssign> assigns;
    if (auto r = resolve_fields(call, module, fields, inputs, assigns, errors)) {
        return r;
    }
    tc.fields = std::move(assigns);
    return std::nullopt;
}

/// The answer to a performed transition, from the record as committed.
Response transition_response(const Call& call, const engine::TransitionOutcome& o,
                             const engine::Record& rec) {
    json::object body;
    body["record"] = record_value(call, rec);
    body["transition"] =
        outcome_json(*call.defs, o, call.host.store().history_id_at(o.record, o.version));
    Response r = json_response(body);
    r.set_header("ETag", etag(rec.version));
    return r;
}

Response perform_transition(const Call& call, const Request& request, Context& context) {
    auto module = find_module(*call.defs, request.param("module"));
    if (auto* r = std::get_if<Response>(&module)) {
        return std::move(*r);
    }
    auto id = parse_record_id(request.param("id"));
    if (auto* r = std::get_if<Response>(&id)) {
        return std::move(*r);
    }
    bool dry = false;
    if (auto d = request.query_param("dry_run")) {
        if (*d != "true" && *d != "false") {
            return bad_request("dry_run must be true or false",
                               {{"dry_run", "must be true or false"}});
        }
        dry = *d == "true";
    }
    auto run = [&]() -> Response {
        auto record =
            visible_record(call, std::get<std::uint32_t>(module), std::get<engine::RecordId>(id));
        if (auto* r = std::get_if<Response>(&record)) {
            return std::move(*r);
        }
        auto expected = expected_version(request);
        if (auto* r = std::get_if<Response>(&expected)) {
            return std::move(*r);
        }
        auto parsed = optional_body(request);
        if (auto* r = std::get_if<Response>(&parsed)) {
            return std::move(*r);
        }
        engine::TransitionCall tc;
        tc.record = std::get<engine::RecordId>(id);
        tc.name = std::string(request.param("name"));
        tc.user = call.user;
        tc.expected_version = std::get<std::int64_t>(expected);
        std::vector<engine::NamedInput> inputs;
        if (auto r = transition_call(call, std::get<std::uint32_t>(module),
                                     std::get<json::object>(parsed), false, tc, inputs, nullptr)) {
            return std::move(*r);
        }
        if (dry) {
            auto result = call.host.engine().dry_run(tc);
            if (!result) {
                return problem_from_engine(result.error());
            }
            const engine::DryRunResult& d = result.value();
            const engine::ModuleDef& m = call.defs->modules[d.record.module];
            json::object body;
            body["dry_run"] = true;
            body["record"] = record_value(call, d.record);
            body["transition"] = outcome_json(*call.defs, d.outcome, 0);
            if (requester_view(call, d.record)) {
                std::vector<engine::FieldChange> shown;
                for (const engine::FieldChange& c : d.changes) {
                    if (shown_to_requester(*call.defs, d.record.module, c.field)) {
                        shown.push_back(c);
                    }
                }
                body["changes"] = changes_json(*call.defs, m, shown);
            } else {
                body["changes"] = changes_json(*call.defs, m, d.changes);
            }
            json::array queued;
            for (const engine::OutboxRow& row : d.queued) {
                json::object q;
                if (row.kind == engine::OutboxKind::Webhook) {
                    q["kind"] = "webhook";
                    q["url"] = row.url;
                } else {
                    q["kind"] = "notification";
                    q["user"] = user_value(*call.defs, row.user);
                    q["text"] = row.text;
                }
                queued.push_back(std::move(q));
            }
            body["actions"] = std::move(queued);
            json::array created;
            for (const Record& c : d.created) {
                created.push_back(record_value(call, c));
            }
            body["created"] = std::move(created);
            return json_response(body);
        }
        engine::Record committed;
        reuse_record(call, std::get<engine::Record>(record), committed, tc);
        auto outcome = call.host.engine().transition(tc);
        const engine::BlueprintDef* bp = call.defs->blueprint_of(std::get<std::uint32_t>(module));
        if (context.metrics != nullptr && bp != nullptr) {
            context.metrics->record_transition(bp->name,
                                               outcome ? std::string_view("ok")
                                                       : engine::code_name(outcome.error().code));
        }
        if (!outcome) {
            return problem_from_engine(outcome.error());
        }
        return transition_response(call, outcome.value(), committed);
    };
    if (dry) {
        return run();
    }
    return idempotent(call, request, context, run);
}

Response bulk_transition(const Call& call, const Request& request, Context& context) {
    auto module = find_module(*call.defs, request.param("module"));
    if (auto* r = std::get_if<Response>(&module)) {
        return std::move(*r);
    }
    return idempotent(call, request, context, [&]() -> Response {
        auto parsed = parse_json_object_body(request);
        if (auto* r = std::get_if<Response>(&parsed)) {
            return std::move(*r);
        }
        engine::TransitionCall base;
        base.name = std::string(request.param("name"));
        base.user = call.user;
        std::vector<engine::NamedInput> inputs;
        std::vector<std::string> ids;
        if (auto r = transition_call(call, std::get<std::uint32_t>(module),
                                     std::get<json::object>(parsed), true, base, inputs, &ids)) {
            return std::move(*r);
        }
        json::array results;
        for (const std::string& text : ids) {
            json::object item;
            item["id"] = text;
            Response one;
            auto id = parse_record_id(text);
            if (auto* r = std::get_if<Response>(&id)) {
                one = std::move(*r);
            } else {
                auto record = visible_record(call, std::get<std::uint32_t>(module),
                                             std::get<engine::RecordId>(id));
                if (auto* rr = std::get_if<Response>(&record)) {
                    one = std::move(*rr);
                } else {
                    engine::TransitionCall tc = base;
                    tc.record = std::get<engine::RecordId>(id);
                    engine::Record committed;
                    reuse_record(call, std::get<engine::Record>(record), committed, tc);
                    auto outcome = call.host.engine().transition(tc);
                    one = outcome ? transition_response(call, outcome.value(), committed)
                                  : problem_from_engine(outcome.error());
                }
            }
            item["status"] = one.status;
            boost::system::error_code ec;
            json::value v = json::parse(one.body, ec);
            if (one.status < 300) {
                item["record"] = ec ? json::value(nullptr) : v.as_object()["record"];
                item["transition"] = ec ? json::value(nullptr) : v.as_object()["transition"];
            } else {
                item["problem"] = ec ? json::value(nullptr) : v;
            }
            results.push_back(std::move(item));
        }
        json::object body;
        body["results"] = std::move(results);
        return json_response(body);
    });
}

Response move_record(const Call& call, const Request& request, Context& context) {
    auto module = find_module(*call.defs, request.param("module"));
    if (auto* r = std::get_if<Response>(&module)) {
        return std::move(*r);
    }
    auto id = parse_record_id(request.param("id"));
    if (auto* r = std::get_if<Response>(&id)) {
        return std::move(*r);
    }
    return idempotent(call, request, context, [&]() -> Response {
        auto record =
            visible_record(call, std::get<std::uint32_t>(module), std::get<engine::RecordId>(id));
        if (auto* r = std::get_if<Response>(&record)) {
            return std::move(*r);
        }
        const engine::ModuleDef& m = call.defs->modules[std::get<std::uint32_t>(module)];
        const bool team_admin = m.teamspace != engine::npos32 && call.user != engine::no_user &&
                                call.defs->is_team_admin(call.user, m.teamspace);
        if (!context.org_admin && !team_admin) {
            return forbidden("only an org admin or the admin of the module's teamspace may move a "
                             "record");
        }
        auto parsed = parse_json_object_body(request);
        if (auto* r = std::get_if<Response>(&parsed)) {
            return std::move(*r);
        }
        std::vector<FieldError> errors;
        StrictObject top(std::get<json::object>(parsed), "", errors);
        auto state = top.string("state", true);
        auto reason = top.string("reason", true);
        top.finish();
        if (reason && reason->empty()) {
            errors.push_back({"reason", "must not be empty"});
        }
        const engine::BlueprintDef* bp = call.defs->blueprint_of(std::get<std::uint32_t>(module));
        std::uint32_t s = engine::npos32;
        if (state) {
            if (bp == nullptr) {
                errors.push_back({"state", fmt::format("{} has no blueprint", m.name)});
            } else if ((s = bp->find_state(*state)) == engine::npos32) {
                errors.push_back(
                    {"state", fmt::format("\"{}\" is not a state of {}", *state, bp->name)});
            }
        }
        if (!errors.empty()) {
            return unprocessable("the request body is not valid", errors);
        }
        auto moved =
            call.host.engine().move(std::get<engine::RecordId>(id),
                                    call.user == engine::no_user ? engine::system_user : call.user,
                                    s, std::string(*reason));
        if (!moved) {
            return problem_from_engine(moved.error());
        }
        return record_response(call, moved.value());
    });
}

Response record_history(const Call& call, const Request& request, Context&) {
    auto module = find_module(*call.defs, request.param("module"));
    if (auto* r = std::get_if<Response>(&module)) {
        return std::move(*r);
    }
    auto id = parse_record_id(request.param("id"));
    if (auto* r = std::get_if<Response>(&id)) {
        return std::move(*r);
    }
    auto record =
        visible_record(call, std::get<std::uint32_t>(module), std::get<engine::RecordId>(id));
    if (auto* r = std::get_if<Response>(&record)) {
        return std::move(*r);
    }
    const engine::ModuleDef& m = call.defs->modules[std::get<std::uint32_t>(module)];
    const engine::BlueprintDef* bp = call.defs->blueprint_of(std::get<std::uint32_t>(module));
    auto page = parse_id_page(request);
    if (auto* r = std::get_if<Response>(&page)) {
        return std::move(*r);
    }
    const engine::RecordId record_id = std::get<engine::RecordId>(id);
    // A requester outside the teamspace sees the request fields and the state only: no other
    // field's changes, no notes.
    const bool redact = requester_view(call, std::get<Record>(record));
    return paged_items<engine::HistoryEntry>(
        std::get<IdPage>(page),
        [&](std::int64_t after, std::size_t n) {
            return call.host.store().history_page(record_id, after, n);
        },
        [](const engine::HistoryEntry& h) { return h.id; },
        [&](const engine::HistoryEntry& h) -> std::optional<json::value> {
            json::object o;
            o["id"] = std::to_string(h.id);
            o["kind"] = engine::history_kind_name(h.kind);
            if (!h.name.empty()) {
                o["name"] = h.name;
            }
            o["from"] = bp != nullptr ? state_name(*bp, h.from) : json::value(nullptr);
            o["to"] = bp != nullptr ? state_name(*bp, h.to) : json::value(nullptr);
            o["by"] = h.by == engine::system_user ? json::value("system")
                                                  : user_value(*call.defs, h.by);
            o["at"] = engine::format_datetime(h.at);
            o["version"] = h.version;
            if (!h.note.empty() && !redact) {
                o["note"] = h.note;
            }
            if (!h.reason.empty() && !redact) {
                o["reason"] = h.reason;
            }
            if (redact) {
                std::vector<engine::FieldChange> shown;
                for (const engine::FieldChange& c : h.changes) {
                    if (shown_to_requester(*call.defs, h.module, c.field)) {
                        shown.push_back(c);
                    }
                }
                o["changes"] = changes_json(*call.defs, m, shown);
            } else {
                o["changes"] = changes_json(*call.defs, m, h.changes);
            }
            json::array checklist;
            for (const std::string& c : h.checklist) {
                checklist.push_back(json::string(c));
            }
            o["checklist"] = std::move(checklist);
            return json::value(std::move(o));
        });
}

} // namespace

void register_record_routes(Service& service, const std::shared_ptr<EngineHost>& host) {
    Router& r = service.router();
    r.add("POST", "/v1/modules/{module}/records", with_engine(host, create_record));
    r.add("GET", "/v1/modules/{module}/records", with_engine(host, list_records));
    r.add("GET", "/v1/modules/{module}/records/{id}", with_engine(host, get_record));
    r.add("PATCH", "/v1/modules/{module}/records/{id}", with_engine(host, update_record));
    r.add("DELETE", "/v1/modules/{module}/records/{id}", with_engine(host, delete_record));
    r.add("GET", "/v1/modules/{module}/records/{id}/transitions",
          with_engine(host, list_transitions));
    r.add("POST", "/v1/modules/{module}/records/{id}/transitions/{name}",
          with_engine(host, perform_transition));
    r.add("POST", "/v1/modules/{module}/transitions/{name}", with_engine(host, bulk_transition));
    r.add("POST", "/v1/modules/{module}/records/{id}/move", with_engine(host, move_record));
    r.add("GET", "/v1/modules/{module}/records/{id}/history", with_engine(host, record_history));
}

} // namespace teamflow::server::detail
