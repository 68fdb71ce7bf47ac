// Blueprints: states, transitions, targets, owners, actions (set, notify, create, request), SLAs,
// migrations, and the warnings (unreachable states, transitions no user can perform).

#include "checker_impl.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace teamflow::dsl::checker_detail {

void Checker::check_blueprints() {
    for (BlueprintInfo& bp : blueprint_infos_) {
        check_blueprint(bp);
    }
}

void Checker::check_blueprint(BlueprintInfo& bp) {
    Blueprint& decl = *bp.decl;
    if (bp.module == nullptr) {
        check_module_name(decl.module);
    } else if (const FieldInfo* field = bp.module->field(decl.field.text);
               field == nullptr && !bp.module->partial) {
        std::vector<std::string_view> picklists;
        for (const auto& [name, info] : bp.module->fields) {
            if (info.decl->type.kind == FieldKind::Picklist) {
                picklists.push_back(name);
            }
        }
        unknown("unknown-field", decl.field.range,
                fmt::format("unknown field {} in module {}", quote(decl.field.text),
                            bp.module->name()),
                decl.field.text, picklists);
    } else if (field != nullptr && field->decl->type.kind != FieldKind::Picklist) {
        Diagnostic& d = sink_.error(
            "not-a-picklist", decl.field.range,
            fmt::format("blueprint {} governs field {} of module {}, which is {}, not a picklist",
                        decl.name.text, quote(decl.field.text), bp.module->name(),
                        describe_field(*field->decl)));
        d.notes.push_back(DiagnosticNote{"the field is declared here", field->decl->name.range,
                                         true});
    }

    const Scope scope{bp.module, bp.module == nullptr, nullptr};
    if (decl.when) {
        check_condition(*decl.when, scope);
    }
    for (Transition& t : decl.transitions) {
        check_transition(bp, t, scope, false);
    }
    for (Parallel& p : decl.parallels) {
        if (!p.from.any) {
            for (const Name& state : p.from.states) {
                check_state(bp, state);
            }
        }
        check_state(bp, p.to);
        for (Transition& t : p.transitions) {
            check_transition(bp, t, scope, true);
        }
        check_actions(bp, p.actions, scope);
    }
    for (Sla& sla : decl.slas) {
        check_state(bp, sla.state);
        for (ExprPtr& when : sla.when) {
            check_condition(*when, scope);
        }
        check_actions(bp, sla.actions, scope);
    }
    for (const Migrate& migrate : decl.migrations) {
        // `from` names an old state that may no longer exist; `to` must exist.
        check_state(bp, migrate.to);
    }
    if (bp.governs) {
        warn_unreachable(bp);
    }
}

void Checker::check_state(const BlueprintInfo& bp, const Name& state) {
    if (bp.field == nullptr || bp.field->has_value(state.text)) {
        return;
    }
    unknown("unknown-state", state.range,
            fmt::format("unknown state {} in blueprint {}", quote(state.text), bp.decl->name.text),
            state.text, bp.field->values);
}

void Checker::check_transition(BlueprintInfo& bp, Transition& t, const Scope& scope, bool sub) {
    if (!t.from.any) {
        for (const Name& state : t.from.states) {
            check_state(bp, state);
        }
    }
    if (!sub || !t.targets.empty()) {
        check_targets(bp, t, scope);
    }
    for (const Owner& owner : t.owners) {
        check_owner(owner, false);
    }
    for (ExprPtr& when : t.when) {
        check_condition(*when, scope);
    }
    if (bp.module != nullptr) {
        for (const Name& field : t.require) {
            AssignTarget target;
            if (resolve_field(*bp.module, field, target) && target.builtin != nullptr &&
                !builtin_writable(*target.builtin)) {
                sink_.error("read-only-field", field.range,
                            fmt::format("field {} is read-only; it cannot be required",
                                        quote(field.text)));
            }
        }
    }
    for (Validation& v : t.validations) {
        if (v.condition) {
            check_condition(*v.condition, scope);
        }
        check_message(v.message.parts, scope);
    }
    check_actions(bp, t.actions, scope);
    warn_no_owner(t);
}

