// Blueprints as JSON, their diagrams, and diagrams of unpublished sources.

#include "teamflow/server/diagram_routes.hpp"

#include "teamflow/dsl/diagnostics.hpp"
#include "teamflow/dsl/parser.hpp"
#include "teamflow/server/json.hpp"
#include "teamflow/server/log.hpp"
#include "teamflow/server/problem.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace teamflow::server {

namespace json = boost::json;

namespace {

// ---------------------------------------------------------------------------------------------
// Blueprints as JSON
// ---------------------------------------------------------------------------------------------

const dsl::Module* find_module(const dsl::Ast& ast, const std::string& name) {
    for (const dsl::Module& m : ast.modules) {
        if (m.name.text == name) {
            return &m;
        }
    }
    return nullptr;
}

const dsl::Blueprint* find_blueprint(const dsl::Ast& ast, std::string_view name) {
    for (const dsl::Blueprint& b : ast.blueprints) {
        if (b.name.text == name) {
            return &b;
        }
    }
    return nullptr;
}

const dsl::Field* state_field(const dsl::Blueprint& bp, const dsl::Module* module) {
    if (module == nullptr) {
        return nullptr;
    }
    for (const dsl::Field& f : module->fields) {
        if (f.name.text == bp.field.text) {
            return &f;
        }
    }
    return nullptr;
}

/// The states in declaration order: the picklist values, then any state named only by transitions.
std::vector<std::string> states_of(const dsl::Blueprint& bp, const dsl::Module* module) {
    std::vector<std::string> out;
    auto add = [&out](const std::string& s) {
        if (std::find(out.begin(), out.end(), s) == out.end()) {
            out.push_back(s);
        }
    };
    if (const dsl::Field* f = state_field(bp, module)) {
        for (const dsl::StringLit& v : f->type.values) {
            add(v.value);
        }
    }
    for (const dsl::Transition& t : bp.transitions) {
        for (const dsl::Name& s : t.from.states) {
            add(s.text);
        }
        for (const dsl::Target& target : t.targets) {
            add(target.state.text);
        }
    }
    for (const dsl::Parallel& p : bp.parallels) {
        for (const dsl::Name& s : p.from.states) {
            add(s.text);
        }
        add(p.to.text);
    }
    return out;
}

std::string initial_state(const dsl::Blueprint& bp, const dsl::Module* module,
                          const std::vector<std::string>& states) {
    if (const dsl::Field* f = state_field(bp, module)) {
        const dsl::Expr* d = f->default_value.get();
        if (d != nullptr && d->kind == dsl::ExprKind::String &&
            std::find(states.begin(), states.end(), d->text) != states.end()) {
            return d->text;
        }
    }
    return states.empty() ? std::string() : states.front();
}

std::string duration_text(std::int64_t seconds) {
    struct Unit {
        std::int64_t seconds;
        char suffix;
    };
    static constexpr Unit units[] = {{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}};
    for (const Unit& u : units) {
        if (seconds != 0 && seconds % u.seconds == 0) {
            return fmt::format("{}{}", seconds / u.seconds, u.suffix);
        }
    }
    return fmt::format("{}s", seconds);
}

json::object duration_json(std::int64_t seconds) {
    return json::object{{"seconds", seconds}, {"text", duration_text(seconds)}};
}

std::string owner_text(const dsl::Owner& o) {
    switch (o.kind) {
    case dsl::OwnerKind::Owner:
        return "owner";
    case dsl::OwnerKind::Assignee:
        return "assignee";
    case dsl::OwnerKind::Requester:
        return "requester";
    case dsl::OwnerKind::User:
        return "user " + o.name.text;
    case dsl::OwnerKind::Role:
        return "role " + o.name.text;
    case dsl::OwnerKind::Team:
        return "team " + o.name.text;
    case dsl::OwnerKind::Anyone:
        return "anyone";
    }
    return "owner";
}

std::string message_text(const std::vector<dsl::MessagePart>& parts) {
    std::string out;
    for (const dsl::MessagePart& p : parts) {
        out += p.expr ? "{" + dsl::print_expr(*p.expr) + "}" : p.text;
    }
    return out;
}

/// Several `when` lines are and-ed.
json::value criteria_json(const std::vector<dsl::ExprPtr>& when) {
    if (when.empty()) {
        return nullptr;
    }
    if (when.size() == 1) {
        return json::string(dsl::print_expr(*when.front()));
    }
    std::string out;
    for (const dsl::ExprPtr& e : when) {
        out += (out.empty() ? "(" : " and (") + dsl::print_expr(*e) + ")";
    }
    return json::string(out);
}

json::object assignments_json(const std::vector<dsl::Assignment>& assignments) {
    json::object o;
    for (const dsl::Assignment& a : assignments) {
        o[a.field.text] = a.value ? dsl::print_expr(*a.value) : std::string();
    }
    return o;
}

json::object action_json(const dsl::Action& a) {
    json::object o;
    switch (a.kind) {
    case dsl::ActionKind::Set: {
        const std::string value = a.value ? dsl::print_expr(*a.value) : std::string();
        o["kind"] = "set";
        o["field"] = a.field.text;
        o["value"] = value;
        o["text"] = fmt::format("set {} = {}", a.field.text, value);
        break;
    }
    case dsl::ActionKind::Notify: {
        const std::string message = message_text(a.message.parts);
        o["kind"] = "notify";
        o["recipient"] = owner_text(a.recipient);
        o["message"] = message;
        o["text"] = fmt::format("notify {} \"{}\"", owner_text(a.recipient), message);
        break;
    }
    case dsl::ActionKind::Webhook:
        o["kind"] = "webhook";
        o["url"] = a.url.value;
        o["text"] = fmt::format("webhook \"{}\"", a.url.value);
        break;
    case dsl::ActionKind::Request:
        o["kind"] = "request";
        o["team"] = a.team.text;
        o["module"] = a.module.text;
        o["fields"] = assignments_json(a.assignments);
        o["text"] = fmt::format("request {}.{}", a.team.text, a.module.text);
        break;
    case dsl::ActionKind::Create:
        o["kind"] = "create";
        o["module"] = a.module.text;
        if (a.as) {
            o["as"] = a.as->text;
        }
        o["fields"] = assignments_json(a.assignments);
        o["text"] = a.as ? fmt::format("create {} as {}", a.module.text, a.as->text)
                         : fmt::format("create {}", a.module.text);
        break;
    }
    return o;
}

json::array actions_json(const std::vector<dsl::Action>& actions) {
    json::array out;
    for (const dsl::Action& a : actions) {
        out.push_back(action_json(a));
    }
    return out;
}

json::array strings_json(const std::vector<std::string>& items) {
    json::array out;
    for (const std::string& s : items) {
        out.push_back(json::string(s));
    }
    return out;
}

/// The states a `from` names; `from any` is every state but the transition's only target.
std::vector<std::string> from_states(const dsl::FromSpec& from,
                                     const std::vector<std::string>& states,
                                     const std::vector<std::string>& targets) {
    std::vector<std::string> out;
    if (from.any) {
        for (const std::string& s : states) {
            if (targets.size() != 1 || s != targets.front()) {
                out.push_back(s);
            }
        }
        return out;
    }
    for (const dsl::Name& n : from.states) {
        out.push_back(n.text);
    }
    return out;
}

json::object transition_json(const dsl::Transition& t, const dsl::FromSpec& from,
                             const std::vector<std::string>& states,
                             const dsl::Parallel* parallel) {
    std::vector<std::string> to;
    json::array targets;
    if (parallel != nullptr) {
        to.push_back(parallel->to.text);
    }
    for (const dsl::Target& target : t.targets) {
        to.push_back(target.state.text);
        json::object o{{"state", target.state.text}};
        o["when"] = target.when ? json::value(json::string(dsl::print_expr(*target.when)))
                                : json::value(nullptr);
        o["otherwise"] = target.otherwise;
        targets.push_back(std::move(o));
    }
    json::object o;
    o["name"] = t.name.text;
    o["kind"] = t.after ? "automatic" : "manual";
    o["from"] = strings_json(from_states(from, states, to));
    o["from_any"] = from.any;
    o["to"] = strings_json(to);
    if (t.targets.size() > 1 || (t.targets.size() == 1 && t.targets.front().when)) {
        o["targets"] = std::move(targets);
    }
    json::array owners;
    if (t.owners.empty()) {
        owners.push_back(t.after ? "system" : "owner");
    }
    for (const dsl::Owner& owner : t.owners) {
        owners.push_back(json::string(owner_text(owner)));
    }
    o["owners"] = std::move(owners);
    o["criteria"] = criteria_json(t.when);
    json::array require;
    for (const dsl::Name& n : t.require) {
        require.push_back(json::string(n.text));
    }
    o["require"] = std::move(require);
    json::array validations;
    for (const dsl::Validation& v : t.validations) {
        validations.push_back(
            json::object{{"condition", v.condition ? dsl::print_expr(*v.condition) : std::string()},
                         {"message", message_text(v.message.parts)}});
    }
    o["validations"] = std::move(validations);
    json::array checklist;
    for (const dsl::StringLit& item : t.checklist) {
        checklist.push_back(json::string(item.value));
    }
    o["checklist"] = std::move(checklist);
    o["note_required"] = t.note_required;
    o["actions"] = actions_json(t.actions);
    json::array timers;
    if (t.after) {
        json::object timer = duration_json(t.after->seconds);
        timer["kind"] = "after";
        timers.push_back(std::move(timer));
    }
    o["timers"] = std::move(timers);
    o["parallel"] =
        parallel != nullptr ? json::value(json::string(parallel->name.text)) : json::value(nullptr);
    return o;
}

std::size_t transition_count(const dsl::Blueprint& bp) {
    std::size_t n = bp.transitions.size();
    for (const dsl::Parallel& p : bp.parallels) {
        n += p.transitions.size();
    }
    return n;
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// `?format=` (svg when absent); a 400 when it is something else.
Decoded<engine::DiagramFormat> parse_format(const Request& request) {
    const auto given = request.query_param("format");
    if (!given) {
        return engine::DiagramFormat::Svg;
    }
    if (auto f = engine::parse_diagram_format(*given)) {
        return *f;
    }
    return bad_request(fmt::format("format {} is not svg, png or dot", dsl::quote(*given)),
                       {{"format", "must be svg, png or dot"}});
}

/// The files of a `{"files": {NAME: SOURCE}}` body, or the problem to answer.
Decoded<std::vector<std::pair<std::string, std::string>>> parse_files_body(const Request& request) {
    auto parsed = parse_json_object_body(request);
    if (auto* problem_response = std::get_if<Response>(&parsed)) {
        return std::move(*problem_response);
    }
    std::vector<FieldError> errors;
    StrictObject top(std::get<json::object>(parsed), "", errors);
    const json::object* files = top.object("files", true);
    top.finish();
    std::vector<std::pair<std::string, std::string>> sources;
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
                sources.emplace_back(std::string(member.key()),
                                     std::string(member.value().get_string()));
            }
        }
    }
    if (!errors.empty()) {
        return unprocessable("the request body is not {\"files\": {NAME: SOURCE, …}}", errors);
    }
    return sources;
}

