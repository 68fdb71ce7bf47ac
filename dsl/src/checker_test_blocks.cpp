// `test` blocks: the current record's module is tracked statically through the steps, so that
// expectations, transitions and states are checked against the right module and blueprints.

#include "checker_impl.hpp"

#include <fmt/format.h>

namespace teamflow::dsl::checker_detail {

namespace {

const char* step_keyword(StepKind kind) {
    switch (kind) {
    case StepKind::Update:
        return "update";
    case StepKind::Transition:
        return "transition";
    case StepKind::ExpectRefused:
        return "expect refused";
    case StepKind::ExpectState:
        return "expect state";
    default:
        return "this statement";
    }
}

} // namespace

void Checker::check_tests() {
    NameMap<const Test*> names;
    names.reserve(ast_.tests.size());
    for (Test& test : ast_.tests) {
        const auto [it, inserted] = names.try_emplace(test.name.value, &test);
        if (!inserted) {
            duplicate("test", test.name.value, test.name.range, it->second->name.range);
        }
        check_test(test);
    }
}

namespace {

/// The record a step works on: the named one, or the current record.
struct Subject {
    bool present = false;
    const ModuleInfo* module = nullptr; ///< null when its module is unknown
};

} // namespace

void Checker::check_test(Test& test) {
    RecordMap records;
    Subject current;

    const auto subject_of = [&](const Step& step) {
        if (step.on) {
            const auto it = records.find(step.on->text);
            if (it != records.end()) {
                return Subject{true, it->second};
            }
            unknown("unknown-record", step.on->range,
                    fmt::format("unknown record {}", quote(step.on->text)), step.on->text,
                    keys_of(records));
            return Subject{};
        }
        if (!current.present) {
            sink_.error("misplaced-statement", step.range,
                        fmt::format("\"{}\" needs a current record: create or request one first",
                                    step_keyword(step.kind)));
        }
        return current;
    };
    const auto scope_of = [&](const Subject& s) {
        // An unknown subject makes names silent; no subject at all leaves only records and users.
        return Scope{s.module, s.present && s.module == nullptr, &records};
    };
    const auto check_transition_name = [&](const ModuleInfo& module, const Name& name) {
        std::vector<std::string_view> candidates;
        for (const BlueprintInfo* bp : module.blueprints) {
            if (bp->partial || bp->transitions.count(name.text) != 0) {
                return;
            }
            for (const auto& [t, ref] : bp->transitions) {
                candidates.push_back(t);
            }
        }
        if (module.blueprints.empty()) {
            // The blueprint may be a declaration that failed to parse.
            if (partial_.empty()) {
                sink_.error("unknown-transition", name.range,
                            fmt::format("unknown transition {}: module {} has no blueprint",
                                        quote(name.text), module.name()));
            }
            return;
        }
        unknown("unknown-transition", name.range,
                fmt::format("unknown transition {} for module {}", quote(name.text),
                            module.name()),
                name.text, candidates);
    };
    const auto check_state_name = [&](const ModuleInfo& module, const StringLit& state) {
        std::vector<std::string_view> candidates;
        for (const BlueprintInfo* bp : module.blueprints) {
            if (bp->partial || bp->field == nullptr || bp->field->has_value(state.value)) {
                return;
            }
            candidates.insert(candidates.end(), bp->field->values.begin(),
                              bp->field->values.end());
        }
        if (module.blueprints.empty()) {
            if (partial_.empty()) {
                sink_.error("unknown-state", state.range,
                            fmt::format("unknown state {}: module {} has no blueprint",
                                        quote(state.value), module.name()));
            }
            return;
        }
        const std::string_view where = module.blueprints.size() == 1
                                           ? std::string_view(module.blueprints[0]->decl->name.text)
                                           : module.name();
        unknown("unknown-state", state.range,
                fmt::format("unknown state {} in {} {}", quote(state.value),
                            module.blueprints.size() == 1 ? "blueprint" : "the blueprints of module",
                            where),
                state.value, candidates);
    };

    for (std::size_t i = 0; i < test.steps.size(); ++i) {
        Step& step = test.steps[i];
        switch (step.kind) {
        case StepKind::Clock:
            if (i != 0) {
                sink_.error("misplaced-statement", step.range,
                            "\"clock\" must be the first statement of a test");
            }
            if (step.expr) {
                const Type t = infer(*step.expr, Scope{nullptr, false, &records});
                if (t.kind != TypeKind::DateTime && t.kind != TypeKind::Date &&
                    t.kind != TypeKind::Unknown) {
                    sink_.error("type-mismatch", step.expr->range,
                                fmt::format("\"clock\" needs a datetime, not {}", describe(t)));
                }
            }
            break;
        case StepKind::As:
            check_user(step.user);
            break;
        case StepKind::Create:
        case StepKind::Request: {
            const bool request = step.kind == StepKind::Request;
            const ModuleInfo* module = request ? resolve_request_target(step.team, step.module)
                                               : check_module_name(step.module);
            bool accepts = true;
            if (request && module != nullptr && !module->decl->accepts) {
                sink_.error("request-not-accepted", step.module.range,
                            fmt::format("module {} does not accept requests",
                                        quote(module->name())));
                accepts = false;
            }
            // Values are evaluated before the record exists: records and users only.
            check_record_assignments(module, step.assignments, Scope{nullptr, false, &records},
                                     true, request && accepts, nullptr);
            current = Subject{true, module};
            if (step.as) {
                records[step.as->text] = module;
            }
            break;
        }
        case StepKind::Update:
        case StepKind::Transition:
        case StepKind::ExpectRefused: {
            const Subject s = subject_of(step);
            if (s.module != nullptr && step.kind != StepKind::Update) {
                check_transition_name(*s.module, step.transition);
            }
            // Without a known subject, names in the values are not reported again.
            check_record_assignments(s.module, step.assignments,
                                     Scope{s.module, s.module == nullptr, &records}, false, false,
                                     nullptr);
            break;
        }
        case StepKind::Expect:
            if (step.expr) {
                check_condition(*step.expr, scope_of(current));
            }
            break;
        case StepKind::ExpectNotified:
        case StepKind::ExpectAssigned:
            check_user(step.user);
            break;
        case StepKind::ExpectState: {
            const Subject s = subject_of(step);
            if (s.module != nullptr && step.text) {
                check_state_name(*s.module, *step.text);
            }
            break;
        }
        case StepKind::ExpectWebhook:
        case StepKind::Advance:
            break;
        }
    }
}

} // namespace teamflow::dsl::checker_detail