void Checker::check_targets(BlueprintInfo& bp, Transition& t, const Scope& scope) {
    std::vector<dsl::Target>& targets = t.targets;
    bool conditional = targets.size() > 1;
    for (dsl::Target& target : targets) {
        check_state(bp, target.state);
        if (target.when) {
            check_condition(*target.when, scope);
            conditional = true;
        }
        conditional = conditional || target.otherwise;
    }
    if (!conditional) {
        return;
    }
    const dsl::Target* otherwise = nullptr;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const dsl::Target& target = targets[i];
        if (target.otherwise) {
            if (otherwise != nullptr) {
                Diagnostic& d = sink_.error(
                    "duplicate-otherwise", target.range,
                    fmt::format("transition {} has a second \"otherwise\" target",
                                quote(t.name.text)));
                d.notes.push_back(
                    DiagnosticNote{"first \"otherwise\" target is here", otherwise->range, true});
                continue;
            }
            otherwise = &target;
            // Only a `when` target after it is misplaced; a second `otherwise` is a duplicate.
            const bool when_follows = std::any_of(targets.begin() + static_cast<long>(i) + 1,
                                                  targets.end(),
                                                  [](const dsl::Target& x) { return !x.otherwise; });
            if (when_follows) {
                sink_.error("missing-otherwise", target.range,
                            fmt::format("the \"otherwise\" target must be the last target of "
                                        "transition {}",
                                        quote(t.name.text)));
            }
        } else if (!target.when) {
            sink_.error("missing-otherwise", target.range,
                        fmt::format("target {} of conditional transition {} needs \"when\" or "
                                    "\"otherwise\"",
                                    quote(target.state.text), quote(t.name.text)));
        }
    }
    if (otherwise == nullptr) {
        sink_.error("missing-otherwise", targets.back().range,
                    fmt::format("conditional transition {} must end with a \"to … otherwise\" "
                                "target",
                                quote(t.name.text)));
    }
}

void Checker::check_owner(const Owner& owner, bool recipient) {
    switch (owner.kind) {
    case OwnerKind::User:
        check_user(owner.name);
        break;
    case OwnerKind::Role:
        check_role(owner.name);
        break;
    case OwnerKind::Team:
        check_team(owner.name);
        break;
    case OwnerKind::Anyone:
        if (recipient) {
            sink_.error("unknown-user", owner.range,
                        "\"anyone\" cannot be notified; name a user, a role or a team");
        }
        break;
    case OwnerKind::Owner:
    case OwnerKind::Assignee:
    case OwnerKind::Requester:
        break;
    }
}

void Checker::check_actions(BlueprintInfo& bp, std::vector<Action>& actions, const Scope& scope) {
    RecordMap created;
    Scope local = scope;
    local.records = &created;
    for (Action& action : actions) {
        switch (action.kind) {
        case ActionKind::Set:
            check_set(bp, action, local);
            break;
        case ActionKind::Notify:
            check_owner(action.recipient, true);
            check_message(action.message.parts, local);
            break;
        case ActionKind::Webhook:
            break;
        case ActionKind::Request:
        case ActionKind::Create:
            check_record_action(bp, action, local, created);
            break;
        }
    }
}

void Checker::check_set(BlueprintInfo& bp, Action& action, const Scope& scope) {
    AssignTarget target;
    if (bp.module == nullptr || !resolve_field(*bp.module, action.field, target)) {
        if (action.value) {
            infer(*action.value, scope);
        }
        return;
    }
    const BlueprintInfo* governing = nullptr;
    if (target.field != nullptr) {
        for (const BlueprintInfo* other : bp.module->blueprints) {
            if (other->field == target.field) {
                governing = other;
                break;
            }
        }
    }
    if (governing != nullptr) {
        sink_.error("read-only-field", action.field.range,
                    fmt::format("field {} is the state of blueprint {}; it changes only through "
                                "transitions",
                                quote(action.field.text), governing->decl->name.text));
    } else if (target.builtin != nullptr && !builtin_writable(*target.builtin)) {
        sink_.error("read-only-field", action.field.range,
                    fmt::format("field {} is read-only", quote(action.field.text)));
    } else if (action.value) {
        check_assignment(target, action.field, *action.value, scope);
        return;
    }
    if (action.value) {
        infer(*action.value, scope);
    }
}