/// Whether the caller may see a blueprint: one on an org module, everyone; one on a team module,
/// that teamspace's members and admins, and org admins (anyone else gets 404, as for records).
bool blueprint_visible(const dsl::Ast& ast, const dsl::Blueprint& bp, const Context* context) {
    if (context == nullptr || context->org_admin) {
        return true;
    }
    const dsl::Module* module = find_module(ast, bp.module.text);
    if (module == nullptr || module->teamspace.empty()) {
        return true;
    }
    const auto named = [&](const std::vector<dsl::Name>& names) {
        return std::any_of(names.begin(), names.end(),
                           [&](const dsl::Name& n) { return n.text == context->user; });
    };
    for (const dsl::Teamspace& t : ast.teamspaces) {
        if (t.name.text == module->teamspace && (named(t.members) || named(t.admins))) {
            return true;
        }
    }
    return false;
}

/// "no blueprint X", with the closest name the caller may see (every name without a context).
std::string unknown_blueprint_message(const dsl::Ast& ast, std::string_view name,
                                      const Context* context = nullptr) {
    std::vector<std::string_view> names;
    for (const dsl::Blueprint& b : ast.blueprints) {
        if (blueprint_visible(ast, b, context)) {
            names.emplace_back(b.name.text);
        }
    }
    const std::string near = dsl::closest_name(name, names);
    return fmt::format("no blueprint {}{}", dsl::quote(name),
                       near.empty() ? std::string() : "; did you mean " + dsl::quote(near) + "?");
}

