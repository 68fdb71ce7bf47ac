// Published definitions: the current set, its versions, publishing (org and teamspace admins).

#include "engine_routes.hpp"
#include "teamflow/dsl/frontend.hpp"
#include "teamflow/server/json.hpp"
#include "teamflow/server/service.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <map>
#include <set>

namespace teamflow::server::detail {

namespace {

namespace json = boost::json;
using Files = std::vector<std::pair<std::string, std::string>>;

Response get_definitions(const Call& call, const Request&, Context&) {
    auto latest = call.host.store().latest_definitions();
    if (!latest) {
        return service_unavailable("the definitions cannot be read from the store", 1);
    }
    json::object body;
    body["version"] = latest->version;
    body["published_at"] = engine::format_datetime(latest->published_at);
    body["published_by"] = latest->published_by;
    json::object files;
    for (const auto& [name, text] : latest->files) {
        files[name] = text;
    }
    body["files"] = std::move(files);
    Response r = json_response(body);
    r.set_header("ETag", etag(latest->version));
    return r;
}

Response get_versions(const Call& call, const Request& request, Context&) {
    auto page = parse_id_page(request);
    if (auto* r = std::get_if<Response>(&page)) {
        return std::move(*r);
    }
    // Newest first: the cursor is the last (oldest) version shown, the next page is below it.
    return paged_items<engine::DefinitionsVersion>(
        std::get<IdPage>(page),
        [&](std::int64_t before, std::size_t n) {
            return call.host.store().definitions_versions_page(before, n);
        },
        [](const engine::DefinitionsVersion& v) { return v.version; },
        [](const engine::DefinitionsVersion& v) -> std::optional<json::value> {
            json::object o;
            o["version"] = v.version;
            o["published_at"] = engine::format_datetime(v.published_at);
            o["published_by"] = v.published_by;
            o["summary"] = v.summary;
            return json::value(std::move(o));
        });
}

/// `{"files": {NAME: SOURCE}}`, strictly.
Decoded<Files> parse_files(const Request& request) {
    auto parsed = parse_json_object_body(request);
    if (auto* r = std::get_if<Response>(&parsed)) {
        return std::move(*r);
    }
    std::vector<FieldError> errors;
    StrictObject top(std::get<json::object>(parsed), "", errors);
    const json::object* files = top.object("files", true);
    top.finish();
    Files out;
    if (files != nullptr) {
        if (files->empty()) {
            errors.push_back({"files", "must name at least one file"});
        }
        for (const auto& member : *files) {
            const std::string field = fmt::format("files.{}", std::string_view(member.key()));
            if (!member.value().is_string()) {
                errors.push_back({field, fmt::format("must be a string, not {}",
                                                     json_type_name(member.value()))});
            } else if (member.key().empty()) {
                errors.push_back({field, "a file name must not be empty"});
            } else {
                out.emplace_back(std::string(member.key()),
                                 std::string(member.value().get_string()));
            }
        }
    }
    if (!errors.empty()) {
        return unprocessable("the request body is not {\"files\": {NAME: SOURCE, …}}", errors);
    }
    return out;
}

/// Publishes `files` and answers as the contract says. `base_version` (without `If-Match`): the
/// version the files were merged into, so a publish by another node meanwhile is a conflict.
Response publish(const Call& call, const Request& request, Context& context, Files files,
                 std::int64_t base_version = -1) {
    auto if_match = parse_if_match(request);
    if (auto* r = std::get_if<Response>(&if_match)) {
        return std::move(*r);
    }
    const IfMatch& im = std::get<IfMatch>(if_match);
    engine::PublishRequest pr;
    pr.files = std::move(files);
    pr.user = context.user;
    pr.expected_version =
        im.kind == IfMatch::Kind::Versions ? im.expected_version() : base_version;
    engine::PublishReport report;
    auto out = call.host.publish(pr, report);
    if (!out) {
        if (out.error().code == engine::ErrorCode::Invalid && report.set && !report.set->ok()) {
            Response r =
                problem(422, "definitions-invalid", "Definitions invalid", out.error().detail);
            json::object o = json::parse(r.body).as_object();
            json::object check = check_result_to_json(*report.set);
            o["diagnostics"] = check["diagnostics"];
            r.body = to_string(o);
            return r;
        }
        if (out.error().code == engine::ErrorCode::Invalid && !report.stranded.empty()) {
            Response r = problem(422, "records-stranded", "Records stranded", out.error().detail);
            json::object o = json::parse(r.body).as_object();
            json::array stranded;
            for (const engine::StrandedRecords& s : report.stranded) {
                for (engine::RecordId id : s.records) {
                    json::object item;
                    item["id"] = std::to_string(id);
                    item["reason"] = s.reason;
                    engine::Record rec;
                    if (call.host.store().read_record(id, rec) &&
                        rec.module < call.defs->modules.size()) {
                        item["module"] = call.defs->modules[rec.module].name;
                        if (const auto* bp = call.defs->blueprint_of(rec.module)) {
                            const std::int32_t st = rec.fields[bp->field].aux;
                            if (st >= 0 && static_cast<std::size_t>(st) < bp->states.size()) {
                                item["state"] = bp->states[static_cast<std::size_t>(st)];
                            }
                        }
                    }
                    stranded.push_back(std::move(item));
                }
            }
            o["stranded"] = std::move(stranded);
            r.body = to_string(o);
            return r;
        }
        return problem_from_engine(out.error());
    }
    json::object body;
    body["version"] = out->version;
    Response r = json_response(body);
    r.set_header("ETag", etag(out->version));
    return r;
}

Response put_definitions(const Call& call, const Request& request, Context& context) {
    if (!context.org_admin) {
        return forbidden("only an org admin may publish the whole definition set");
    }
    return idempotent(call, request, context, [&]() -> Response {
        auto files = parse_files(request);
        if (auto* r = std::get_if<Response>(&files)) {
            return std::move(*r);
        }
        return publish(call, request, context, std::get<Files>(std::move(files)));
    });
}

/// Every declaration of `file` in `set` belongs to `team`: its own `teamspace` block (members,
/// admins, shown org modules, team modules with their request rules and routing), blueprints on
/// its team modules whose actions stay inside the teamspace (no `request` into, nor `create` in,
/// a module that is not the teamspace's), and tests. The first declaration that does not, as
/// "line N: what" (empty when every one does).
std::string outside_team(const dsl::DefinitionSet& set, dsl::FileId file, const std::string& team) {
    const dsl::Ast& ast = set.ast;
    const dsl::SourceFile& source = set.sources.files()[file];
    const auto at = [&](const dsl::SourceRange& range, const std::string& what) {
        return fmt::format("line {}: {}", source.line_column(range.begin).line, what);
    };
    std::set<std::string> team_modules;
    for (const dsl::Module& m : ast.modules) {
        if (m.teamspace == team) {
            team_modules.insert(m.name.text);
        }
    }
    for (const dsl::Role& r : ast.roles) {
        if (r.name.range.file == file) {
            return at(r.name.range, "role " + r.name.text);
        }
    }
    for (const dsl::User& u : ast.users) {
        if (u.range.file == file) {
            return at(u.range, "user " + u.id.text);
        }
    }
    for (const dsl::Module& m : ast.modules) {
        if (m.range.file == file && m.teamspace != team) {
            return at(m.range, m.teamspace.empty()
                                   ? "org module " + m.name.text
                                   : "module " + m.name.text + " of teamspace " + m.teamspace);
        }
    }
    for (const dsl::Teamspace& t : ast.teamspaces) {
        if (t.range.file == file && t.name.text != team) {
            return at(t.range, "teamspace " + t.name.text);
        }
    }
    // What an action reaches beyond the record it runs on.
    const auto action_outside = [&](const std::vector<dsl::Action>& actions,
                                    const std::string& where) -> std::string {
        for (const dsl::Action& a : actions) {
            if (a.kind == dsl::ActionKind::Request &&
                (a.team.text != team || team_modules.count(a.module.text) == 0)) {
                return at(a.range, fmt::format("{}: request into {}.{}", where, a.team.text,
                                               a.module.text));
            }
            if (a.kind == dsl::ActionKind::Create && team_modules.count(a.module.text) == 0) {
                return at(a.range, fmt::format("{}: create {}", where, a.module.text));
            }
        }
        return "";
    };
    for (const dsl::Blueprint& b : ast.blueprints) {
        if (b.range.file != file) {
            continue;
        }
        if (team_modules.count(b.module.text) == 0) {
            return at(b.range, fmt::format("blueprint {} on {}", b.name.text, b.module.text));
        }
        const std::string where = "blueprint " + b.name.text;
        for (const dsl::Transition& t : b.transitions) {
            if (auto bad = action_outside(t.actions, where); !bad.empty()) {
                return bad;
            }
        }
        for (const dsl::Parallel& p : b.parallels) {
            if (auto bad = action_outside(p.actions, where); !bad.empty()) {
                return bad;
            }
            for (const dsl::Transition& t : p.transitions) {
                if (auto bad = action_outside(t.actions, where); !bad.empty()) {
                    return bad;
                }
            }
        }
        for (const dsl::Sla& sla : b.slas) {
            if (auto bad = action_outside(sla.actions, where); !bad.empty()) {
                return bad;
            }
        }
    }
    return "";
}

/// 403 naming the file and the declaration that is not the teamspace's.
Response outside_team_problem(const std::string& file, const std::string& what,
                              const std::string& team, bool replaced) {
    return problem(403, "forbidden", "Forbidden",
                   fmt::format("{}{} declares {}, which is not {}'s: only an org admin may "
                               "publish it",
                               file, replaced ? " (as published now)" : "", what, team),
                   {{fmt::format("files.{}", file),
                     fmt::format("{}{}: not {}'s", replaced ? "as published now, " : "", what,
                                 team)}});
}

/// The file id of a path in a set, or nullopt.
std::optional<dsl::FileId> file_id(const dsl::DefinitionSet& set, const std::string& name) {
    const auto& files = set.sources.files();
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (files[i].path() == name) {
            return static_cast<dsl::FileId>(i);
        }
    }
    return std::nullopt;
}

Response put_team_definitions(const Call& call, const Request& request, Context& context) {
    const std::string team(request.param("team"));
    const std::uint32_t t = call.defs->find_teamspace(team);
    if (t == engine::npos32) {
        return not_found(fmt::format("no teamspace \"{}\"", team));
    }
    if (call.user == engine::no_user || !call.defs->is_team_admin(call.user, t)) {
        return forbidden(fmt::format("only an admin of {} may publish its definitions", team));
    }
    return idempotent(call, request, context, [&]() -> Response {
        auto parsed = parse_files(request);
        if (auto* r = std::get_if<Response>(&parsed)) {
            return std::move(*r);
        }
        const Files submitted = std::get<Files>(std::move(parsed));
        auto latest = call.host.store().latest_definitions();
        if (!latest) {
            return service_unavailable("the definitions cannot be read from the store", 1);
        }
        // The files replaced must have declared only this teamspace's things too.
        const auto current = call.host.published_set();
        Files merged = latest->files;
        for (const auto& [name, text] : submitted) {
            auto it = std::find_if(merged.begin(), merged.end(),
                                   [&](const auto& f) { return f.first == name; });
            if (it != merged.end()) {
                if (current) {
                    if (auto id = file_id(*current, name)) {
                        const std::string bad = outside_team(*current, *id, team);
                        if (!bad.empty()) {
                            return outside_team_problem(name, bad, team, true);
                        }
                    }
                }
                it->second = text;
            } else {
                merged.emplace_back(name, text);
            }
        }
        std::shared_ptr<const dsl::DefinitionSet> set = dsl::compile_sources(merged);
        for (const auto& [name, text] : submitted) {
            if (auto id = file_id(*set, name)) {
                const std::string bad = outside_team(*set, *id, team);
                if (!bad.empty()) {
                    return outside_team_problem(name, bad, team, false);
                }
            }
        }
        return publish(call, request, context, std::move(merged), latest->version);
    });
}

} // namespace

void register_definition_version_routes(Service& service, const std::shared_ptr<EngineHost>& host) {
    Router& r = service.router();
    r.add("GET", "/v1/definitions", with_engine(host, get_definitions));
    r.add("GET", "/v1/definitions/versions", with_engine(host, get_versions));
    r.add("PUT", "/v1/definitions", with_engine(host, put_definitions));
    r.add("PUT", "/v1/teamspaces/{team}/definitions", with_engine(host, put_team_definitions));
}

} // namespace teamflow::server::detail