const ModuleInfo* Checker::resolve_request_target(const Name& team_name, const Name& module_name) {
    const TeamInfo* team = check_team(team_name);
    const ModuleInfo* module = find_module(module_name.text);
    if (team == nullptr) {
        if (module == nullptr) {
            check_module_name(module_name);
        }
        return nullptr;
    }
    if (module != nullptr && module->team == team) {
        return module;
    }
    std::string message =
        module == nullptr
            ? fmt::format("unknown module {} in teamspace {}", quote(module_name.text),
                          team->decl->name.text)
            : fmt::format("module {} is not a team module of teamspace {}",
                          quote(module_name.text), team->decl->name.text);
    unknown("unknown-module", module_name.range, std::move(message), module_name.text,
            keys_of(team->team_modules));
    return nullptr;
}

void Checker::check_record_action(BlueprintInfo& bp, Action& action, const Scope& scope,
                                  RecordMap& created) {
    const bool request = action.kind == ActionKind::Request;
    const ModuleInfo* target = request ? resolve_request_target(action.team, action.module)
                                       : check_module_name(action.module);
    if (request && target != nullptr && bp.module != nullptr) {
        // The teamspaces that hold (team module) or show (org module) the blueprint's module.
        std::vector<const TeamInfo*> holders;
        if (bp.module->team != nullptr) {
            holders.push_back(bp.module->team);
        } else if (const auto it = shown_by_.find(bp.module->name()); it != shown_by_.end()) {
            holders = it->second;
        }
        const bool accepted = std::any_of(holders.begin(), holders.end(), [&](const TeamInfo* t) {
            return target->accepts_teams.count(t->decl->name.text) != 0;
        });
        if (!target->decl->accepts) {
            sink_.error("request-not-accepted", action.module.range,
                        fmt::format("module {} does not accept requests", quote(target->name())));
        } else if (!accepted) {
            std::string from;
            if (holders.empty()) {
                from = fmt::format("module {}: no teamspace holds or shows it",
                                   bp.module->name());
            } else {
                from = holders.size() == 1 ? "teamspace " : "teamspaces ";
                for (std::size_t i = 0; i < holders.size(); ++i) {
                    from += (i == 0 ? "" : ", ") + quote(holders[i]->decl->name.text);
                }
                from += fmt::format(", which {} module {}",
                                    bp.module->team != nullptr ? "holds"
                                    : holders.size() == 1      ? "shows"
                                                               : "show",
                                    bp.module->name());
            }
            Diagnostic& d = sink_.error(
                "request-not-accepted", action.module.range,
                fmt::format("module {} does not accept requests from {}", quote(target->name()),
                            from));
            d.notes.push_back(DiagnosticNote{"requests are accepted from the teamspaces listed "
                                             "here",
                                             target->decl->accepts->range, true});
        }
    }
    NameSet assigned;
    // Into a module that accepts no requests at all, every field would be "not requestable".
    const bool requestable = request && target != nullptr && target->decl->accepts.has_value();
    check_record_assignments(target, action.assignments, scope, true, requestable, &assigned);
    if (target != nullptr) {
        check_required(*target, assigned, action.module.range, request ? "request" : "create");
    }
    if (action.as) {
        created[action.as->text] = target;
    }
}