Response too_big(std::size_t elements) {
    return problem(
        422, "diagram-too-big", "The diagram is too big to draw",
        fmt::format("the diagram is too big to draw: {} nodes and edges, the limit is {}; "
                    "ask for format=dot to get the graph as text",
                    elements, engine::max_diagram_elements));
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Public helpers
// ---------------------------------------------------------------------------------------------

std::string_view diagram_content_type(engine::DiagramFormat format) {
    switch (format) {
    case engine::DiagramFormat::Svg:
        return "image/svg+xml";
    case engine::DiagramFormat::Png:
        return "image/png";
    case engine::DiagramFormat::Dot:
        return "text/vnd.graphviz; charset=utf-8";
    }
    return "application/octet-stream";
}

json::object blueprint_summary_to_json(const dsl::Blueprint& bp, const dsl::Module* module) {
    json::object o;
    o["name"] = bp.name.text;
    o["module"] = bp.module.text;
    o["field"] = bp.field.text;
    o["states"] = strings_json(states_of(bp, module));
    o["transitions"] = static_cast<std::int64_t>(transition_count(bp));
    return o;
}

json::object blueprint_to_json(const dsl::Blueprint& bp, const dsl::Module* module) {
    const std::vector<std::string> states = states_of(bp, module);
    const std::string initial = initial_state(bp, module, states);

    std::set<std::string> exits;
    std::map<std::string, json::array> slas;
    json::array transitions;
    auto note_exits = [&](const std::vector<std::string>& from) {
        exits.insert(from.begin(), from.end());
    };
    for (const dsl::Transition& t : bp.transitions) {
        json::object o = transition_json(t, t.from, states, nullptr);
        std::vector<std::string> from;
        for (const json::value& v : o["from"].as_array()) {
            from.emplace_back(v.as_string());
        }
        note_exits(from);
        transitions.push_back(std::move(o));
    }
    json::array parallels;
    for (const dsl::Parallel& p : bp.parallels) {
        json::array names;
        for (const dsl::Transition& t : p.transitions) {
            transitions.push_back(transition_json(t, p.from, states, &p));
            names.push_back(json::string(t.name.text));
        }
        const std::vector<std::string> from = from_states(p.from, states, {p.to.text});
        note_exits(from);
        parallels.push_back(json::object{{"name", p.name.text},
                                         {"from", strings_json(from)},
                                         {"from_any", p.from.any},
                                         {"to", p.to.text},
                                         {"transitions", std::move(names)},
                                         {"actions", actions_json(p.actions)}});
    }
    for (const dsl::Sla& sla : bp.slas) {
        json::object o = duration_json(sla.within.seconds);
        o["criteria"] = criteria_json(sla.when);
        o["actions"] = actions_json(sla.actions);
        slas[sla.state.text].push_back(std::move(o));
    }

    json::array state_items;
    for (const std::string& s : states) {
        json::object o{{"name", s}, {"initial", s == initial}, {"final", exits.count(s) == 0}};
        auto it = slas.find(s);
        o["slas"] = it != slas.end() ? std::move(it->second) : json::array();
        state_items.push_back(std::move(o));
    }

    json::object o;
    o["name"] = bp.name.text;
    o["module"] = bp.module.text;
    o["field"] = bp.field.text;
    o["criteria"] =
        bp.when ? json::value(json::string(dsl::print_expr(*bp.when))) : json::value(nullptr);
    o["initial"] = initial;
    o["states"] = std::move(state_items);
    o["transitions"] = std::move(transitions);
    o["parallels"] = std::move(parallels);
    json::array migrations;
    for (const dsl::Migrate& m : bp.migrations) {
        migrations.push_back(json::object{{"from", m.from.text}, {"to", m.to.text}});
    }
    o["migrations"] = std::move(migrations);
    return o;
}

// ---------------------------------------------------------------------------------------------
// RenderQueue
// ---------------------------------------------------------------------------------------------

RenderQueue::RenderQueue(std::size_t max_pending)
    : max_pending_(std::max<std::size_t>(max_pending, 1)), thread_([this] { run(); }) {}

RenderQueue::~RenderQueue() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

std::optional<std::future<engine::DiagramResult>>
RenderQueue::submit(std::function<engine::DiagramResult()> job) {
    std::packaged_task<engine::DiagramResult()> task(std::move(job));
    std::future<engine::DiagramResult> future = task.get_future();
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || busy_ >= max_pending_) {
            return std::nullopt;
        }
        ++busy_;
        jobs_.push_back(std::move(task));
    }
    wake_.notify_one();
    return future;
}

