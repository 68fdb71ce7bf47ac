// The checker's entry point, symbol tables and the checks of plain declarations (roles, users,
// modules and their fields, teamspaces, accepts and routing).

#include "checker_impl.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace teamflow::dsl {

const std::vector<BuiltinField>& builtin_fields() {
    static const std::vector<BuiltinField> fields{
        {"id", TypeKind::Record, false},          {"owner", TypeKind::User, true},
        {"created_by", TypeKind::User, false},    {"created_at", TypeKind::DateTime, false},
        {"updated_at", TypeKind::DateTime, false}, {"version", TypeKind::Number, false},
        {"requester", TypeKind::User, false},     {"assignee", TypeKind::User, false},
    };
    return fields;
}

void check(Ast& ast, const SourceManager& sources, DiagnosticSink& sink) {
    checker_detail::Checker checker(ast, sources, sink);
    checker.run();
}

namespace checker_detail {

namespace {

/// Picklists longer than this get a hash set of their values.
constexpr std::size_t kLinearValues = 12;

} // namespace

bool FieldInfo::has_value(std::string_view value) const {
    if (!value_set.empty()) {
        return value_set.count(value) != 0;
    }
    return std::find(values.begin(), values.end(), value) != values.end();
}

const FieldInfo* ModuleInfo::field(std::string_view field_name) const {
    const auto it = fields.find(field_name);
    return it == fields.end() ? nullptr : &it->second;
}

const BuiltinField* find_builtin(std::string_view name) {
    for (const BuiltinField& f : builtin_fields()) {
        if (name == f.name) {
            return &f;
        }
    }
    return nullptr;
}

bool builtin_writable(const BuiltinField& field) {
    const std::string_view n = field.name;
    return n == "owner" || n == "assignee" || n == "requester";
}

Type type_of_field(const Field& field) {
    Type t;
    t.from_field = true;
    t.field = field.type.kind;
    switch (field.type.kind) {
    case FieldKind::Text:
    case FieldKind::Email:
    case FieldKind::Phone:
    case FieldKind::Url:
    case FieldKind::Picklist:
        t.kind = TypeKind::Text;
        break;
    case FieldKind::Number:
    case FieldKind::Currency:
    case FieldKind::Percent:
        t.kind = TypeKind::Number;
        break;
    case FieldKind::Boolean:
        t.kind = TypeKind::Boolean;
        break;
    case FieldKind::Date:
        t.kind = TypeKind::Date;
        break;
    case FieldKind::DateTime:
        t.kind = TypeKind::DateTime;
        break;
    case FieldKind::Lookup:
        t.kind = TypeKind::Record;
        t.module = field.type.target.text;
        break;
    case FieldKind::User:
        t.kind = TypeKind::User;
        break;
    }
    return t;
}


std::string describe(const Type& type) { return type_name(type); }

std::string describe_field(const Field& field) {
    if (field.type.kind == FieldKind::Lookup) {
        return fmt::format("lookup {}", field.type.target.text);
    }
    return field_kind_name(field.type.kind);
}

Checker::Checker(Ast& ast, const SourceManager& sources, DiagnosticSink& sink)
    : ast_(ast), sources_(sources), sink_(sink) {}

void Checker::run() {
    collect();
    check_users();
    check_modules();
    check_teamspaces();
    check_blueprints();
    check_tests();
}

// ---------------------------------------------------------------------------------------------
// Reporting helpers
// ---------------------------------------------------------------------------------------------

void Checker::unknown(const char* code, SourceRange range, std::string message,
                      std::string_view name, const std::vector<std::string_view>& candidates) {
    if (partial_.count(name) != 0) {
        return;
    }
    const std::string near = closest_name(name, candidates);
    if (!near.empty()) {
        message += fmt::format("; did you mean {}?", quote(near));
    }
    sink_.error(code, range, std::move(message));
}

void Checker::duplicate(const char* what, std::string_view name, SourceRange second,
                        SourceRange first) {
    Diagnostic& d = sink_.error("duplicate-name", second,
                                fmt::format("{} {} is already declared", what, quote(name)));
    d.notes.push_back(DiagnosticNote{"previous declaration is here", first, true});
}

const ModuleInfo* Checker::find_module(std::string_view name) const {
    const auto it = modules_.find(name);
    return it == modules_.end() ? nullptr : it->second;
}

const TeamInfo* Checker::find_team(std::string_view name) const {
    const auto it = teams_.find(name);
    return it == teams_.end() ? nullptr : it->second;
}

bool Checker::check_user(const Name& name) {
    if (users_.count(name.text) != 0) {
        return true;
    }
    unknown("unknown-user", name.range, fmt::format("unknown user {}", quote(name.text)),
            name.text, keys_of(users_));
    return false;
}

bool Checker::check_role(const Name& name) {
    if (roles_.count(name.text) != 0) {
        return true;
    }
    unknown("unknown-role", name.range, fmt::format("unknown role {}", quote(name.text)),
            name.text, keys_of(roles_));
    return false;
}

const TeamInfo* Checker::check_team(const Name& name) {
    if (const TeamInfo* team = find_team(name.text)) {
        return team;
    }
    unknown("unknown-team", name.range, fmt::format("unknown team {}", quote(name.text)),
            name.text, keys_of(teams_));
    return nullptr;
}

const ModuleInfo* Checker::check_module_name(const Name& name) {
    if (const ModuleInfo* module = find_module(name.text)) {
        return module;
    }
    unknown("unknown-module", name.range, fmt::format("unknown module {}", quote(name.text)),
            name.text, keys_of(modules_));
    return nullptr;
}

bool Checker::resolve_field(const ModuleInfo& module, const Name& name, AssignTarget& out) {
    out = AssignTarget{};
    out.module = module.name();
    if ((out.field = module.field(name.text)) != nullptr) {
        return true;
    }
    if ((out.builtin = find_builtin(name.text)) != nullptr) {
        return true;
    }
    if (module.partial) {
        return false;
    }
    std::vector<std::string_view> candidates = keys_of(module.fields);
    for (const BuiltinField& b : builtin_fields()) {
        candidates.emplace_back(b.name);
    }
    unknown("unknown-field", name.range,
            fmt::format("unknown field {} in module {}", quote(name.text), module.name()),
            name.text, candidates);
    return false;
}

// ---------------------------------------------------------------------------------------------
// Symbol tables
// ---------------------------------------------------------------------------------------------

void Checker::collect() {
    for (const std::string& name : ast_.partial_declarations) {
        partial_.insert(name);
    }
    roles_.reserve(ast_.roles.size());
    for (const Role& role : ast_.roles) {
        const auto [it, inserted] = roles_.try_emplace(role.name.text, &role);
        if (!inserted) {
            duplicate("role", role.name.text, role.name.range, it->second->name.range);
        }
    }
    users_.reserve(ast_.users.size());
    for (const User& user : ast_.users) {
        const auto [it, inserted] = users_.try_emplace(user.id.text, &user);
        if (!inserted) {
            duplicate("user", user.id.text, user.id.range, it->second->id.range);
        }
        for (const Name& role : user.roles) {
            held_roles_.insert(role.text);
        }
    }
    team_infos_.resize(ast_.teamspaces.size());
    teams_.reserve(ast_.teamspaces.size());
    for (std::size_t i = 0; i < ast_.teamspaces.size(); ++i) {
        const Teamspace& ts = ast_.teamspaces[i];
        TeamInfo& info = team_infos_[i];
        info.decl = &ts;
        for (const Name& member : ts.members) {
            info.members.insert(member.text);
        }
        const auto [it, inserted] = teams_.try_emplace(ts.name.text, &info);
        if (!inserted) {
            duplicate("teamspace", ts.name.text, ts.name.range, it->second->decl->name.range);
        }
    }
    collect_modules();
    for (std::size_t i = 0; i < ast_.teamspaces.size(); ++i) {
        for (const Name& shown : ast_.teamspaces[i].shown_modules) {
            shown_by_[shown.text].push_back(&team_infos_[i]);
        }
    }
    collect_blueprints();
}

void Checker::collect_modules() {
    module_infos_.resize(ast_.modules.size());
    modules_.reserve(ast_.modules.size());
    for (TeamInfo& team : team_infos_) {
        for (const std::size_t index : team.decl->team_modules) {
            if (index < ast_.modules.size()) {
                ModuleInfo& info = module_infos_[index];
                info.team = &team;
                team.team_modules.try_emplace(ast_.modules[index].name.text, &info);
            }
        }
    }
    for (std::size_t i = 0; i < ast_.modules.size(); ++i) {
        Module& module = ast_.modules[i];
        ModuleInfo& info = module_infos_[i];
        info.decl = &module;
        info.partial = partial_.count(module.name.text) != 0;
        const auto [it, inserted] = modules_.try_emplace(module.name.text, &info);
        if (!inserted) {
            duplicate("module", module.name.text, module.name.range,
                      it->second->decl->name.range);
        }
        if (!module.teamspace.empty() && info.team == nullptr) {
            // Not listed by index in its teamspace: find the teamspace by name.
            const auto team = teams_.find(module.teamspace);
            if (team != teams_.end()) {
                info.team = team->second;
                team->second->team_modules.try_emplace(module.name.text, &info);
            }
        }
        info.fields.reserve(module.fields.size());
        for (const Field& field : module.fields) {
            const auto [fit, finserted] = info.fields.try_emplace(field.name.text);
            if (!finserted) {
                duplicate("field", field.name.text, field.name.range,
                          fit->second.decl->name.range);
                continue;
            }
            FieldInfo& fi = fit->second;
            fi.decl = &field;
            if (field.type.kind != FieldKind::Picklist) {
                continue;
            }
            fi.values.reserve(field.type.values.size());
            for (const StringLit& value : field.type.values) {
                if (fi.has_value(value.value)) {
                    const auto first = std::find_if(
                        field.type.values.begin(), field.type.values.end(),
                        [&](const StringLit& v) { return v.value == value.value; });
                    duplicate("picklist value", value.value, value.range, first->range);
                    continue;
                }
                fi.values.push_back(value.value);
                if (fi.values.size() > kLinearValues) {
                    if (fi.value_set.empty()) {
                        fi.value_set.insert(fi.values.begin(), fi.values.end());
                    } else {
                        fi.value_set.insert(value.value);
                    }
                }
            }
        }
        if (module.accepts) {
            for (const Name& team : module.accepts->teams) {
                info.accepts_teams.insert(team.text);
            }
            for (const Name& f : module.accepts->fields) {
                info.request_fields.insert(f.text);
            }
        }
    }
}

void Checker::collect_blueprints() {
    blueprint_infos_.resize(ast_.blueprints.size());
    NameMap<const Blueprint*> names;
    names.reserve(ast_.blueprints.size());
    std::unordered_map<const Field*, const Blueprint*> on_field;
    for (std::size_t i = 0; i < ast_.blueprints.size(); ++i) {
        Blueprint& bp = ast_.blueprints[i];
        BlueprintInfo& info = blueprint_infos_[i];
        info.decl = &bp;
        info.partial = partial_.count(bp.name.text) != 0;
        const auto [it, inserted] = names.try_emplace(bp.name.text, &bp);
        if (!inserted) {
            duplicate("blueprint", bp.name.text, bp.name.range, it->second->name.range);
        }
        const auto mod = modules_.find(bp.module.text);
        if (mod != modules_.end()) {
            info.module = mod->second;
            if (const FieldInfo* field = info.module->field(bp.field.text)) {
                if (field->decl->type.kind == FieldKind::Picklist) {
                    info.field = field;
                    const auto [fit, finserted] = on_field.try_emplace(field->decl, &bp);
                    if (finserted) {
                        info.governs = true;
                    } else {
                        Diagnostic& d = sink_.error(
                            "duplicate-name", bp.field.range,
                            fmt::format("field {} of module {} already has blueprint {}",
                                        quote(bp.field.text), bp.module.text,
                                        fit->second->name.text));
                        d.notes.push_back(DiagnosticNote{"previous blueprint on this field is here",
                                                         fit->second->field.range, true});
                    }
                }
            }
            info.module->blueprints.push_back(&info);
        }
        // The transition namespace: transitions, parallel groups and their sub-transitions.
        auto declare = [&](const Name& name, TransitionRef ref) {
            ref.range = name.range;
            const auto [tit, tinserted] = info.transitions.try_emplace(name.text, ref);
            if (!tinserted) {
                duplicate("transition", name.text, name.range, tit->second.range);
            }
        };
        info.transitions.reserve(bp.transitions.size() + bp.parallels.size() * 3);
        for (const Transition& t : bp.transitions) {
            declare(t.name, TransitionRef{&t, nullptr, {}});
        }
        for (const Parallel& p : bp.parallels) {
            declare(p.name, TransitionRef{nullptr, &p, {}});
            for (const Transition& t : p.transitions) {
                declare(t.name, TransitionRef{&t, &p, {}});
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Declarations
// ---------------------------------------------------------------------------------------------

void Checker::check_users() {
    for (const User& user : ast_.users) {
        for (const Name& role : user.roles) {
            check_role(role);
        }
    }
}

void Checker::check_modules() {
    for (ModuleInfo& module : module_infos_) {
        check_module(module);
    }
}

void Checker::check_module(ModuleInfo& module) {
    const Module& decl = *module.decl;
    const Scope scope{&module, false, nullptr};
    for (const Field& field : decl.fields) {
        if (field.type.kind == FieldKind::Lookup) {
            check_module_name(field.type.target);
        }
        if (!field.default_value) {
            continue;
        }
        // A duplicate field has no FieldInfo of its own: check its default against a temporary.
        const FieldInfo* info = module.field(field.name.text);
        FieldInfo local;
        if (info == nullptr || info->decl != &field) {
            local.decl = &field;
            for (const StringLit& v : field.type.values) {
                local.values.push_back(v.value);
            }
            info = &local;
        }
        AssignTarget target;
        target.field = info;
        target.module = module.name();
        check_assignment(target, field.name, *field.default_value, scope, true);
    }
    if (decl.accepts) {
        for (const Name& team : decl.accepts->teams) {
            check_team(team);
        }
        for (const Name& f : decl.accepts->fields) {
            if (module.field(f.text) == nullptr && !module.partial) {
                unknown("unknown-field", f.range,
                        fmt::format("unknown field {} in module {}", quote(f.text), module.name()),
                        f.text, keys_of(module.fields));
            }
        }
    }
    if (decl.route) {
        check_route(module);
    }
}

void Checker::check_route(ModuleInfo& module) {
    Route& route = module.decl->route.value();
    const Scope scope{&module, false, nullptr};
    const RouteRule* otherwise = nullptr;
    for (std::size_t i = 0; i < route.rules.size(); ++i) {
        RouteRule& rule = route.rules[i];
        if (rule.when) {
            check_condition(*rule.when, scope);
        } else if (otherwise != nullptr) {
            Diagnostic& d = sink_.error(
                "duplicate-otherwise", rule.range,
                fmt::format("routing of module {} has a second \"otherwise\" rule", module.name()));
            d.notes.push_back(DiagnosticNote{"first \"otherwise\" is here", otherwise->range, true});
        } else {
            otherwise = &rule;
            const bool when_follows =
                std::any_of(route.rules.begin() + static_cast<long>(i) + 1, route.rules.end(),
                            [](const RouteRule& r) { return r.when != nullptr; });
            if (when_follows) {
                sink_.error("missing-otherwise", rule.range,
                            fmt::format("the \"otherwise\" rule must be the last routing rule of "
                                        "module {}",
                                        module.name()));
            }
        }
        switch (rule.assign.kind) {
        case AssignKind::User:
        case AssignKind::RoundRobinUsers:
            for (const Name& user : rule.assign.names) {
                check_user(user);
            }
            break;
        case AssignKind::Role:
            for (const Name& role : rule.assign.names) {
                check_role(role);
            }
            break;
        case AssignKind::RoundRobinMembers:
        case AssignKind::LeastLoadedMembers:
            break;
        }
    }
}

void Checker::check_teamspaces() {
    for (const Teamspace& ts : ast_.teamspaces) {
        for (const Name& member : ts.members) {
            check_user(member);
        }
        for (const Name& admin : ts.admins) {
            check_user(admin);
        }
        for (const Name& shown : ts.shown_modules) {
            check_module_name(shown);
        }
    }
}

} // namespace checker_detail
} // namespace teamflow::dsl