void Checker::check_record_assignments(const ModuleInfo* module,
                                       std::vector<Assignment>& assignments,
                                       const Scope& value_scope, bool creating, bool request,
                                       NameSet* seen) {
    NameMap<SourceRange> first;
    for (Assignment& a : assignments) {
        AssignTarget target;
        if (module == nullptr || !a.value || !resolve_field(*module, a.field, target)) {
            if (a.value) {
                infer(*a.value, value_scope);
            }
            continue;
        }
        const auto [it, inserted] = first.try_emplace(a.field.text, a.field.range);
        if (!inserted) {
            Diagnostic& d = sink_.error("duplicate-name", a.field.range,
                                        fmt::format("field {} is assigned twice",
                                                    quote(a.field.text)));
            d.notes.push_back(DiagnosticNote{"first assignment is here", it->second, true});
        }
        if (seen != nullptr) {
            seen->insert(a.field.text);
        }
        if (target.builtin != nullptr) {
            const bool writable =
                creating ? target.builtin->writable_on_create : builtin_writable(*target.builtin);
            if (!writable) {
                sink_.error("read-only-field", a.field.range,
                            creating ? fmt::format("field {} cannot be set when a record is "
                                                   "created",
                                                   quote(a.field.text))
                                     : fmt::format("field {} is read-only", quote(a.field.text)));
                infer(*a.value, value_scope);
                continue;
            }
        } else if (request && module->request_fields.count(a.field.text) == 0) {
            Diagnostic& d = sink_.error(
                "not-requestable", a.field.range,
                fmt::format("field {} of module {} is not a request field", quote(a.field.text),
                            module->name()));
            if (module->decl->accepts) {
                d.notes.push_back(DiagnosticNote{"request fields are listed here",
                                                 module->decl->accepts->range, true});
            }
        }
        check_assignment(target, a.field, *a.value, value_scope);
    }
}

void Checker::check_required(const ModuleInfo& module, const NameSet& assigned, SourceRange where,
                             std::string_view action) {
    std::vector<std::string_view> missing;
    for (const Field& field : module.decl->fields) {
        if (field.required && !field.default_value && assigned.count(field.name.text) == 0) {
            missing.push_back(field.name.text);
        }
    }
    if (missing.empty()) {
        return;
    }
    std::string names;
    for (std::size_t i = 0; i < missing.size(); ++i) {
        names += (i == 0 ? "" : ", ") + quote(missing[i]);
    }
    sink_.error("missing-required", where,
                fmt::format("{} of module {} leaves required field{} {} without a value", action,
                            module.name(), missing.size() == 1 ? "" : "s", names));
}

void Checker::warn_unreachable(const BlueprintInfo& bp) {
    if (bp.field == nullptr || bp.field->values.empty()) {
        return;
    }
    const Blueprint& decl = *bp.decl;
    const Field& field = *bp.field->decl;
    NameSet reached;
    if (field.default_value && field.default_value->kind == ExprKind::String &&
        bp.field->has_value(field.default_value->text)) {
        reached.insert(field.default_value->text);
    } else {
        reached.insert(bp.field->values.front());
    }
    for (const Transition& t : decl.transitions) {
        for (const dsl::Target& target : t.targets) {
            reached.insert(target.state.text);
        }
    }
    for (const Parallel& p : decl.parallels) {
        reached.insert(p.to.text);
    }
    for (const Migrate& m : decl.migrations) {
        reached.insert(m.to.text);
    }
    // A misspelt target (already an error) would make its intended state look unreachable.
    for (const std::string_view state : reached) {
        if (!bp.field->has_value(state)) {
            return;
        }
    }
    NameSet reported;
    for (const StringLit& value : field.type.values) {
        if (reached.count(value.value) != 0 || !reported.insert(value.value).second) {
            continue;
        }
        sink_.warning("unreachable-state", value.range,
                      fmt::format("state {} of blueprint {} is never reached", quote(value.value),
                                  decl.name.text));
    }
}

void Checker::warn_no_owner(const Transition& t) {
    if (t.after || t.owners.empty()) {
        return;
    }
    std::vector<std::string> reasons;
    for (const Owner& owner : t.owners) {
        if (owner.kind == OwnerKind::Role) {
            if (roles_.count(owner.name.text) == 0 || held_roles_.count(owner.name.text) != 0) {
                return;
            }
            reasons.push_back(fmt::format("no user has role {}", quote(owner.name.text)));
        } else if (owner.kind == OwnerKind::Team) {
            const TeamInfo* team = find_team(owner.name.text);
            if (team == nullptr || !team->members.empty()) {
                return;
            }
            reasons.push_back(fmt::format("teamspace {} has no members", quote(owner.name.text)));
        } else {
            return;
        }
    }
    std::string message = fmt::format("no user can perform transition {}: ", quote(t.name.text));
    for (std::size_t i = 0; i < reasons.size(); ++i) {
        message += (i == 0 ? "" : " and ") + reasons[i];
    }
    sink_.warning("no-owner", t.name.range, std::move(message));
}

} // namespace teamflow::dsl::checker_detail