void RenderQueue::run() {
    while (true) {
        std::packaged_task<engine::DiagramResult()> task;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (stopping_) {
                jobs_.clear(); // their futures report broken_promise
                return;
            }
            task = std::move(jobs_.front());
            jobs_.pop_front();
        }
        task();
        std::lock_guard lock(mutex_);
        --busy_;
    }
}

// ---------------------------------------------------------------------------------------------
// DiagramService
// ---------------------------------------------------------------------------------------------

DiagramService::DiagramService(DiagramOptions options)
    : options_(options), queue_(options.max_pending) {}

Response DiagramService::render(std::shared_ptr<const dsl::DefinitionSet> set,
                                const std::string& name, engine::DiagramFormat format,
                                const std::string& cache_key, int missing_status) {
    auto image = [format](const std::string& data) {
        Response r;
        r.content_type = std::string(diagram_content_type(format));
        r.body = data;
        r.set_header("X-Content-Type-Options", "nosniff");
        if (format == engine::DiagramFormat::Svg) {
            // Opened on its own, the drawing may not run anything.
            r.set_header("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'");
        }
        return r;
    };

    const dsl::Blueprint* bp = set ? find_blueprint(set->ast, name) : nullptr;
    if (bp == nullptr) {
        const std::string message =
            set ? unknown_blueprint_message(set->ast, name)
                : fmt::format("no blueprint {}: nothing is published", dsl::quote(name));
        if (missing_status == 404) {
            return not_found(message);
        }
        return unprocessable(message, {{"blueprint", message}});
    }
    if (!cache_key.empty()) {
        std::lock_guard lock(cache_mutex_);
        auto it = cache_.find(cache_key);
        if (it != cache_.end() && it->second.set == set.get()) {
            return image(*it->second.data);
        }
    }
    const dsl::Module* module = find_module(set->ast, bp->module.text);
    if (module == nullptr) {
        return unprocessable(fmt::format("blueprint {} is on an unknown module {}",
                                         dsl::quote(name), dsl::quote(bp->module.text)),
                             {});
    }

    // DOT text is cheap; the size check happens before anything reaches Graphviz.
    engine::DotGraph dot = engine::blueprint_to_dot(*bp, *module);
    engine::DiagramResult result;
    if (format == engine::DiagramFormat::Dot) {
        result = {true, std::move(dot.text), {}};
    } else {
        const std::size_t elements = dot.nodes + dot.edges;
        if (elements > engine::max_diagram_elements) {
            return too_big(elements);
        }
        auto future = queue_.submit(
            [text = std::move(dot.text), format] { return engine::layout_dot(text, format); });
        if (!future) {
            return service_unavailable(
                "the diagram renderer is busy with other diagrams; try again in a moment", 2);
        }
        if (future->wait_for(options_.deadline) != std::future_status::ready) {
            log_event(LogLevel::Warn, "diagram render over the deadline",
                      {{"blueprint", name}, {"elements", elements}});
            return service_unavailable(
                fmt::format("the diagram is too big to draw in time ({} nodes and edges, over "
                            "{} ms); ask for format=dot to get the graph as text",
                            elements, options_.deadline.count()),
                5);
        }
        try {
            result = future->get();
        } catch (const std::future_error&) {
            return service_unavailable("the diagram renderer is stopping", 1);
        }
    }
    if (!result.ok) {
        return problem(422, "diagram-failed", "The diagram could not be drawn",
                       fmt::format("the diagram could not be drawn: {}", result.error));
    }
    if (!cache_key.empty()) {
        std::lock_guard lock(cache_mutex_);
        if (cache_.size() >= options_.cache_entries) {
            cache_.clear();
        }
        cache_[cache_key] = Cached{set.get(), std::make_shared<const std::string>(result.data)};
    }
    return image(result.data);
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

void register_diagram_routes(Service& service, const RouteDeps& deps, DiagramOptions options) {
    Router& router = service.router();
    auto diagrams = std::make_shared<DiagramService>(options);
    auto published = [deps]() -> std::shared_ptr<const dsl::DefinitionSet> {
        return deps.published_set ? deps.published_set() : nullptr;
    };

    router.add("GET", "/v1/blueprints", [published](const Request& request, Context& context) {
        auto page = parse_page_request(request);
        if (auto* bad = std::get_if<Response>(&page)) {
            return std::move(*bad);
        }
        const PageRequest& p = std::get<PageRequest>(page);
        // By name (bytes), the cursor being the last name shown; only what the caller may see.
        std::vector<const dsl::Blueprint*> visible;
        auto set = published();
        if (set) {
            for (const dsl::Blueprint& bp : set->ast.blueprints) {
                if ((p.after.empty() || bp.name.text > p.after) &&
                    blueprint_visible(set->ast, bp, &context)) {
                    visible.push_back(&bp);
                }
            }
        }
        std::sort(visible.begin(), visible.end(),
                  [](const dsl::Blueprint* a, const dsl::Blueprint* b) {
                      return a->name.text < b->name.text;
                  });
        json::array items;
        for (std::size_t k = 0; k < visible.size() && k < p.limit; ++k) {
            items.push_back(
                blueprint_summary_to_json(*visible[k], find_module(set->ast, visible[k]->module.text)));
        }
        json::value next = nullptr;
        if (visible.size() > p.limit) {
            next = json::string(encode_cursor(visible[p.limit - 1]->name.text));
        }
        return json_response(json::object{{"items", std::move(items)}, {"next", std::move(next)}});
    });

    router.add("GET", "/v1/blueprints/{name}", [published](const Request& request,
                                                          Context& context) {
        const std::string name(request.param("name"));
        auto set = published();
        const dsl::Blueprint* bp = set ? find_blueprint(set->ast, name) : nullptr;
        if (bp != nullptr && !blueprint_visible(set->ast, *bp, &context)) {
            bp = nullptr;
        }
        if (bp == nullptr) {
            return not_found(
                set ? unknown_blueprint_message(set->ast, name, &context)
                    : fmt::format("no blueprint {}: nothing is published", dsl::quote(name)));
        }
        return json_response(blueprint_to_json(*bp, find_module(set->ast, bp->module.text)));
    });

    router.add("GET", "/v1/blueprints/{name}/diagram",
               [published, diagrams, deps](const Request& request, Context& context) {
                   auto format = parse_format(request);
                   if (auto* bad = std::get_if<Response>(&format)) {
                       return std::move(*bad);
                   }
                   const engine::DiagramFormat f = std::get<engine::DiagramFormat>(format);
                   auto set = published();
                   if (set != nullptr) {
                       const dsl::Blueprint* bp = find_blueprint(set->ast, request.param("name"));
                       if (bp != nullptr && !blueprint_visible(set->ast, *bp, &context)) {
                           return not_found(unknown_blueprint_message(
                               set->ast, request.param("name"), &context));
                       }
                   }
                   const std::int64_t version =
                       deps.definitions_version ? deps.definitions_version() : 0;
                   const std::string name(request.param("name"));
                   const std::string key =
                       fmt::format("{}\n{}\n{}", version, engine::diagram_extension(f), name);
                   Response r = diagrams->render(set, name, f, key, 404);
                   if (r.status == 200) {
                       r.set_header("ETag", etag(version));
                       r.set_header("Cache-Control", "no-cache");
                   }
                   return r;
               });

    router.add("POST", "/v1/diagram", [diagrams](const Request& request, Context&) {
        const auto blueprint = request.query_param("blueprint");
        if (!blueprint || blueprint->empty()) {
            return bad_request("the query needs blueprint=NAME",
                               {{"blueprint", "required: the blueprint to draw"}});
        }
        auto format = parse_format(request);
        if (auto* bad = std::get_if<Response>(&format)) {
            return std::move(*bad);
        }
        auto files = parse_files_body(request);
        if (auto* bad = std::get_if<Response>(&files)) {
            return std::move(*bad);
        }
        std::shared_ptr<const dsl::DefinitionSet> set = dsl::compile_sources(
            std::move(std::get<std::vector<std::pair<std::string, std::string>>>(files)));
        if (!set->ok()) {
            const std::size_t n = set->diagnostics.error_count();
            Response r = problem(
                422, "definitions-invalid", "The definitions do not compile",
                fmt::format("the definitions do not compile ({} error{})", n, n == 1 ? "" : "s"));
            json::object body = json::parse(r.body).as_object();
            body["diagnostics"] = check_result_to_json(*set).at("diagnostics");
            r.body = to_string(body);
            return r;
        }
        return diagrams->render(set, std::string(*blueprint),
                                std::get<engine::DiagramFormat>(format), {}, 422);
    });
}

} // namespace teamflow::server
